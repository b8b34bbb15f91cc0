package dev.kiln.coordinator;

import dev.kiln.events.Tenant;
import dev.kiln.events.security.Tokens;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The farm's tenants: the coordinator's in-memory copy of the compacted {@code kiln.tenants} topic,
 * with an index from token hash to tenant so a request is authenticated without a scan. Used from
 * the verticle's event loop only.
 */
final class TenantRegistry {
  private final Map<String, Tenant> byName = new TreeMap<>();
  private final Map<String, String> tenantByTokenHash = new HashMap<>();

  /** Replaces a tenant's record; null deletes it (a tombstone). */
  void apply(String name, Tenant tenant) {
    Tenant previous = tenant == null ? byName.remove(name) : byName.put(name, tenant);
    if (previous != null) {
      previous.tokens().forEach(t -> tenantByTokenHash.remove(t.sha256()));
    }
    if (tenant != null) {
      tenant.tokens().forEach(t -> tenantByTokenHash.put(t.sha256(), name));
    }
  }

  /**
   * Applies a record read from the topic unless this registry already holds a newer one (this
   * coordinator applies its own writes when Kafka acknowledges them, before it reads them back).
   */
  void applyIfNotOlder(String name, Tenant tenant) {
    Tenant current = byName.get(name);
    if (tenant != null
        && current != null
        && current.updatedAt() != null
        && tenant.updatedAt() != null
        && tenant.updatedAt().isBefore(current.updatedAt())) {
      return;
    }
    apply(name, tenant);
  }

  Optional<Tenant> get(String name) {
    return Optional.ofNullable(byName.get(name));
  }

  boolean exists(String name) {
    return byName.containsKey(name);
  }

  /** Every tenant, by name. */
  Collection<Tenant> all() {
    return List.copyOf(byName.values());
  }

  int size() {
    return byName.size();
  }

  /** The tenant a token belongs to, compared by hash in constant time. */
  Optional<String> tenantOf(String token) {
    if (!Tokens.looksLike(Tokens.Kind.TENANT, token)) {
      return Optional.empty();
    }
    String hash = Tokens.sha256Hex(token);
    String name = tenantByTokenHash.get(hash);
    if (name == null) {
      return Optional.empty();
    }
    Tenant tenant = byName.get(name);
    boolean matches =
        tenant != null && tenant.tokens().stream().anyMatch(t -> Tokens.matches(token, t.sha256()));
    return matches ? Optional.of(name) : Optional.empty();
  }
}
