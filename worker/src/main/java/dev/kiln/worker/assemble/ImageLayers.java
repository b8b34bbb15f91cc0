package dev.kiln.worker.assemble;

import com.google.cloud.tools.jib.api.buildplan.AbsoluteUnixPath;
import com.google.cloud.tools.jib.api.buildplan.FileEntriesLayer;
import com.google.cloud.tools.jib.api.buildplan.FileEntry;
import com.google.cloud.tools.jib.api.buildplan.FilePermissions;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The layers Kiln adds on top of the runtime image. Every entry has explicit permissions, owner and
 * modification time, so a layer's digest depends only on the files' names and bytes and whether
 * they are executable.
 */
final class ImageLayers {
  static final AbsoluteUnixPath APP_DIR = AbsoluteUnixPath.get("/app");
  static final AbsoluteUnixPath DEPENDENCIES_DIR = AbsoluteUnixPath.get("/opt/kiln/deps");
  static final AbsoluteUnixPath LAUNCHER = AbsoluteUnixPath.get("/opt/kiln/bin/launch");

  /**
   * The non-root user the app runs as, and owns {@code /app} (so it can write there, as on Heroku).
   */
  static final String APP_USER = "1000:1000";

  static final Instant FIXED_MTIME = MaterializedLayers.FIXED_MTIME;

  /**
   * Recorded as jib's tool version in the image history; bump it when the layout above changes, so
   * images of different layouts never share a digest.
   */
  static final String LAYOUT_VERSION = "1";

  private static final FilePermissions DIRECTORY = FilePermissions.fromOctalString("755");
  private static final FilePermissions EXECUTABLE = FilePermissions.fromOctalString("755");
  private static final FilePermissions REGULAR = FilePermissions.fromOctalString("644");
  private static final String ROOT_OWNER = "0:0";

  private ImageLayers() {}

  /** An unpacked dependency tree (see {@link MaterializedLayers}) at {@code /opt/kiln/deps}. */
  static FileEntriesLayer dependencies(Path materialized) throws IOException {
    FileEntriesLayer.Builder layer = FileEntriesLayer.builder().setName("dependencies");
    layer.addEntry(
        new FileEntry(materialized, DEPENDENCIES_DIR, DIRECTORY, FIXED_MTIME, ROOT_OWNER));
    for (Path path : sortedTree(materialized)) {
      PosixFileAttributes attributes = attributes(path);
      AbsoluteUnixPath inImage = DEPENDENCIES_DIR.resolve(materialized.relativize(path));
      if (attributes.isDirectory()) {
        layer.addEntry(new FileEntry(path, inImage, DIRECTORY, FIXED_MTIME, ROOT_OWNER));
      } else if (attributes.isRegularFile()) {
        layer.addEntry(
            new FileEntry(path, inImage, permissions(attributes), FIXED_MTIME, ROOT_OWNER));
      }
    }
    return layer.build();
  }

  /**
   * The app's source tree at {@code /app}, owned by the app user. {@code .git} is left out. A
   * symlink to a file inside the tree becomes a copy of that file; other symlinks are left out with
   * a note to {@code skipped}, because a link out of the tree would copy files of the worker into
   * the image.
   */
  static FileEntriesLayer app(Path sourceRoot, Consumer<String> skipped) throws IOException {
    Path root = sourceRoot.toRealPath();
    FileEntriesLayer.Builder layer = FileEntriesLayer.builder().setName("app");
    layer.addEntry(new FileEntry(root, APP_DIR, DIRECTORY, FIXED_MTIME, APP_USER));
    for (Path path : sortedTree(root)) {
      Path relative = root.relativize(path);
      AbsoluteUnixPath inImage = APP_DIR.resolve(relative);
      PosixFileAttributes attributes = attributes(path);
      if (attributes.isDirectory()) {
        layer.addEntry(new FileEntry(path, inImage, DIRECTORY, FIXED_MTIME, APP_USER));
      } else if (attributes.isRegularFile()) {
        layer.addEntry(
            new FileEntry(path, inImage, permissions(attributes), FIXED_MTIME, APP_USER));
      } else if (attributes.isSymbolicLink()) {
        String problem = symlinkProblem(root, path);
        if (problem == null) {
          // jib reads through the link, so the image gets the target's bytes under this name.
          PosixFileAttributes target = Files.readAttributes(path, PosixFileAttributes.class);
          layer.addEntry(new FileEntry(path, inImage, permissions(target), FIXED_MTIME, APP_USER));
        } else {
          skipped.accept("Left out the symlink " + relative + " from /app: it " + problem);
        }
      } else {
        skipped.accept("Left out " + relative + " from /app: it is not a file or directory");
      }
    }
    return layer.build();
  }

  /** The launcher script, written once at a stable path, at {@code /opt/kiln/bin/launch}. */
  static FileEntriesLayer launcher(Path script) {
    return FileEntriesLayer.builder()
        .setName("launcher")
        .addEntry(new FileEntry(script, LAUNCHER, EXECUTABLE, FIXED_MTIME, ROOT_OWNER))
        .build();
  }

  private static String symlinkProblem(Path root, Path link) throws IOException {
    Path target;
    try {
      target = link.toRealPath();
    } catch (IOException e) {
      return "points to " + Files.readSymbolicLink(link) + ", which does not exist";
    }
    if (!target.startsWith(root)) {
      return "points outside the app (" + Files.readSymbolicLink(link) + ")";
    }
    if (!Files.isRegularFile(target)) {
      return "points to a directory; image layers can only hold a copy of a file here. Replace it "
          + "with the directory itself or a file symlink";
    }
    return null;
  }

  /** {@code .git} directories, and {@code .git} files of submodules and worktrees. */
  private static boolean isGitMetadata(Path name) {
    return name.toString().equals(".git");
  }

  /** Every path below {@code root} (not following symlinks, skipping {@code .git}), sorted. */
  private static List<Path> sortedTree(Path root) throws IOException {
    List<Path> paths = new ArrayList<>();
    Files.walkFileTree(
        root,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attributes) {
            if (dir.equals(root)) {
              return FileVisitResult.CONTINUE;
            }
            if (isGitMetadata(dir.getFileName())) {
              return FileVisitResult.SKIP_SUBTREE;
            }
            paths.add(dir);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) {
            if (!isGitMetadata(file.getFileName())) {
              paths.add(file);
            }
            return FileVisitResult.CONTINUE;
          }
        });
    paths.sort(null);
    return paths;
  }

  private static PosixFileAttributes attributes(Path path) throws IOException {
    return Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
  }

  private static FilePermissions permissions(PosixFileAttributes attributes) {
    return attributes.permissions().contains(PosixFilePermission.OWNER_EXECUTE)
        ? EXECUTABLE
        : REGULAR;
  }
}
