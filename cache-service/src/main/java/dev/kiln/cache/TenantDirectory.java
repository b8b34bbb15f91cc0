package dev.kiln.cache;

import java.util.List;
import java.util.Optional;

/**
 * What the cache-service needs to know about tenants: their private package indexes (with
 * credentials) and their store quota. {@link InMemoryTenantDirectory} is one; the farm feeds one
 * from the {@code kiln.tenants} topic.
 *
 * <p>Called on worker threads (never on an event loop), possibly concurrently: implementations must
 * be thread-safe and should answer from memory.
 */
public interface TenantDirectory {

  /**
   * One private index of a tenant.
   *
   * @param url the index root, e.g. {@code https://pkgs.example.com/simple/}
   * @param username for HTTP Basic auth, or null when the index needs none
   * @param password the plain password (unsealed), or null
   */
  record IndexCredentials(String url, String username, String password) {
    /** Never prints the password. */
    @Override
    public String toString() {
      return "IndexCredentials[url="
          + UrlRedaction.mask(url)
          + ", username="
          + username
          + ", password="
          + (password == null ? "none" : "****")
          + "]";
    }
  }

  /** The tenant's index called {@code name}, or empty when the tenant has none by that name. */
  Optional<IndexCredentials> index(String tenant, String name);

  /** The names of every index the tenant has configured (to find a file after a restart). */
  List<String> indexNames(String tenant);

  /** The most bytes the tenant's own (non-public) blobs may take; {@link Long#MAX_VALUE} = none. */
  long storeQuotaBytes(String tenant);

  /** No tenant has an index, and none has a store quota. */
  static TenantDirectory none() {
    return new TenantDirectory() {
      @Override
      public Optional<IndexCredentials> index(String tenant, String name) {
        return Optional.empty();
      }

      @Override
      public List<String> indexNames(String tenant) {
        return List.of();
      }

      @Override
      public long storeQuotaBytes(String tenant) {
        return Long.MAX_VALUE;
      }
    };
  }
}
