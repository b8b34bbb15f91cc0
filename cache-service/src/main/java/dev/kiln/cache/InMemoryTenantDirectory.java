package dev.kiln.cache;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A {@link TenantDirectory} kept in memory and changed through its setters: for tests, and as the
 * store behind a directory fed from the {@code kiln.tenants} topic.
 */
public final class InMemoryTenantDirectory implements TenantDirectory {
  /** The issue-8 default for {@code quotas.storeBytes}: 20 GiB. */
  public static final long DEFAULT_STORE_QUOTA_BYTES = 20L << 30;

  private final Map<String, Map<String, IndexCredentials>> indexes = new ConcurrentHashMap<>();
  private final Map<String, Long> storeQuotas = new ConcurrentHashMap<>();
  private final long defaultStoreQuotaBytes;

  public InMemoryTenantDirectory() {
    this(DEFAULT_STORE_QUOTA_BYTES);
  }

  /**
   * @param defaultStoreQuotaBytes the quota of a tenant given none
   */
  public InMemoryTenantDirectory(long defaultStoreQuotaBytes) {
    this.defaultStoreQuotaBytes = defaultStoreQuotaBytes;
  }

  public InMemoryTenantDirectory putIndex(String tenant, String name, IndexCredentials index) {
    indexes.computeIfAbsent(tenant, t -> new ConcurrentHashMap<>()).put(name, index);
    return this;
  }

  public InMemoryTenantDirectory removeIndex(String tenant, String name) {
    Map<String, IndexCredentials> ofTenant = indexes.get(tenant);
    if (ofTenant != null) {
      ofTenant.remove(name);
    }
    return this;
  }

  public InMemoryTenantDirectory setStoreQuota(String tenant, long bytes) {
    storeQuotas.put(tenant, bytes);
    return this;
  }

  /** Forgets the tenant (a deleted tenant): its indexes go, its quota returns to the default. */
  public InMemoryTenantDirectory removeTenant(String tenant) {
    indexes.remove(tenant);
    storeQuotas.remove(tenant);
    return this;
  }

  @Override
  public Optional<IndexCredentials> index(String tenant, String name) {
    return Optional.ofNullable(indexes.getOrDefault(tenant, Map.of()).get(name));
  }

  @Override
  public List<String> indexNames(String tenant) {
    return List.copyOf(indexes.getOrDefault(tenant, Map.of()).keySet());
  }

  @Override
  public long storeQuotaBytes(String tenant) {
    return storeQuotas.getOrDefault(tenant, defaultStoreQuotaBytes);
  }
}
