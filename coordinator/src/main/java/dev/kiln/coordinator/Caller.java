package dev.kiln.coordinator;

import dev.kiln.events.security.Tokens;
import java.util.Optional;

/**
 * Who sent an API request: the operator (sees and does everything) or one tenant (only its own
 * builds and settings).
 *
 * @param tenant the tenant, or null for the operator
 */
record Caller(String tenant) {
  static final Caller OPERATOR = new Caller(null);

  boolean isOperator() {
    return tenant == null;
  }

  boolean mayActFor(String tenantName) {
    return isOperator() || tenant.equals(tenantName);
  }

  String describe() {
    return isOperator() ? "the operator" : "tenant " + tenant;
  }

  /**
   * The caller a bearer token stands for, if any.
   *
   * @param operatorTokenSha256 null when the farm has no operator token
   */
  static Optional<Caller> authenticate(
      String authorization, String operatorTokenSha256, TenantRegistry tenants) {
    if (authorization == null) {
      return Optional.empty();
    }
    String value = authorization.strip();
    if (value.length() < 7 || !value.substring(0, 7).equalsIgnoreCase("Bearer ")) {
      return Optional.empty();
    }
    String token = value.substring(7).strip();
    if (operatorTokenSha256 != null && Tokens.matches(token, operatorTokenSha256)) {
      return Optional.of(OPERATOR);
    }
    return tenants.tenantOf(token).map(Caller::new);
  }
}
