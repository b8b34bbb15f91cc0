package dev.kiln.worker.assemble;

import dev.kiln.events.Digest;
import java.io.IOException;
import java.nio.file.Path;

/** Where dependency-layer tars come from: the cache-service's content-addressed store. */
@FunctionalInterface
public interface LayerBlobSource {
  /**
   * Downloads {@code blob} to {@code destination}, replacing it, and verifies its SHA-256.
   *
   * @return false when the store does not have the blob
   * @throws IOException when the store cannot be reached or sent something else
   */
  boolean download(Digest blob, Path destination) throws IOException;

  /** {@code GET {cacheUrl}/cas/{hex}} over plain JDK HTTP. */
  static LayerBlobSource cacheService(String cacheUrl) {
    return new CasHttpBlobSource(cacheUrl);
  }
}
