package dev.kiln.worker.sandbox;

import java.net.URI;
import java.util.Objects;

/**
 * How the sandbox's relay reaches the package index: the cache-service, the farm credential the
 * relay adds to every request (the sandbox itself never sees it) and the tenant the build runs for,
 * which decides what the cache-service lets it read (the public index, and that tenant's own
 * private indexes under {@code /tenants/<tenant>/}).
 *
 * @param farmToken null for a cache-service without authentication (unit tests of the sandbox)
 * @param tenant null for work done for no tenant (a runtime check): the public index only
 */
public record IndexAccess(URI cacheService, String farmToken, String tenant) {
  public IndexAccess {
    Objects.requireNonNull(cacheService, "cacheService");
  }

  /** The public index of a cache-service that needs no credential. */
  public static IndexAccess anonymous(URI cacheService) {
    return new IndexAccess(cacheService, null, null);
  }

  public IndexAccess forTenant(String newTenant) {
    return new IndexAccess(cacheService, farmToken, newTenant);
  }

  /** The path prefix of the tenant's own indexes and files, or null without a tenant. */
  String tenantPrefix() {
    return tenant == null ? null : "/tenants/" + tenant + "/";
  }

  @Override
  public String toString() {
    // The token is a farm secret: never in a log line or an exception message.
    return "IndexAccess[" + cacheService + (tenant == null ? "" : ", tenant " + tenant) + "]";
  }
}
