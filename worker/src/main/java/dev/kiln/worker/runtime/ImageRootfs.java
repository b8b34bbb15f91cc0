package dev.kiln.worker.runtime;

import dev.kiln.worker.runtime.ImageRootfsException.Code;
import dev.kiln.worker.sandbox.Sandbox;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Consumer;

/**
 * Unpacks a container image ({@code docker save} tarball) into a root file system directory: the
 * read-only {@code /} that build sandboxes (bubblewrap) share.
 *
 * <p>Every archive is treated as hostile: no entry can write outside the target or through a
 * symlink (see {@link LayerExtractor}), and the numbers of entries and bytes are bounded. The image
 * is unpacked into a hidden temporary directory beside the target and renamed into place, so the
 * target is either complete or absent; an interrupted unpack's leftovers are removed by the next
 * call for the same target. One unpack per target runs at a time, across threads and processes.
 *
 * <p>What the tree keeps: regular files, directories, symlinks (stored, never followed) and hard
 * links; modes without setuid and setgid; mtimes; numeric owners when the process runs as root.
 * Device files and FIFOs are left out and counted (bubblewrap mounts its own {@code /dev}).
 *
 * <p>Everything blocks: call it from a worker thread.
 */
public final class ImageRootfs {

  /** An empty directory the sandbox binds something onto, e.g. {@code /tmp} with mode 01777. */
  public record MountPoint(String path, int mode) {
    public MountPoint {
      Objects.requireNonNull(path, "path");
      if (!path.startsWith("/")
          || path.equals("/")
          || path.endsWith("/")
          || path.contains("//")
          || ("/" + path + "/").contains("/../")
          || ("/" + path + "/").contains("/./")) {
        throw new IllegalArgumentException(
            "Mount point '" + path + "' is not a normalized absolute path such as /app");
      }
      if ((mode & ~01777) != 0) {
        throw new IllegalArgumentException(
            "Mount point "
                + path
                + " has mode 0"
                + Integer.toOctalString(mode)
                + "; only permission bits and the sticky bit are allowed");
      }
    }
  }

  /**
   * The directories Kiln binds into build sandboxes ({@link Sandbox#MOUNT_POINTS}); {@code /tmp} is
   * world-writable and sticky as everywhere, the others 0755.
   */
  public static final List<MountPoint> KILN_MOUNT_POINTS =
      Sandbox.MOUNT_POINTS.stream()
          .map(path -> new MountPoint(path, path.equals("/tmp") ? 01777 : 0755))
          .toList();

  public static final long DEFAULT_MAX_BYTES = 8L << 30;
  public static final long DEFAULT_MAX_ENTRIES = 1_000_000;

  /** What an unpack produced. */
  public record Unpacked(String configJson, long entries, long bytes, long skippedEntries) {
    /**
     * @param configJson the image configuration JSON, as stored in the archive
     * @param entries entries written: files, directories, symlinks and hard links of all layers,
     *     counting those a later layer replaced or whited out
     * @param bytes bytes of regular-file content written
     * @param skippedEntries device files and FIFOs left out
     */
    public Unpacked {
      Objects.requireNonNull(configJson, "configJson");
    }
  }

  private static final ConcurrentMap<Path, Object> IN_PROCESS_LOCKS = new ConcurrentHashMap<>();

  private final long maxBytes;
  private final long maxEntries;
  private final List<MountPoint> mountPoints;

  private ImageRootfs(long maxBytes, long maxEntries, List<MountPoint> mountPoints) {
    this.maxBytes = maxBytes;
    this.maxEntries = maxEntries;
    this.mountPoints = List.copyOf(mountPoints);
  }

  /**
   * At most {@link #DEFAULT_MAX_BYTES} of files and {@link #DEFAULT_MAX_ENTRIES} entries, with
   * {@link #KILN_MOUNT_POINTS}.
   */
  public static ImageRootfs withDefaults() {
    return new ImageRootfs(DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRIES, KILN_MOUNT_POINTS);
  }

  /**
   * Refuses images with more than {@code maxBytes} of regular-file content, all layers together.
   */
  public ImageRootfs withMaxBytes(long maxBytes) {
    if (maxBytes <= 0) {
      throw new IllegalArgumentException("maxBytes must be positive, not " + maxBytes);
    }
    return new ImageRootfs(maxBytes, maxEntries, mountPoints);
  }

  /** Refuses images with more than {@code maxEntries} tar entries, all layers together. */
  public ImageRootfs withMaxEntries(long maxEntries) {
    if (maxEntries <= 0) {
      throw new IllegalArgumentException("maxEntries must be positive, not " + maxEntries);
    }
    return new ImageRootfs(maxBytes, maxEntries, mountPoints);
  }

  /** Makes these (instead of {@link #KILN_MOUNT_POINTS}) empty directories in every result. */
  public ImageRootfs withMountPoints(List<MountPoint> mountPoints) {
    return new ImageRootfs(maxBytes, maxEntries, mountPoints);
  }

