package dev.kiln.worker.fs;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Copies an app's source tree for its build steps: directories, regular files (with their
 * permission bits) and symbolic links as links, never followed; {@code .git} and anything that is
 * not a file, directory or link are left out.
 */
public final class AppTree {
  private AppTree() {}

  /** Copies {@code source} into the existing, empty directory {@code target}. */
  public static void copy(Path source, Path target) throws IOException {
    Path root = source.toRealPath();
    Files.walkFileTree(
        root,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attributes)
              throws IOException {
            if (!dir.equals(root) && dir.getFileName().toString().equals(".git")) {
              return FileVisitResult.SKIP_SUBTREE;
            }
            Path copy = target.resolve(root.relativize(dir).toString());
            if (!dir.equals(root)) {
              Files.createDirectory(copy);
            }
            Files.setPosixFilePermissions(copy, Files.getPosixFilePermissions(dir));
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attributes)
              throws IOException {
            Path copy = target.resolve(root.relativize(file).toString());
            if (file.getFileName().toString().equals(".git")) {
              return FileVisitResult.CONTINUE;
            }
            if (attributes.isSymbolicLink()) {
              Files.createSymbolicLink(copy, Files.readSymbolicLink(file));
            } else if (attributes.isRegularFile()) {
              Files.copy(file, copy, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
            }
            return FileVisitResult.CONTINUE;
          }
        });
  }
}
