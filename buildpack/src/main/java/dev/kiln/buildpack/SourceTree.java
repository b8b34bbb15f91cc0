package dev.kiln.buildpack;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Read-only access to a checked-out repository that never leaves it: every path is checked after
 * resolving symbolic links, only regular files are read (never FIFOs or devices), and every read
 * has a size limit.
 */
final class SourceTree {
  static final long VERSION_FILE_LIMIT = 64 * 1024;
  static final long TEXT_FILE_LIMIT = 1024 * 1024;
  static final long LOCK_FILE_LIMIT = 16 * 1024 * 1024;
  private static final int LISTING_LIMIT = 10_000;

  /** What a name in the tree turned out to be. */
  enum Kind {
    MISSING,
    FILE,
    DIRECTORY,
    /** A FIFO, socket or device: present, but never read. */
    OTHER,
    SYMLINK_OUTSIDE,
    SYMLINK_BROKEN
  }

  /**
   * One looked-up path.
   *
   * @param display the path as the user knows it (relative to the source directory)
   * @param real the fully resolved path, inside the repository; null unless FILE/DIRECTORY/OTHER
   * @param linkTarget what the symbolic link (if any) points to, for messages
   */
  record Entry(String display, Kind kind, Path real, String linkTarget) {
    boolean isFile() {
      return kind == Kind.FILE;
    }

    boolean isDirectory() {
      return kind == Kind.DIRECTORY;
    }

    boolean exists() {
      return kind != Kind.MISSING;
    }

    boolean unsafe() {
      return kind == Kind.SYMLINK_OUTSIDE || kind == Kind.SYMLINK_BROKEN;
    }
  }

  private final Path repositoryRoot;

  private SourceTree(Path repositoryRoot) {
    this.repositoryRoot = repositoryRoot;
  }

  static SourceTree open(Path repositoryRoot) throws BuildpackException {
    try {
      Path real = repositoryRoot.toRealPath();
      if (!Files.isDirectory(real)) {
        throw new BuildpackException(
            Codes.SOURCE_UNREADABLE,
            "The source to build is not a directory: "
                + Text.quote(repositoryRoot.toString(), 300));
      }
      return new SourceTree(real);
    } catch (IOException | InvalidPathException e) {
      throw new BuildpackException(
          Codes.SOURCE_UNREADABLE,
          "The source to build cannot be opened: "
              + Text.quote(repositoryRoot.toString(), 300)
              + "\n\nReason: "
              + Text.quote(String.valueOf(e.getMessage()), 300));
    }
  }

  Path root() {
    return repositoryRoot;
  }

  /**
   * Turns a repository-relative path given by the user ({@code source_dir}, {@code
   * dockerfile_path}) into a normalized relative path ({@code ""} for the root), or empty when it
   * climbs out with {@code ..}. A leading {@code /} means the repository root, as in App Platform
   * app specs.
   */
  static Optional<String> normalizeRepositoryPath(String raw) {
    List<String> segments = new ArrayList<>();
    for (String segment : raw.replace('\\', '/').split("/")) {
      if (segment.isEmpty() || segment.equals(".")) {
        continue;
      }
      if (segment.equals("..")) {
        if (segments.isEmpty()) {
          return Optional.empty();
        }
        segments.remove(segments.size() - 1);
      } else {
        segments.add(segment);
      }
    }
    return Optional.of(String.join("/", segments));
  }

  /** True when the lexically normalized path stays inside the repository. */
  boolean containsLexically(Path path) {
    return path.toAbsolutePath().normalize().startsWith(repositoryRoot);
  }

