package dev.kiln.cache;

import dev.kiln.events.Quote;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Who a write makes a blob or action result readable for: everyone ({@link #PUBLIC}), or one
 * tenant. Pure logic.
 *
 * @param tenant the owning tenant, or null for public
 */
record BlobScope(String tenant) {
  static final BlobScope PUBLIC = new BlobScope(null);

  /** Tenant names as the coordinator accepts them: DNS-label style (see {@code Check.name}). */
  private static final Pattern TENANT_NAME = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");

  static final String SCOPE_HEADER = "X-Kiln-Scope";
  static final String TENANT_HEADER = "X-Kiln-Tenant";

  BlobScope {
    if (tenant != null) {
      requireTenantName(tenant);
    }
  }

  static BlobScope tenant(String tenant) {
    return new BlobScope(tenant);
  }

  boolean isPublic() {
    return tenant == null;
  }

  static boolean isTenantName(String value) {
    return value != null && TENANT_NAME.matcher(value).matches();
  }

  static String requireTenantName(String value) {
    if (!isTenantName(value)) {
      throw CacheError.badRequest(
          "'"
              + Quote.safe(String.valueOf(value), 80)
              + "' is not a tenant name: use 1-63 lowercase letters, digits and '-', starting and"
              + " ending with a letter or digit, e.g. "
              + TENANT_HEADER
              + ": acme");
    }
    return value;
  }

  /**
   * The scope a {@code PUT} asks for.
   *
   * @param scopeHeader the {@value #SCOPE_HEADER} header ({@code public} or {@code tenant})
   * @param tenant the validated {@value #TENANT_HEADER}, or null when the request has none
   * @param what the request, for messages, e.g. {@code PUT /cas/ab…}
   */
  static BlobScope fromHeaders(String scopeHeader, String tenant, String what) {
    String scope = scopeHeader == null ? "" : scopeHeader.strip().toLowerCase(Locale.ROOT);
    switch (scope) {
      case "public":
        return PUBLIC;
      case "tenant":
        if (tenant == null) {
          throw CacheError.badRequest(
              what
                  + " asks for "
                  + SCOPE_HEADER
                  + ": tenant but names no tenant; send "
                  + TENANT_HEADER
                  + ": <tenant> with it (the tenant the blob belongs to)");
        }
        return tenant(tenant);
      default:
        throw CacheError.badRequest(
            what
                + " needs "
                + SCOPE_HEADER
                + ": public (readable on behalf of every tenant: built only from public inputs) or "
                + SCOPE_HEADER
                + ": tenant (readable only on behalf of "
                + TENANT_HEADER
                + "); got "
                + (scopeHeader == null ? "none" : "'" + Quote.safe(scopeHeader, 40) + "'"));
    }
  }

  @Override
  public String toString() {
    return isPublic() ? "public" : "tenant '" + tenant + "'";
  }
}
