package dev.kiln.worker.fs;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Scratch directories that are reused from build to build ({@code <root>/0}, {@code <root>/1}, …)
 * instead of being created and deleted each time. A slot belongs to one task at a time through an
 * OS file lock, so several workers (threads, verticles or processes) can share one work directory;
 * a crashed holder's lock goes away with its process.
 */
public final class ScratchSlots {
  private static final int MAX_SLOTS = 1024;

  private final Path root;
  private final BackgroundDeleter deleter;

  public ScratchSlots(Path root, BackgroundDeleter deleter) {
    this.root = root;
    this.deleter = deleter;
  }

  /** A slot of one's own; close it to hand it back. */
  public Slot acquire() throws IOException {
    Files.createDirectories(root);
    for (int index = 0; index < MAX_SLOTS; index++) {
      Path dir = Files.createDirectories(root.resolve(Integer.toString(index)));
      FileChannel channel =
          FileChannel.open(
              dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      }
      if (lock != null) {
        return new Slot(dir, channel, lock);
      }
      channel.close();
    }
    throw new IOException(
        "all "
            + MAX_SLOTS
            + " scratch directories under "
            + root
            + " are in use; is another"
            + " process holding them?");
  }

  /** A scratch directory held by one task. */
  public final class Slot implements AutoCloseable {
    private final Path dir;
    private final FileChannel channel;
    private final FileLock lock;

    private Slot(Path dir, FileChannel channel, FileLock lock) {
      this.dir = dir;
      this.channel = channel;
      this.lock = lock;
    }

    public Path dir() {
      return dir;
    }

    /**
     * An empty directory {@code name} inside the slot. Whatever the last task left there is moved
     * to the trash and deleted in the background, off the build path.
     */
    public Path fresh(String name) throws IOException {
      Path path = dir.resolve(name);
      if (Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        deleter.discard(path);
      }
      return Files.createDirectories(path);
    }

    @Override
    public void close() throws IOException {
      try {
        lock.release();
      } finally {
        channel.close();
      }
    }
  }
}