  /** Looks up {@code relative} (may contain {@code /}) below {@code base} without reading it. */
  Entry inspect(Path base, String relative, String display) {
    Path path;
    try {
      path = base.resolve(relative);
    } catch (InvalidPathException e) {
      return new Entry(display, Kind.MISSING, null, null);
    }
    BasicFileAttributes ownAttributes;
    try {
      ownAttributes =
          Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException | NotDirectoryException e) {
      return new Entry(display, Kind.MISSING, null, null);
    } catch (IOException e) {
      // e.g. a symlink loop in a parent directory
      return new Entry(display, Kind.SYMLINK_BROKEN, null, null);
    }
    String linkTarget = ownAttributes.isSymbolicLink() ? readLink(path) : null;
    Path real;
    try {
      real = path.toRealPath();
    } catch (IOException e) {
      return new Entry(display, Kind.SYMLINK_BROKEN, null, linkTarget);
    }
    if (!real.startsWith(repositoryRoot)) {
      return new Entry(
          display, Kind.SYMLINK_OUTSIDE, null, linkTarget == null ? real.toString() : linkTarget);
    }
    if (!ownAttributes.isSymbolicLink()
        && real.getFileName() != null
        && path.getFileName() != null
        && !real.getFileName().toString().equals(path.getFileName().toString())) {
      // a case-insensitive file system matched a name that differs in case: not the same name
      return new Entry(display, Kind.MISSING, null, null);
    }
    BasicFileAttributes attributes;
    try {
      attributes = Files.readAttributes(real, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (IOException e) {
      return new Entry(display, Kind.SYMLINK_BROKEN, null, linkTarget);
    }
    Kind kind =
        attributes.isRegularFile()
            ? Kind.FILE
            : attributes.isDirectory() ? Kind.DIRECTORY : Kind.OTHER;
    return new Entry(display, kind, real, linkTarget);
  }

  private static String readLink(Path path) {
    try {
      return Files.readSymbolicLink(path).toString();
    } catch (IOException | UnsupportedOperationException e) {
      return null;
    }
  }

  /**
   * Reads a regular file of at most {@code limit} bytes. Callers check {@link Entry#isFile()}
   * first; anything else is refused.
   */
  byte[] read(Entry entry, long limit) throws BuildpackException {
    if (entry.unsafe()) {
      throw unsafe(entry);
    }
    if (!entry.isFile()) {
      throw new BuildpackException(
          Codes.SOURCE_UNREADABLE,
          Text.quote(entry.display())
              + " is not a regular file, so Kiln will not read it."
              + "\n\nReplace it with a regular file committed to the repository.");
    }
    try (InputStream in = Files.newInputStream(entry.real(), LinkOption.NOFOLLOW_LINKS)) {
      byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, limit + 1));
      if (bytes.length > limit) {
        throw new BuildpackException(
            Codes.SOURCE_FILE_TOO_LARGE,
            Text.quote(entry.display())
                + " is larger than "
                + humanSize(limit)
                + ", the most Kiln reads from this kind of file."
                + "\n\nCheck that the file is what you meant to commit (not a generated or binary file)"
                + " and shrink it below the limit.");
      }
      return bytes;
    } catch (FileSystemException e) {
      throw unreadable(entry, e.getReason() == null ? e.getClass().getSimpleName() : e.getReason());
    } catch (IOException e) {
      throw unreadable(entry, String.valueOf(e.getMessage()));
    }
  }

  private static BuildpackException unreadable(Entry entry, String reason) {
    return new BuildpackException(
        Codes.SOURCE_UNREADABLE,
        Text.quote(entry.display())
            + " could not be read: "
            + Text.quote(reason, 200)
            + "\n\nMake sure the file is a readable regular file committed to the repository.");
  }

  /** The failure for a name that is a symbolic link Kiln must not follow. */
  static BuildpackException unsafe(Entry entry) {
    String target =
        entry.linkTarget() == null ? "" : " (" + Text.quote(entry.linkTarget(), 200) + ")";
    if (entry.kind() == Kind.SYMLINK_OUTSIDE) {
      return new BuildpackException(
          Codes.SOURCE_SYMLINK_OUTSIDE,
          Text.quote(entry.display())
              + " is a symbolic link to a location outside the repository"
              + target
              + ". Kiln never reads files outside the repository being built."
              + "\n\nCommit the file itself (or a link to a file inside the repository) instead of the link.");
    }
    return new BuildpackException(
        Codes.SOURCE_BROKEN_SYMLINK,
        Text.quote(entry.display())
            + " is a symbolic link that does not lead to an existing file (its target is missing, or links loop)"
            + target
            + "."
            + "\n\nPoint the link at a file that is committed to the repository, or replace the link with the file.");
  }

  /**
   * The names in a directory, sorted, with {@code /} after directories; dotfiles included. Symbolic
   * links are not followed (a link to a directory shows without {@code /}).
   */
  List<String> listing(Path directory) {
    List<String> names = new ArrayList<>();
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(directory)) {
      for (Path child : stream) {
        if (names.size() == LISTING_LIMIT) {
          break;
        }
        boolean isDirectory = Files.isDirectory(child, LinkOption.NOFOLLOW_LINKS);
        names.add(child.getFileName() + (isDirectory ? "/" : ""));
      }
    } catch (IOException | SecurityException e) {
      return names;
    }
    names.sort(null);
    return names;
  }

  static String humanSize(long bytes) {
    if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0) {
      return bytes / (1024 * 1024) + " MiB";
    }
    if (bytes >= 1024 && bytes % 1024 == 0) {
      return bytes / 1024 + " KiB";
    }
    return bytes + " bytes";
  }
}
