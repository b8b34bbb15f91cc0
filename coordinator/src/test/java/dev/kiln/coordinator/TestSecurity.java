package dev.kiln.coordinator;

import dev.kiln.events.Tenant;
import dev.kiln.events.security.SecretBox;
import dev.kiln.events.security.Tokens;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/** The credentials and tenants every coordinator test runs with: auth is always on. */
final class TestSecurity {
  static final String OPERATOR_TOKEN = Tokens.newToken(Tokens.Kind.OPERATOR);
  static final String SECRET_KEY = SecretBox.newKeyBase64();

  /** The farm's file:// root; {@link Fixtures#push} repositories live under it per tenant. */
  static final Path SOURCE_ROOT = Path.of("/srv/git");

  static final String ACME_TOKEN = Tokens.newToken(Tokens.Kind.TENANT);
  static final String GLOBEX_TOKEN = Tokens.newToken(Tokens.Kind.TENANT);

  private TestSecurity() {}

  static CoordinatorConfig secured(CoordinatorConfig config) {
    return config
        .withSecurity(Tokens.sha256Hex(OPERATOR_TOKEN), SECRET_KEY)
        .withSourceRoot(SOURCE_ROOT);
  }

  static Tenant tenant(String name, String token, Tenant.Quotas quotas) {
    Instant now = Instant.parse("2025-01-01T00:00:00Z");
    return new Tenant(
        name,
        List.of(new Tenant.TokenHash("tok-1", Tokens.sha256Hex(token), now)),
        List.of(),
        List.of(),
        quotas,
        now,
        now);
  }

  /** The tenants the fixtures push for: acme and globex, default quotas. */
  static List<Tenant> standardTenants() {
    return List.of(
        tenant("acme", ACME_TOKEN, Tenant.Quotas.DEFAULTS),
        tenant("globex", GLOBEX_TOKEN, Tenant.Quotas.DEFAULTS));
  }
}
