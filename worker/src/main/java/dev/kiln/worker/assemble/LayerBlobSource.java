package dev.kiln.worker.assemble;

import dev.kiln.cache.client.CacheServiceClient;
import dev.kiln.cache.client.CacheServiceClientException;
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

  /** {@code GET {cacheUrl}/cas/{hex}} through {@link CacheServiceClient#getBlob}. */
  static LayerBlobSource cacheService(String cacheUrl) {
    return cacheService(new CacheServiceClient(cacheUrl));
  }

  /** The same through an existing client. */
  static LayerBlobSource cacheService(CacheServiceClient client) {
    return new LayerBlobSource() {
      @Override
      public boolean download(Digest blob, Path destination) throws IOException {
        try {
          return client.getBlob(blob, destination).isPresent();
        } catch (CacheServiceClientException e) {
          // Unreachable, refused or corrupt: all mean the layer cannot be had right now, which
          // MaterializedLayers reports as an I/O failure naming this source.
          throw new IOException(e.getMessage(), e);
        }
      }

      @Override
      public String toString() {
        return "cache-service at " + client.baseUrl();
      }
    };
  }
}
