package dev.kiln.worker.fs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes directory trees off the build path: {@link #discard} renames a tree into a trash directory
 * (instant, on the same file system) and one low-priority thread deletes it later. On this machine
 * kind, creating files is several times slower for minutes after a large recursive delete, so a
 * build must never wait for one; and a tree left behind by a crash is deleted at the next start.
 */
public final class BackgroundDeleter implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(BackgroundDeleter.class);

  private final Path trash;
  private final ExecutorService deleter;

  /**
   * @param trash a directory on the same file system as every tree passed to {@link #discard}
   */
  public BackgroundDeleter(Path trash) throws IOException {
    this.trash = Files.createDirectories(trash);
    this.deleter =
        Executors.newSingleThreadExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "kiln-background-delete");
              thread.setDaemon(true);
              thread.setPriority(Thread.MIN_PRIORITY);
              return thread;
            });
    try (Stream<Path> leftovers = Files.list(trash)) {
      leftovers.forEach(this::scheduleDelete);
    }
  }

  /** Moves {@code path} (a file or a tree) out of the way now and deletes it in the background. */
  public void discard(Path path) throws IOException {
    Path target = trash.resolve(path.getFileName() + "-" + UUID.randomUUID());
    try {
      Files.move(path, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (NoSuchFileException e) {
      return;
    }
    scheduleDelete(target);
  }

  private void scheduleDelete(Path path) {
    deleter.execute(
        () -> {
          try {
            deleteTree(path);
          } catch (IOException | UncheckedIOException e) {
            LOG.warn(
                "could not delete {} (it stays in the trash until the next start): {}",
                path,
                e.toString());
          }
        });
  }

  /** Deletes a tree without following symbolic links. */
  public static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Files.walkFileTree(
        root,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
              throws IOException {
            Files.deleteIfExists(file);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFileFailed(Path file, IOException failure)
              throws IOException {
            // Another deleter (a second worker on the same work directory) got there first.
            if (failure instanceof NoSuchFileException) {
              return FileVisitResult.CONTINUE;
            }
            throw failure;
          }

          @Override
          public FileVisitResult postVisitDirectory(Path dir, IOException failure)
              throws IOException {
            if (failure != null && !(failure instanceof NoSuchFileException)) {
              throw failure;
            }
            Files.deleteIfExists(dir);
            return FileVisitResult.CONTINUE;
          }
        });
  }

  /** Waits (bounded) until everything discarded so far is deleted; for tests and shutdown. */
  public boolean awaitIdle(long timeout, TimeUnit unit) throws InterruptedException {
    try {
      deleter.submit(() -> {}).get(timeout, unit);
      return true;
    } catch (ExecutionException | TimeoutException e) {
      return false;
    }
  }

  @Override
  public void close() {
    deleter.shutdown();
  }
}
