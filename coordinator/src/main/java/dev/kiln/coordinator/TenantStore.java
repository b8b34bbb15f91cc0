package dev.kiln.coordinator;

import dev.kiln.events.Tenant;
import io.vertx.core.Future;

/**
 * Where tenant records are made durable ({@code kiln.tenants}); the registry reflects a change once
 * the returned future succeeds.
 */
interface TenantStore {
  Future<Void> save(Tenant tenant);

  Future<Void> delete(String name);
}
