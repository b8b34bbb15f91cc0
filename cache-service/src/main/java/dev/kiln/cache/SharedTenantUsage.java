package dev.kiln.cache;

import dev.kiln.events.Digest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tenants' bytes in a shared object store, for their store quotas. Every blob charged to a tenant
 * leaves a usage marker {@code usage/v1/<tenant>/<sha256>.<size>} (empty; the size is in the key,
 * so one listing of the tenant's prefix sums its bytes). Each replica keeps the sum per tenant,
 * listed again when older than {@code refreshAfter} and counted up by its own charges in between:
 * what other replicas charged meanwhile is seen at the next listing, so all replicas together can
 * overshoot a quota by what they store for that tenant within one refresh interval.
 *
 * <p>Markers are never deleted by Kiln: the bucket's lifecycle rule that ages out {@code cas/} ages
 * out {@code usage/} the same way (docs/cache-service.md), so a tenant's usage follows what the
 * bucket keeps. A blob that later becomes public stays charged until its marker ages out.
 */
final class SharedTenantUsage {
  static final String PREFIX = "usage/v1/";

  private record Known(long bytes, Instant listedAt) {}

  private final ObjectStore store;
  private final Duration refreshAfter;
  private final Clock clock;
  private final Map<String, Known> known = new ConcurrentHashMap<>();
  // One lock per tenant: a check and its charge are one step for that tenant, while other
  // tenants' uploads (and their store requests) go on in parallel.
  private final Map<String, Object> locks = new ConcurrentHashMap<>();

  SharedTenantUsage(ObjectStore store, Duration refreshAfter, Clock clock) {
    this.store = store;
    this.refreshAfter = refreshAfter;
    this.clock = clock;
  }

  static String markerKey(String tenant, Digest digest, long size) {
    return PREFIX + tenant + "/" + digest.hex() + "." + size;
  }

  /**
   * Charges {@code size} bytes of {@code digest} to {@code tenant} if they fit in {@code quota}:
   * writes the marker and counts it. Checking and counting are one step per replica.
   *
   * @return the tenant's bytes before this blob when it does not fit (nothing is written), or empty
   *     when it was charged
   */
  Optional<Long> charge(String tenant, Digest digest, long size, long quota) {
    synchronized (lockOf(tenant)) {
      long used = bytesOf(tenant);
      if (used + size > quota) {
        return Optional.of(used);
      }
      store.write(markerKey(tenant, digest, size), new byte[0]);
      known.put(tenant, new Known(used + size, known.get(tenant).listedAt()));
      return Optional.empty();
    }
  }

  /** The tenant's bytes: listed from the store when not known or older than the refresh. */
  long bytesOf(String tenant) {
    synchronized (lockOf(tenant)) {
      Known current = known.get(tenant);
      Instant now = clock.instant();
      if (current == null || !now.isBefore(current.listedAt().plus(refreshAfter))) {
        current = new Known(listedBytes(tenant), now);
        known.put(tenant, current);
      }
      return current.bytes();
    }
  }

  private Object lockOf(String tenant) {
    return locks.computeIfAbsent(tenant, t -> new Object());
  }

  private long listedBytes(String tenant) {
    long total = 0;
    for (String key : store.list(PREFIX + tenant + "/")) {
      int dot = key.lastIndexOf('.');
      if (dot < 0) {
        continue; // not a marker of ours
      }
      try {
        total += Long.parseLong(key.substring(dot + 1));
      } catch (NumberFormatException notOurs) {
        // not a marker of ours
      }
    }
    return total;
  }
}
