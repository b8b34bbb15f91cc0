package dev.kiln.worker.assemble;

import dev.kiln.events.Digest;
import dev.kiln.worker.fs.BackgroundDeleter;
import dev.kiln.worker.steps.LogSink;
import dev.kiln.worker.steps.StepFailure;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Dependency-layer tars unpacked once per blob at a stable path, {@code <root>/<hex>/}.
 *
 * <p>Why unpack at all, and why at a stable path: jib cannot take a pre-built tar as a layer, and
 * its application-layer cache key includes every file's absolute path and mtime. A tree that always
 * lives at the same path with the same fixed mtimes makes every later build with the same
 * dependency set a cache hit, instead of re-tarring and re-hashing thousands of files.
 *
 * <p>A directory under the root is only ever complete: it is extracted into a hidden temporary
 * directory and renamed into place. Its files are regular files and directories only, with modes
 * {@code 0755}/{@code 0644} (exec bits kept) and the mtime {@link #FIXED_MTIME}.
 */
public final class MaterializedLayers {
  /** jib's own default for reproducible layers (one second after the epoch). */
  static final Instant FIXED_MTIME = Instant.ofEpochSecond(1);

  private static final int MAX_SYMLINK_HOPS = 40;

  /**
   * What unpacking may write beyond the tar's own size. A layer tar is not compressed, so its files
   * can only take what the tar holds, except for symlinks, which become copies of their targets: a
   * thousand links to one large file would write it a thousand times. Twice the tar plus this much
   * covers every real layer (a few copied {@code .so} aliases) and stops such a bomb.
   */
  static final long EXTRA_BYTES = 64L << 20;

  private final Path root;
  private final LayerBlobSource blobs;
  private final boolean dependencyLayers;

  /** Unpacks tars whose names are relative to the directory they unpack to. */
  public MaterializedLayers(Path root, LayerBlobSource blobs) {
    this(root, blobs, false);
  }

  private MaterializedLayers(Path root, LayerBlobSource blobs, boolean dependencyLayers) {
    this.root = root.toAbsolutePath().normalize();
    this.blobs = blobs;
    this.dependencyLayers = dependencyLayers;
  }

  /**
   * Unpacks dependency layers: stored in image form ({@link DependencyImageLayer}), their {@code
   * opt/kiln/deps/} is the directory unpacked to; stored before that form, as they are.
   */
  public static MaterializedLayers ofDependencyLayers(Path root, LayerBlobSource blobs) {
    return new MaterializedLayers(root, blobs, true);
  }

  /** The directory the blob is (or would be) unpacked to. */
  public Path directoryFor(Digest blob) {
    return root.resolve(blob.hex());
  }

  /** Unpacks {@code blob} unless an earlier build already did; returns its directory. */
  public Path materialize(Digest blob, LogSink log) throws StepFailure {
    Path target = directoryFor(blob);
    if (Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
      log.info("       Reusing the dependency layer " + shortName(blob) + " unpacked earlier");
      return target;
    }
    Path tarball = null;
    Path staging = null;
    try {
      Files.createDirectories(root);
      tarball = Files.createTempFile(root, "." + blob.hex() + ".", ".tar.tmp");
      if (!blobs.download(blob, tarball)) {
        throw new StepFailure(
            AssembleStep.FAILED,
            "The dependency layer "
                + blob
                + " is not in the cache-service ("
                + blobs
                + "). It was "
                + "stored by the INSTALL step of this build and has since been removed; push again "
                + "to reinstall the dependencies.");
      }
      staging = Files.createTempDirectory(root, "." + blob.hex() + ".unpack-");
      List<String> skipped = unpack(tarball, staging, dependencyLayers);
      for (String note : skipped) {
        log.warn("       " + note);
      }
      fixTimes(staging);
      try {
        Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        staging = null;
      } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
        // Another build unpacked the same blob meanwhile; its copy is as good as ours.
      } catch (AtomicMoveNotSupportedException e) {
        throw e;
      } catch (IOException e) {
        // rename(2) onto a non-empty directory fails with ENOTEMPTY, which Java reports as a
        // plain FileSystemException: the same race as above, seen under a burst of builds.
        if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
          throw e;
        }
      }
      log.info("       Unpacked the dependency layer " + shortName(blob));
      return target;
    } catch (AtomicMoveNotSupportedException e) {
      throw new StepFailure(
          AssembleStep.FAILED,
          "Cannot rename a directory within "
              + root
              + " atomically ("
              + e.getMessage()
              + "); the "
              + "worker's work directory must be on a local file system.",
          e);
    } catch (LayerTooLargeException e) {
      throw new StepFailure(
          dev.kiln.installer.Codes.DECOMPRESSION_LIMIT,
          "The layer "
              + blob
              + " would unpack to more than "
              + e.limit
              + " bytes (twice its tar of "
              + e.tarBytes
              + " bytes plus "
              + EXTRA_BYTES
              + "), at "
              + e.getMessage()
              + ": symbolic links in it become copies of their targets, and too many point at"
              + " large files. Nothing was kept. Replace the links with the files they name, or"
              + " leave them out of the app.",
          e);
    } catch (LayerFormatException e) {
      throw new StepFailure(
          AssembleStep.FAILED,
          "The dependency layer "
              + blob
              + " is not a usable layer tar: "
              + e.getMessage()
              + ". It was written by the INSTALL step; push again to reinstall, and report a bug"
              + " if it happens again.",
          e);
    } catch (IOException e) {
      throw new StepFailure(
          AssembleStep.FAILED,
          "Could not fetch and unpack the dependency layer "
              + blob
              + " from "
              + blobs
              + " into "
              + root
              + ": "
              + e
              + ". Check that the cache-service is running and that the worker"
              + " can write to its work directory.",
          e);
    } finally {
      deleteQuietly(tarball);
      deleteQuietly(staging);
    }
  }

  private static String shortName(Digest blob) {
    return "sha256:" + blob.hex().substring(0, 12);
  }

  /**
   * Extracts a layer tar. Entries are relative to the dependency directory ({@code ./} and {@code
   * /} prefixes are ignored). Symlinks become copies of their targets inside the layer, because jib
   * writes only regular files and directories; hard links become hard links.
   *
   * @return a note for each entry that was left out, and why
   */
  static List<String> unpack(Path tarball, Path destination) throws IOException {
    return unpack(tarball, destination, false);
  }

  /**
   * As {@link #unpack(Path, Path)}; with {@code dependencyLayer}, names under {@code
   * opt/kiln/deps/} lose that prefix and its three directories are not unpacked.
   */
  static List<String> unpack(Path tarball, Path destination, boolean dependencyLayer)
      throws IOException {
    long tarBytes = Files.size(tarball);
    Budget budget = new Budget(tarBytes, 2 * tarBytes + EXTRA_BYTES);
    List<String> skipped = new ArrayList<>();
    Map<String, String> symlinks = new HashMap<>();
    try (InputStream in = new BufferedInputStream(Files.newInputStream(tarball));
        TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
      TarArchiveEntry entry;
      while ((entry = tar.getNextEntry()) != null) {
        String name = relativeName(entry.getName());
        if (dependencyLayer) {
          name = withinDependencies(name);
        }
        if (name.isEmpty()) {
          continue;
        }
        Path path = destination.resolve(name);
        if (entry.isDirectory()) {
          Files.createDirectories(path);
        } else if (entry.isSymbolicLink()) {
          symlinks.put(name, entry.getLinkName());
        } else if (entry.isLink()) {
          String linked = relativeName(entry.getLinkName());
          Path existing =
              destination.resolve(dependencyLayer ? withinDependencies(linked) : linked);
          if (!Files.isRegularFile(existing, LinkOption.NOFOLLOW_LINKS)) {
            throw new LayerFormatException(
                "hard link "
                    + entry.getName()
                    + " points to "
                    + entry.getLinkName()
                    + ", which is not an earlier regular file in the tar");
          }
          Files.createDirectories(path.getParent());
          Files.deleteIfExists(path);
          Files.createLink(path, existing);
        } else if (entry.isFile()) {
          Files.createDirectories(path.getParent());
          // Never write through an earlier hard link to the same name.
          Files.deleteIfExists(path);
          try (OutputStream out = Files.newOutputStream(path)) {
            byte[] buffer = new byte[1 << 16];
            for (int read; (read = tar.read(buffer)) >= 0; ) {
              budget.spend(read, name);
              out.write(buffer, 0, read);
            }
          }
          setMode(path, entry.getMode());
        } else {
          skipped.add(
              "Left out "
                  + entry.getName()
                  + " from the dependency layer: device files, "
                  + "fifos and sockets do not belong in an image layer");
        }
      }
    }
    resolveSymlinks(symlinks, destination, skipped, budget);
    return skipped;
  }

  /** Copies each symlink's target (followed within the layer) to the link's own path. */
  private static void resolveSymlinks(
      Map<String, String> symlinks, Path destination, List<String> skipped, Budget budget)
      throws IOException {
    for (Map.Entry<String, String> link :
        symlinks.entrySet().stream().sorted(Map.Entry.comparingByKey()).toList()) {
      String name = link.getKey();
      String resolved = name;
      String target = link.getValue();
      int hops = 0;
      String problem = null;
      while (target != null) {
        if (++hops > MAX_SYMLINK_HOPS || target.startsWith("/")) {
          problem =
              target.startsWith("/")
                  ? "points outside the layer (" + target + ")"
                  : "is part of a symlink loop";
          break;
        }
        Path parent = Path.of(resolved).getParent();
        Path next = (parent == null ? Path.of(target) : parent.resolve(target)).normalize();
        if (next.startsWith("..") || next.toString().isEmpty()) {
          problem = "points outside the layer (" + link.getValue() + ")";
          break;
        }
        resolved = next.toString();
        target = symlinks.get(resolved);
      }
      Path source = destination.resolve(resolved);
      if (problem == null && !Files.isRegularFile(source, LinkOption.NOFOLLOW_LINKS)) {
        problem =
            Files.isDirectory(source, LinkOption.NOFOLLOW_LINKS)
                ? "points to a directory, which an image layer built by jib cannot express"
                : "points to " + link.getValue() + ", which is not in the layer";
      }
      if (problem != null) {
        skipped.add("Left out the symlink " + name + " from the dependency layer: it " + problem);
        continue;
      }
      Path copy = destination.resolve(name);
      Files.createDirectories(copy.getParent());
      budget.spend(Files.size(source), name);
      Files.copy(source, copy, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /** A dependency layer's entry name below {@code opt/kiln/deps/}; empty for its parents. */
  private static String withinDependencies(String name) {
    String prefix = DependencyImageLayer.PREFIX;
    if (name.startsWith(prefix)) {
      return name.substring(prefix.length());
    }
    return prefix.startsWith(name + "/") ? "" : name;
  }

  /** Normalises a tar entry name; rejects names that would land outside the destination. */
  static String relativeName(String entryName) throws LayerFormatException {
    String name = entryName;
    while (name.startsWith("./") || name.startsWith("/")) {
      name = name.startsWith("./") ? name.substring(2) : name.substring(1);
    }
    if (name.equals(".")) {
      return "";
    }
    Path normalized;
    try {
      normalized = Path.of(name).normalize();
    } catch (InvalidPathException e) {
      throw new LayerFormatException("entry '" + entryName + "' is not a valid path");
    }
    if (normalized.startsWith("..")) {
      throw new LayerFormatException("entry '" + entryName + "' would land outside the layer");
    }
    return normalized.toString();
  }

  private static void setMode(Path file, int tarMode) throws IOException {
    boolean executable = (tarMode & 0111) != 0;
    Files.setPosixFilePermissions(
        file, PosixFilePermissions.fromString(executable ? "rwxr-xr-x" : "rw-r--r--"));
  }

  /** Fixed mtimes everywhere; directories last, since filling them changes theirs. */
  private static void fixTimes(Path tree) throws IOException {
    FileTime fixed = FileTime.from(FIXED_MTIME);
    Files.walkFileTree(
        tree,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attributes)
              throws IOException {
            Files.setLastModifiedTime(file, fixed);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult postVisitDirectory(Path dir, IOException failure)
              throws IOException {
            if (failure != null) {
              throw failure;
            }
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.setLastModifiedTime(dir, fixed);
            return FileVisitResult.CONTINUE;
          }
        });
  }

  private static void deleteQuietly(Path path) {
    if (path == null) {
      return;
    }
    try {
      BackgroundDeleter.deleteTree(path);
    } catch (IOException e) {
      // A hidden leftover in the work directory; the build's outcome does not depend on it.
    }
  }

  /** Counts the bytes unpacking writes, against the limit. */
  private static final class Budget {
    final long tarBytes;
    final long limit;
    long written;

    Budget(long tarBytes, long limit) {
      this.tarBytes = tarBytes;
      this.limit = limit;
    }

    void spend(long bytes, String entry) throws LayerTooLargeException {
      written += bytes;
      if (written > limit) {
        throw new LayerTooLargeException(entry, tarBytes, limit);
      }
    }
  }

  /** Unpacking would write more than {@link Budget#limit}. */
  static final class LayerTooLargeException extends IOException {
    final long tarBytes;
    final long limit;

    LayerTooLargeException(String entry, long tarBytes, long limit) {
      super("'" + entry + "'");
      this.tarBytes = tarBytes;
      this.limit = limit;
    }
  }

  /** The tar is malformed or tries to escape its directory. */
  static final class LayerFormatException extends IOException {
    LayerFormatException(String message) {
      super(message);
    }
  }
}
