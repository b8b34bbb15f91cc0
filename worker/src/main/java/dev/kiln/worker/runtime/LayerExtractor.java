package dev.kiln.worker.runtime;

import dev.kiln.worker.runtime.ImageRootfsException.Code;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Applies image layers, lowest first, to a directory that starts empty and that nothing else writes
 * to, with the OCI layer semantics: later entries replace earlier ones of the same path (a file a
 * directory and the other way round), {@code .wh.<name>} deletes {@code <name>} of lower layers,
 * and {@code .wh..wh..opq} hides everything lower layers put in its directory.
 *
 * <p>Safety rests on three rules, checked for every entry: names are relative and have no {@code
 * ..} component; every parent directory on the way is a real directory (checked with lstat, never
 * followed), so nothing is written through a symlink; and the last component is opened or created
 * without following symlinks ({@code O_EXCL}, {@code lchown}, {@code lutimes}, {@code O_NOFOLLOW}).
 * A hard link may only point to a file already extracted, by the same rules. Since the tree starts
 * empty and only this class writes it, whatever lstat saw is still there when the entry is written.
 *
 * <p>Directory modes, owners and mtimes are applied by {@link #finish()}, deepest first, after all
 * layers: a directory stays writable while it is filled, and its mtime is not disturbed by writing
 * its children.
 */
final class LayerExtractor {

  static final String WHITEOUT_PREFIX = ".wh.";
  static final String OPAQUE_MARKER = ".wh..wh..opq";

  /** Other {@code .wh..wh.} names are aufs bookkeeping (e.g. {@code .wh..wh.plnk}), not content. */
  private static final String WHITEOUT_META_PREFIX = ".wh..wh.";

  /**
   * Setuid and setgid are dropped from every file and directory. The tree is the shared, read-only
   * root of build sandboxes that run as one user: nothing in a build needs to change identity, and
   * a setuid binary there could only ever be a way to gain the privileges of its owner.
   */
  private static final int KEPT_MODE_BITS = 01777;

  private static final int DEFAULT_DIRECTORY_MODE = 0755;
  private static final int SKIPPED_NAMES_KEPT = 5;

  private final Path root;
  private final Path archive;
  private final long maxEntries;
  private final long maxBytes;
  private final boolean keepOwners;

  /** Directory metadata applied by {@link #finish()}; keys are relative paths, "" is the root. */
  private final TreeMap<String, DirectoryMetadata> directories = new TreeMap<>();

  /** Paths the current layer wrote or passed through; whiteouts only remove what lower ones put. */
  private Set<String> currentLayer = new HashSet<>();

  /** The last parent directory verified to be a real directory; reset by every removal. */
  private String verifiedParent;

  private String layerLabel;
  private String entryName;
  private long entries;
  private long written;
  private long bytes;
  private long skipped;
  private final List<String> skippedNames = new ArrayList<>();

  private record DirectoryMetadata(int mode, int uid, int gid, FileTime mtime) {}

  LayerExtractor(Path root, Path archive, long maxEntries, long maxBytes, boolean keepOwners) {
    this.root = root;
    this.archive = archive;
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
    this.keepOwners = keepOwners;
  }

  /** Entries written (files, directories, symlinks, hard links), replaced ones included. */
  long written() {
    return written;
  }

  /** Bytes of regular-file content written. */
  long bytes() {
    return bytes;
  }

  /** Device files and FIFOs left out. */
  long skipped() {
    return skipped;
  }

  /** The first few entries left out, for a progress line. */
  List<String> skippedNames() {
    return List.copyOf(skippedNames);
  }

  /**
   * Applies one layer, read to the end of its tar.
   *
   * @param label names the layer in messages, e.g. {@code layer 2 of 3 (abc/layer.tar)}
   */
  void apply(InputStream layerTar, String label) throws IOException {
    layerLabel = label;
    entryName = null;
    currentLayer = new HashSet<>();
    verifiedParent = null;
    TarArchiveInputStream tar = new TarArchiveInputStream(layerTar, "UTF-8");
    while (true) {
      TarArchiveEntry entry;
      try {
        entry = tar.getNextEntry();
      } catch (IOException | IllegalArgumentException e) {
        throw failure(
            Code.MALFORMED_ARCHIVE,
            "the layer is not a readable tar after "
                + (entryName == null ? "its start" : "'" + entryName + "'")
                + " ("
                + e.getMessage()
                + "); the tarball is truncated or corrupted",
            e);
      }
      if (entry == null) {
        break;
      }
      entryName = entry.getName();
      if (Thread.currentThread().isInterrupted()) {
        throw failure(Code.INTERRUPTED, "interrupted", null);
      }
      if (++entries > maxEntries) {
        throw failure(
            Code.LIMIT_EXCEEDED,
            "the image has more than "
                + maxEntries
                + " entries, the most this worker unpacks (raise the limit if the image is right)",
            null);
      }
      try {
        applyEntry(entry, tar);
      } catch (ImageRootfsException e) {
        throw e;
      } catch (InvalidPathException e) {
        throw failure(Code.MALFORMED_ARCHIVE, "the name is not a usable path: " + e.getReason(), e);
      } catch (IOException e) {
        throw failure(Code.IO_FAILED, "writing it failed: " + e, e);
      }
    }
    entryName = null;
  }

  private void applyEntry(TarArchiveEntry entry, TarArchiveInputStream tar) throws IOException {
    String name = relativePath(entry.getName(), "its name");
    if (name.isEmpty()) {
      return; // The root's mode and owner are Kiln's: see finish().
    }
    String base = name.substring(name.lastIndexOf('/') + 1);
    ensureParents(name);
    if (base.startsWith(WHITEOUT_PREFIX)) {
      whiteout(name, base);
      return;
    }
    Path path = root.resolve(name);
    if (entry.isDirectory()) {
      directory(name, path, entry);
    } else if (entry.isSymbolicLink()) {
      symlink(name, path, entry);
    } else if (entry.isLink()) {
      hardLink(name, path, entry);
    } else if (entry.isCharacterDevice() || entry.isBlockDevice() || entry.isFIFO()) {
      // Left out, but it still replaces what lower layers had at its path.
      removeExisting(name);
      skipped++;
      if (skippedNames.size() < SKIPPED_NAMES_KEPT) {
        skippedNames.add(name);
      }
      return;
    } else if (isRegularFile(entry)) {
      regularFile(name, path, entry, tar);
    } else {
      throw failure(
          Code.MALFORMED_ARCHIVE,
          "it has the tar entry type '"
              + (char) entry.getLinkFlag()
              + "', which does not belong in an image layer",
          null);
    }
    currentLayer.add(name);
    written++;
  }

  private static boolean isRegularFile(TarArchiveEntry entry) {
    byte type = entry.getLinkFlag();
    return type == TarConstants.LF_NORMAL
        || type == TarConstants.LF_OLDNORM
        || type == TarConstants.LF_CONTIG
        || type == TarConstants.LF_GNUTYPE_SPARSE;
  }

  private void directory(String name, Path path, TarArchiveEntry entry) throws IOException {
    BasicFileAttributes existing = lstat(path);
    if (existing != null && !existing.isDirectory()) {
      removeExisting(name);
      existing = null;
    }
    if (existing == null) {
      Files.createDirectory(path);
    }
    // A directory of a lower layer stays, with its contents; this layer's metadata wins.
    directories.put(
        name,
        new DirectoryMetadata(
            entry.getMode() & KEPT_MODE_BITS,
            (int) entry.getLongUserId(),
            (int) entry.getLongGroupId(),
            entry.getLastModifiedTime()));
  }

  private void symlink(String name, Path path, TarArchiveEntry entry) throws IOException {
    String target = entry.getLinkName();
    if (target == null || target.isEmpty()) {
      throw failure(Code.MALFORMED_ARCHIVE, "the symlink has no target", null);
    }
    removeExisting(name);
    // Stored as it is, absolute or not: it is resolved inside the sandbox, never here.
    Files.createSymbolicLink(path, Path.of(target));
    setOwner(path, entry);
    setTime(path, entry.getLastModifiedTime());
  }

  private void hardLink(String name, Path path, TarArchiveEntry entry) throws IOException {
    String target = relativePath(entry.getLinkName(), "its hard link target");
    if (target.isEmpty() || target.equals(name)) {
      throw failure(
          Code.UNSAFE_ENTRY,
          "the hard link points to " + (target.isEmpty() ? "the root directory" : "itself"),
          null);
    }
    removeExisting(name);
    Path existing = existingFile(target);
    // link(2) never follows a symlink: a link to one is a second name for the symlink itself.
    Files.createLink(path, existing);
  }

  private void regularFile(String name, Path path, TarArchiveEntry entry, TarArchiveInputStream tar)
      throws IOException {
    long size = entry.isSparse() ? entry.getRealSize() : entry.getSize();
    if (size < 0 || size > maxBytes - bytes) {
      throw tooLarge();
    }
    removeExisting(name);
    byte[] buffer = new byte[1 << 16];
    try (OutputStream out =
        Files.newOutputStream(
            path,
            StandardOpenOption.CREATE_NEW,
            StandardOpenOption.WRITE,
            LinkOption.NOFOLLOW_LINKS)) {
      while (true) {
        int read;
        try {
          read = tar.read(buffer);
        } catch (IOException e) {
          throw failure(
              Code.MALFORMED_ARCHIVE,
              "its content cannot be read (" + e.getMessage() + "); the tarball is truncated",
              e);
        }
        if (read < 0) {
          break;
        }
        bytes += read;
        if (bytes > maxBytes) {
          throw tooLarge();
        }
        out.write(buffer, 0, read);
      }
    }
    setOwner(path, entry);
    setMode(path, entry.getMode() & KEPT_MODE_BITS);
    setTime(path, entry.getLastModifiedTime());
  }

  private ImageRootfsException tooLarge() {
    return failure(
        Code.LIMIT_EXCEEDED,
        "the image has more than "
            + maxBytes
            + " bytes of files, the most this worker unpacks (raise the limit if the image is"
            + " right)",
        null);
  }

  /**
   * {@code .wh.<name>} removes what lower layers put at {@code <name>}; {@code .wh..wh..opq}
   * removes what lower layers put in its directory. Neither appears in the result.
   */
  private void whiteout(String name, String base) throws IOException {
    int slash = name.lastIndexOf('/');
    String directory = slash < 0 ? "" : name.substring(0, slash);
    if (base.equals(OPAQUE_MARKER)) {
      for (String child : children(directory)) {
        removeLowerLayers(join(directory, child));
      }
      return;
    }
    if (base.startsWith(WHITEOUT_META_PREFIX)) {
      return;
    }
    String hidden = base.substring(WHITEOUT_PREFIX.length());
    if (hidden.isEmpty() || hidden.equals(".") || hidden.equals("..")) {
      throw failure(
          Code.UNSAFE_ENTRY,
          "the whiteout names '" + hidden + "', which is not a file in its directory",
          null);
    }
    removeLowerLayers(join(directory, hidden));
  }

  /**
   * Removes what lower layers put at {@code name}, keeping what the current layer wrote: a path the
   * current layer wrote (or wrote something under) stays, and for a directory its children are
   * looked at one by one.
   */
  private void removeLowerLayers(String name) throws IOException {
    BasicFileAttributes attributes = lstat(root.resolve(name));
    if (attributes == null) {
      return;
    }
    if (!currentLayer.contains(name)) {
      removeExisting(name);
    } else if (attributes.isDirectory()) {
      for (String child : children(name)) {
        removeLowerLayers(join(name, child));
      }
    }
  }

  /**
   * Makes {@code name} an empty directory with {@code mode}, replacing whatever the image has
   * there; an existing directory keeps its owner. Its parents must be real directories, as for
   * entries.
   */
  void mountPoint(String name, int mode) throws IOException {
    layerLabel = "mount points";
    entryName = "/" + name;
    try {
      ensureParents(name);
      Path path = root.resolve(name);
      BasicFileAttributes existing = lstat(path);
      DirectoryMetadata image = directories.remove(name);
      if (existing != null && existing.isDirectory()) {
        for (String child : children(name)) {
          removeExisting(join(name, child));
        }
        if (image != null && keepOwners) {
          Files.setAttribute(path, "unix:uid", image.uid(), LinkOption.NOFOLLOW_LINKS);
          Files.setAttribute(path, "unix:gid", image.gid(), LinkOption.NOFOLLOW_LINKS);
        }
      } else {
        removeExisting(name);
        Files.createDirectory(path);
      }
      setMode(path, mode);
    } catch (ImageRootfsException e) {
      throw e;
    } catch (IOException e) {
      throw failure(Code.IO_FAILED, "creating the mount point failed: " + e, e);
    }
  }

  /**
   * Applies directory modes, owners and mtimes, deepest first, and gives the root mode 0755. Call
   * it once, after the last layer and the mount points.
   */
  void finish() throws IOException {
    layerLabel = null;
    for (var directory : directories.descendingMap().entrySet()) {
      entryName = directory.getKey();
      DirectoryMetadata metadata = directory.getValue();
      try {
        Path path = existingDirectory(directory.getKey());
        if (keepOwners) {
          Files.setAttribute(path, "unix:uid", metadata.uid(), LinkOption.NOFOLLOW_LINKS);
          Files.setAttribute(path, "unix:gid", metadata.gid(), LinkOption.NOFOLLOW_LINKS);
        }
        setMode(path, metadata.mode());
        setTime(path, metadata.mtime());
      } catch (ImageRootfsException e) {
        throw e;
      } catch (IOException e) {
        throw failure(Code.IO_FAILED, "setting the directory's mode and times failed: " + e, e);
      }
    }
    entryName = null;
    setMode(root, DEFAULT_DIRECTORY_MODE);
  }

  /**
   * Creates the missing parents of {@code name} (mode 0755) and refuses a parent that is a symlink
   * or not a directory.
   */
  private void ensureParents(String name) throws IOException {
    int slash = name.lastIndexOf('/');
    if (slash < 0) {
      return;
    }
    String parent = name.substring(0, slash);
    if (parent.equals(verifiedParent)) {
      return;
    }
    for (int end = parent.indexOf('/'); ; end = parent.indexOf('/', end + 1)) {
      String prefix = end < 0 ? parent : parent.substring(0, end);
      Path directory = root.resolve(prefix);
      BasicFileAttributes attributes = lstat(directory);
      if (attributes == null) {
        Files.createDirectory(directory);
        setMode(directory, DEFAULT_DIRECTORY_MODE);
      } else if (attributes.isSymbolicLink()) {
        throw failure(
            Code.UNSAFE_ENTRY,
            "its parent /"
                + prefix
                + " is a symlink, and nothing is ever written through a symlink",
            null);
      } else if (!attributes.isDirectory()) {
        throw failure(
            Code.MALFORMED_ARCHIVE, "its parent /" + prefix + " is not a directory", null);
      }
      currentLayer.add(prefix);
      if (end < 0) {
        break;
      }
    }
    verifiedParent = parent;
  }

  /** The path of an extracted non-directory, reached through real directories only. */
  private Path existingFile(String name) throws IOException {
    Path path = reachable(name, "the hard link target /" + name);
    BasicFileAttributes attributes = lstat(path);
    if (attributes == null) {
      throw failure(
          Code.UNSAFE_ENTRY,
          "the hard link points to /" + name + ", which has not been extracted",
          null);
    }
    if (attributes.isDirectory()) {
      throw failure(Code.UNSAFE_ENTRY, "the hard link points to the directory /" + name, null);
    }
    return path;
  }

  private Path existingDirectory(String name) throws IOException {
    Path path = reachable(name, "/" + name);
    BasicFileAttributes attributes = lstat(path);
    if (attributes == null || !attributes.isDirectory()) {
      // Cannot happen: removals forget the metadata of what they remove. Refuse rather than guess.
      throw failure(Code.IO_FAILED, "/" + name + " is no longer a directory", null);
    }
    return path;
  }

  /** Checks that every parent of {@code name} exists and is a real directory. */
  private Path reachable(String name, String what) throws IOException {
    for (int end = name.indexOf('/'); end >= 0; end = name.indexOf('/', end + 1)) {
      String prefix = name.substring(0, end);
      BasicFileAttributes attributes = lstat(root.resolve(prefix));
      if (attributes == null) {
        throw failure(Code.UNSAFE_ENTRY, what + " has not been extracted", null);
      }
      if (!attributes.isDirectory()) {
        throw failure(
            Code.UNSAFE_ENTRY,
            what
                + " lies under /"
                + prefix
                + ", which is "
                + (attributes.isSymbolicLink() ? "a symlink" : "not a directory"),
            null);
      }
    }
    return root.resolve(name);
  }

  /** Removes whatever is at {@code name} (a directory with its contents), never following links. */
  private void removeExisting(String name) throws IOException {
    Path path = root.resolve(name);
    BasicFileAttributes attributes = lstat(path);
    if (attributes == null) {
      return;
    }
    if (attributes.isDirectory()) {
      Rootfs.removeTree(path);
    } else {
      Files.delete(path);
    }
    directories.remove(name);
    directories.subMap(name + "/", name + "0").clear(); // '0' is the character after '/'
    verifiedParent = null;
  }

  private List<String> children(String directory) throws IOException {
    List<String> names = new ArrayList<>();
    try (DirectoryStream<Path> listing =
        Files.newDirectoryStream(directory.isEmpty() ? root : root.resolve(directory))) {
      for (Path child : listing) {
        names.add(child.getFileName().toString());
      }
    }
    return names;
  }

  private void setOwner(Path path, TarArchiveEntry entry) throws IOException {
    if (keepOwners) {
      Files.setAttribute(path, "unix:uid", (int) entry.getLongUserId(), LinkOption.NOFOLLOW_LINKS);
      Files.setAttribute(path, "unix:gid", (int) entry.getLongGroupId(), LinkOption.NOFOLLOW_LINKS);
    }
  }

  /**
   * chmod through an {@code O_NOFOLLOW} descriptor; takes the sticky bit, unlike
   * PosixFilePermission.
   */
  private static void setMode(Path path, int mode) throws IOException {
    Files.setAttribute(path, "unix:mode", mode, LinkOption.NOFOLLOW_LINKS);
  }

  /** Sets the mtime (and atime) of the path itself, {@code lutimes} for a symlink. */
  private static void setTime(Path path, FileTime mtime) throws IOException {
    Files.getFileAttributeView(path, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
        .setTimes(mtime, mtime, null);
  }

  private static BasicFileAttributes lstat(Path path) throws IOException {
    try {
      return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  /**
   * A tar name as a relative path without {@code .} or empty components ({@code ""} for the root);
   * refuses absolute names and {@code ..} components.
   */
  private String relativePath(String tarName, String what) throws ImageRootfsException {
    if (tarName == null || tarName.isEmpty()) {
      throw failure(Code.MALFORMED_ARCHIVE, what + " is empty", null);
    }
    if (tarName.startsWith("/")) {
      throw failure(
          Code.UNSAFE_ENTRY, what + " is an absolute path; layers hold relative ones", null);
    }
    StringBuilder path = new StringBuilder();
    for (String component : tarName.split("/")) {
      if (component.isEmpty() || component.equals(".")) {
        continue;
      }
      if (component.equals("..")) {
        throw failure(
            Code.UNSAFE_ENTRY, what + " has a '..' component, which could leave the tree", null);
      }
      if (component.indexOf('\0') >= 0) {
        throw failure(Code.MALFORMED_ARCHIVE, what + " contains a NUL character", null);
      }
      path.append(path.length() == 0 ? "" : "/").append(component);
    }
    return path.toString();
  }

  private static String join(String directory, String name) {
    return directory.isEmpty() ? name : directory + "/" + name;
  }

  private ImageRootfsException failure(Code code, String reason, Throwable cause) {
    return new ImageRootfsException(code, archive, layerLabel, entryName, reason, cause);
  }
}