  /**
   * Unpacks the one image in {@code dockerArchive} into {@code target}, which must not exist yet
   * (use a path per image, e.g. named after its config digest). Its parent is created if needed and
   * must be on the same file system as the temporary directory, which is created inside it.
   *
   * @param progress receives one sentence per step, from the calling thread
   * @throws ImageRootfsException when the archive is unusable or unsafe, a limit is exceeded, the
   *     target exists, or writing fails; nothing is left at {@code target} then
   */
  public Unpacked unpack(Path dockerArchive, Path target, Consumer<String> progress)
      throws ImageRootfsException {
    Path archive = dockerArchive.toAbsolutePath();
    Path destination = target.toAbsolutePath().normalize();
    if (destination.getParent() == null) {
      throw new IllegalArgumentException("Cannot unpack an image into the root directory");
    }
    try {
      return unpackLocked(archive, destination, progress);
    } catch (ImageRootfsException e) {
      throw e;
    } catch (IOException e) {
      throw new ImageRootfsException(
          Code.IO_FAILED,
          archive,
          null,
          null,
          "preparing " + destination + " failed: " + e + ". Check that its directory is writable",
          e);
    }
  }

  private Unpacked unpackLocked(Path archive, Path destination, Consumer<String> progress)
      throws IOException {
    // The real parent: one lock object per directory, however the caller spells its path.
    Path parent = Files.createDirectories(destination.getParent()).toRealPath();
    String name = destination.getFileName().toString();
    destination = parent.resolve(name);
    synchronized (IN_PROCESS_LOCKS.computeIfAbsent(destination, path -> new Object())) {
      try (FileChannel lockFile =
              FileChannel.open(
                  parent.resolve("." + name + ".lock"),
                  StandardOpenOption.CREATE,
                  StandardOpenOption.WRITE);
          FileLock lock = lockFile.lock()) {
        removeLeftovers(parent, name, progress);
        if (Files.exists(destination, LinkOption.NOFOLLOW_LINKS)) {
          throw new ImageRootfsException(
              Code.TARGET_EXISTS,
              archive,
              null,
              null,
              destination
                  + " already exists; it is never replaced (builds may be using it). Unpack"
                  + " into a new path, or remove it first",
              null);
        }
        Path staging = Files.createTempDirectory(parent, stagingPrefix(name));
        try {
          Unpacked unpacked = unpackInto(archive, staging, progress);
          DockerArchive.moveAtomically(staging, destination);
          progress.accept("The root file system of " + archive + " is ready at " + destination);
          return unpacked;
        } catch (IOException | RuntimeException | Error e) {
          try {
            Rootfs.removeTree(staging);
          } catch (IOException cleanup) {
            e.addSuppressed(cleanup);
          }
          throw e;
        }
      }
    }
  }

  private Unpacked unpackInto(Path archive, Path staging, Consumer<String> progress)
      throws IOException {
    boolean keepOwners = LocalRuntimeImage.isRoot();
    LayerExtractor extractor =
        new LayerExtractor(staging, archive, maxEntries, maxBytes, keepOwners);
    try (DockerArchive.Reader image = open(archive)) {
      List<String> layers = image.layers();
      for (int index = 0; index < layers.size(); index++) {
        String label =
            "layer " + (index + 1) + " of " + layers.size() + " (" + layers.get(index) + ")";
        progress.accept("Unpacking " + label + " of " + archive + "…");
        try (DockerArchive.Reader.Layer layer = image.openLayer(index)) {
          extractor.apply(layer.content(), label);
          layer.verify();
        } catch (ImageRootfsException e) {
          throw e;
        } catch (IOException e) {
          // The extractor reports its own write failures; what is left is reading the layer.
          throw new ImageRootfsException(
              Code.MALFORMED_ARCHIVE,
              archive,
              label,
              null,
              e instanceof DockerArchive.MalformedArchiveException
                  ? e.getMessage()
                  : "reading it failed (" + e + "); the tarball is truncated or corrupted",
              e);
        }
      }
      for (MountPoint mountPoint : mountPoints) {
        extractor.mountPoint(mountPoint.path().substring(1), mountPoint.mode());
      }
      extractor.finish();
      progress.accept(
          "Unpacked "
              + extractor.written()
              + " entries ("
              + extractor.bytes() / (1024 * 1024)
              + " MiB) from "
              + layers.size()
              + (layers.size() == 1 ? " layer" : " layers")
              + (keepOwners ? "" : "; not running as root, so every file belongs to this user"));
      if (extractor.skipped() > 0) {
        progress.accept(
            "Left out "
                + extractor.skipped()
                + " device files and FIFOs (e.g. "
                + String.join(", ", extractor.skippedNames())
                + "): the sandbox mounts its own /dev.");
      }
      return new Unpacked(
          image.configJson(), extractor.written(), extractor.bytes(), extractor.skipped());
    }
  }

  private static DockerArchive.Reader open(Path archive) throws IOException {
    try {
      return DockerArchive.Reader.open(archive);
    } catch (DockerArchive.MalformedArchiveException e) {
      throw new ImageRootfsException(
          Code.MALFORMED_ARCHIVE, archive, null, null, e.getMessage(), e);
    } catch (IOException e) {
      throw new ImageRootfsException(
          Code.IO_FAILED, archive, null, null, "reading it failed: " + e, e);
    }
  }

  private static String stagingPrefix(String name) {
    return "." + name + ".unpack-";
  }

  /** Called with the lock held, so no other unpack is using them. */
  private static void removeLeftovers(Path parent, String name, Consumer<String> progress)
      throws IOException {
    String prefix = stagingPrefix(name);
    try (DirectoryStream<Path> siblings =
        Files.newDirectoryStream(
            parent, sibling -> sibling.getFileName().toString().startsWith(prefix))) {
      for (Path leftover : siblings) {
        progress.accept("Removing " + leftover + ", left by an interrupted unpack.");
        Rootfs.removeTree(leftover);
      }
    }
  }
}
