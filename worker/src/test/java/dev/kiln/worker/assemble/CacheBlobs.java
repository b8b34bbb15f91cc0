package dev.kiln.worker.assemble;

import dev.kiln.events.Digest;
import dev.kiln.worker.testsupport.CacheServiceFixture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Stores test blobs in the real cache-service, as INSTALL does. */
final class CacheBlobs {
  private CacheBlobs() {}

  static Digest put(CacheServiceFixture cache, byte[] blob, Path scratch) throws IOException {
    Path file = Files.createTempFile(Files.createDirectories(scratch), "blob-", ".tar");
    Files.write(file, blob);
    try {
      return cache.client().putBlob(file);
    } finally {
      Files.delete(file);
    }
  }
}
