package dev.kiln.worker.runtime;

import dev.kiln.worker.runtime.TarWriter.Owner;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Turns a root filesystem directory into an image layer tar.
 *
 * <p>The output depends only on the tree: entries in byte order of their paths, depth first;
 * mtimes, modes and numeric owners as stored on disk; hard links as tar hard links to the first
 * path in that order. So the same rootfs always gives the same layer digest.
 *
 * <p>Mtimes are kept rather than flattened because Python's timestamp-based {@code .pyc} files
 * record their source's mtime: flattening it would make every interpreter start re-compile the
 * standard library. Owners are kept because the rootfs is built as root and a few Debian files are
 * meant to belong to a system group ({@code /etc/shadow} and the set-group-id {@code chage} belong
 * to {@code shadow}); forcing them to gid 0 would turn those into set-group-id root.
 *
 * <p>Device nodes, fifos and sockets are left out (the container runtime provides {@code /dev}),
 * and nothing is read from other file systems mounted inside the tree.
 */
final class LayerTarWriter {

  private static final int TYPE_MASK = 0170000;
  private static final int DIRECTORY = 0040000;
  private static final int REGULAR = 0100000;
  private static final int SYMLINK = 0120000;

  private final Map<String, Owner> ownerOverrides;

  private LayerTarWriter(Map<String, Owner> ownerOverrides) {
    this.ownerOverrides = Map.copyOf(ownerOverrides);
  }

  static LayerTarWriter keepingOwners() {
    return new LayerTarWriter(Map.of());
  }

  /**
   * The entry at {@code relativePath} (e.g. {@code "app"}) gets this owner, whatever the disk says.
   */
  LayerTarWriter withOwner(String relativePath, Owner owner) {
    Map<String, Owner> overrides = new HashMap<>(ownerOverrides);
    overrides.put(relativePath, owner);
    return new LayerTarWriter(overrides);
  }

  /** Writes the layer and ends the archive; {@code out} stays open. */
  Stats write(Path root, OutputStream out) throws IOException {
    if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
      throw new IOException("Cannot archive " + root + ": it is not a directory");
    }
    TarWriter tar = new TarWriter(out);
    Walk walk =
        new Walk(tar, (Long) Files.getAttribute(root, "unix:dev", LinkOption.NOFOLLOW_LINKS));
    walk.children(root, "");
    tar.finish();
    return new Stats(walk.entries, walk.skippedSpecialFiles);
  }

  /** How many entries went into the layer and how many special files were left out. */
  record Stats(int entries, int skippedSpecialFiles) {}

  private final class Walk {
    private final TarWriter tar;
    private final long rootDevice;
    private final Map<String, String> firstPathOfInode = new HashMap<>();
    int entries;
    int skippedSpecialFiles;

    Walk(TarWriter tar, long rootDevice) {
      this.tar = tar;
      this.rootDevice = rootDevice;
    }

    void children(Path directory, String prefix) throws IOException {
      List<Path> children = new ArrayList<>();
      try (Stream<Path> listing = Files.list(directory)) {
        listing.forEach(children::add);
      }
      children.sort((a, b) -> compareBytes(a.getFileName().toString(), b.getFileName().toString()));
      for (Path child : children) {
        entry(child, prefix + child.getFileName());
      }
    }

    private void entry(Path path, String name) throws IOException {
      Map<String, Object> attributes =
          Files.readAttributes(
              path, "unix:mode,uid,gid,ino,dev,nlink,lastModifiedTime", LinkOption.NOFOLLOW_LINKS);
      int mode = (Integer) attributes.get("mode");
      long mtime = ((FileTime) attributes.get("lastModifiedTime")).toMillis() / 1000;
      Owner owner =
          ownerOverrides.getOrDefault(
              name, new Owner((Integer) attributes.get("uid"), (Integer) attributes.get("gid")));
      switch (mode & TYPE_MASK) {
        case DIRECTORY -> {
          tar.directory(name, mode, mtime, owner);
          entries++;
          // A mount point inside the tree (e.g. a proc left mounted) is archived as an empty
          // directory: its contents belong to the host, not to the image.
          if ((Long) attributes.get("dev") == rootDevice) {
            children(path, name + "/");
          }
        }
        case SYMLINK -> {
          tar.symlink(name, Files.readSymbolicLink(path).toString(), mtime, owner);
          entries++;
        }
        case REGULAR -> {
          regularFile(path, name, attributes, mode, mtime, owner);
          entries++;
        }
        default -> skippedSpecialFiles++;
      }
    }

    private void regularFile(
        Path path, String name, Map<String, Object> attributes, int mode, long mtime, Owner owner)
        throws IOException {
      if ((Integer) attributes.get("nlink") > 1) {
        String inode = attributes.get("dev") + ":" + attributes.get("ino");
        String first = firstPathOfInode.putIfAbsent(inode, name);
        if (first != null) {
          tar.hardlink(name, first, mode, mtime, owner);
          return;
        }
      }
      try (InputStream content = Files.newInputStream(path, LinkOption.NOFOLLOW_LINKS)) {
        tar.file(name, mode, mtime, owner, Files.size(path), content);
      }
    }
  }

  /** Unsigned UTF-8 byte order, the order a C locale {@code sort} or Go would give. */
  static int compareBytes(String a, String b) {
    return java.util.Arrays.compareUnsigned(
        a.getBytes(java.nio.charset.StandardCharsets.UTF_8),
        b.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }
}
