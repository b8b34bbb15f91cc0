package dev.kiln.worker.fetch;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.function.BooleanSupplier;

/**
 * Watches a running fetch from outside git: the bytes it has written so far (the pack being
 * received), against the repository size limit and the low-speed limit, and the whole fetch's
 * deadline. git's own {@code http.lowSpeedLimit} covers http(s) only; this covers every protocol.
 * Asked by {@code ExternalProcess} about every 100 ms; answers false to have git stopped.
 */
final class FetchWatch implements BooleanSupplier {
  enum Stop {
    TOO_LARGE,
    TOO_SLOW,
    DEADLINE
  }

  private final Path directory;
  private final FetchLimits limits;
  private final long deadline;
  private long windowStart = System.nanoTime();
  private long windowStartBytes = -1;
  private volatile Stop stop;

  FetchWatch(Path directory, FetchLimits limits, long deadline) {
    this.directory = directory;
    this.limits = limits;
    this.deadline = deadline;
  }

  /** Why the fetch was stopped, or null when it was not. */
  Stop stop() {
    return stop;
  }

  @Override
  public boolean getAsBoolean() {
    long now = System.nanoTime();
    if (now - deadline >= 0) {
      stop = Stop.DEADLINE;
      return false;
    }
    long bytes = sizeOf(directory);
    if (bytes > limits.maxRepositoryBytes()) {
      stop = Stop.TOO_LARGE;
      return false;
    }
    if (windowStartBytes < 0) {
      windowStartBytes = bytes;
    }
    long window = limits.lowSpeedTime().toNanos();
    if (limits.lowSpeedBytesPerSecond() > 0 && now - windowStart >= window) {
      long expected = limits.lowSpeedBytesPerSecond() * limits.lowSpeedTime().toSeconds();
      if (bytes - windowStartBytes < expected) {
        stop = Stop.TOO_SLOW;
        return false;
      }
      windowStart = now;
      windowStartBytes = bytes;
    }
    return true;
  }

  /** The bytes of every regular file under {@code directory}; files vanishing meanwhile are 0. */
  static long sizeOf(Path directory) {
    long[] total = {0};
    try {
      Files.walkFileTree(
          directory,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) {
              if (attributes.isRegularFile()) {
                total[0] += attributes.size();
              }
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) {
              return FileVisitResult.CONTINUE;
            }
          });
    } catch (IOException e) {
      // The directory is not there yet (git has not created it): nothing written.
    }
    return total[0];
  }
}
