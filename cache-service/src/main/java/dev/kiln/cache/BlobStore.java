package dev.kiln.cache;

import dev.kiln.events.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Immutable blobs on local disk, named by their SHA-256: {@code <root>/cas/v1/ab/abcdef…}.
 *
 * <p>Blocking code: the HTTP layer calls it on worker threads. A blob becomes visible only after
 * its bytes were hashed, verified and fsynced, through one atomic link, so readers never see a
 * partial blob and a crash leaves at most a stray file in {@code tmp/}.
 */
final class BlobStore {
  static final String LAYOUT_VERSION = "v1";

  private final Path blobRoot;
  private final Path tempDir;

  BlobStore(Path storeRoot) throws IOException {
    this.blobRoot = storeRoot.resolve("cas").resolve(LAYOUT_VERSION);
    // Same file system as the blobs, so the final link/rename is atomic.
    this.tempDir = blobRoot.resolve("tmp");
    Files.createDirectories(tempDir);
  }

  Path pathOf(Digest digest) {
    String hex = digest.hex();
    return blobRoot.resolve(hex.substring(0, 2)).resolve(hex);
  }

  boolean contains(Digest digest) {
    return Files.isRegularFile(pathOf(digest));
  }

  /** The blob's size, or empty when the store does not have it. */
  Optional<Long> size(Digest digest) throws IOException {
    try {
      return Optional.of(Files.size(pathOf(digest)));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  Path tempDir() {
    return tempDir;
  }

  Path newTempFile() throws IOException {
    return Files.createTempFile(tempDir, "incoming-", ".tmp");
  }

  /**
   * Publishes a fully written temp file as blob {@code expected}, consuming the temp file in every
   * outcome.
   *
   * @param actual the digest computed while the temp file was written
   * @return true when the blob is new, false when the store already had it
   * @throws CacheError 400 when {@code actual} differs from {@code expected}
   */
  boolean commit(Path temp, Digest expected, Digest actual) throws IOException {
    try {
      if (!expected.equals(actual)) {
        throw CacheError.badRequest(
            "content does not match its name: the body's sha256 is "
                + actual.hex()
                + " ("
                + Files.size(temp)
                + " bytes) but the URL names "
                + expected.hex()
                + "; nothing was stored. Send exactly the bytes whose SHA-256 is in the URL.");
      }
      Path target = pathOf(expected);
      if (Files.exists(target)) {
        return false;
      }
      try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
        channel.force(true);
      }
      Files.createDirectories(target.getParent());
      boolean created = linkOrMove(temp, target);
      if (created) {
        fsyncDirectory(target.getParent());
      }
      return created;
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  /** Stores {@code content} (small, already in memory) through the same verified path. */
  Digest putBytes(byte[] content) throws IOException {
    Digest digest = Digest.compute(content);
    Path temp = newTempFile();
    Files.write(temp, content);
    commit(temp, digest, digest);
    return digest;
  }

  /** Copies {@code source} over {@code target}, returning the digest of the bytes copied. */
  static Digest copyHashing(Path source, Path target) throws IOException {
    return copyHashing(source, target, Long.MAX_VALUE, null);
  }

  /**
   * Copies at most {@code maxBytes + 1} bytes of {@code source} over {@code target}, so a caller
   * expecting at most {@code maxBytes} sees a longer source without copying all of it.
   *
   * @param alsoHash fed the same bytes, or null
   * @return the digest of the bytes copied
   */
  static Digest copyHashing(Path source, Path target, long maxBytes, MessageDigest alsoHash)
      throws IOException {
    MessageDigest sha256 = Digest.newSha256();
    try (InputStream in = new DigestInputStream(Files.newInputStream(source), sha256);
        OutputStream out = Files.newOutputStream(target)) {
      byte[] buffer = new byte[64 * 1024];
      long left = maxBytes == Long.MAX_VALUE ? Long.MAX_VALUE : maxBytes + 1;
      for (int read;
          left > 0 && (read = in.read(buffer, 0, (int) Math.min(buffer.length, left))) != -1; ) {
        out.write(buffer, 0, read);
        if (alsoHash != null) {
          alsoHash.update(buffer, 0, read);
        }
        left -= read;
      }
    }
    return Digest.fromSha256(sha256);
  }

  /** Removes temp files a crashed process left behind; younger ones may still be in use. */
  int removeTempFilesOlderThan(Duration age) throws IOException {
    return removeFilesOlderThan(tempDir, age);
  }

  static int removeFilesOlderThan(Path directory, Duration age) throws IOException {
    Instant cutoff = Instant.now().minus(age);
    int removed = 0;
    try (Stream<Path> temps = Files.list(directory)) {
      for (Path temp : (Iterable<Path>) temps::iterator) {
        if (Files.getLastModifiedTime(temp).toInstant().isBefore(cutoff)
            && Files.deleteIfExists(temp)) {
          removed++;
        }
      }
    }
    return removed;
  }

  /**
   * A hard link fails if the target exists, so of two identical concurrent uploads exactly one
   * reports "created"; where links are unsupported an atomic rename gives the same bytes.
   */
  private static boolean linkOrMove(Path temp, Path target) throws IOException {
    try {
      Files.createLink(target, temp);
      return true;
    } catch (FileAlreadyExistsException e) {
      return false;
    } catch (UnsupportedOperationException | IOException linkUnsupported) {
      if (Files.exists(target)) {
        return false;
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
      return true;
    }
  }

  static void fsyncDirectory(Path directory) {
    try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
      channel.force(true);
    } catch (IOException e) {
      // Some file systems refuse to open directories; the blob itself is already durable.
    }
  }
}
