package dev.kiln.coordinator;

import dev.kiln.events.security.Tokens;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * Who may scrape the coordinator's {@code /metrics}: the operator, or Prometheus holding the farm
 * token (the credential every service's {@code /metrics} takes). Never a tenant: the meters name
 * every tenant and count their builds.
 */
final class MetricsAccess {
  private final String operatorTokenSha256;
  private final String farmToken;

  /**
   * @param operatorTokenSha256 null: the operator token is not accepted
   * @param farmToken null: the farm token is not accepted
   */
  MetricsAccess(String operatorTokenSha256, String farmToken) {
    this.operatorTokenSha256 = operatorTokenSha256;
    this.farmToken = farmToken;
  }

  void requireScraper(RoutingContext ctx) {
    String header = ctx.request().getHeader(HttpHeaders.AUTHORIZATION);
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      HttpAnswers.error(
          ctx,
          401,
          "GET /metrics needs Authorization: Bearer <operator or farm token> (Prometheus:"
              + " authorization.credentials_file pointing at <home>/secrets/farm-token)",
          "Authorization");
      return;
    }
    String token = header.substring(7).strip();
    if (accepts(token)) {
      ctx.next();
      return;
    }
    HttpAnswers.error(
        ctx,
        403,
        "GET /metrics is for the operator and the farm's Prometheus (operator or farm token); the"
            + " meters name every tenant, so tenant tokens may not read them",
        "Authorization");
  }

  boolean accepts(String token) {
    if (token.isEmpty()) {
      return false;
    }
    if (operatorTokenSha256 != null && Tokens.matches(token, operatorTokenSha256)) {
      return true;
    }
    return farmToken != null
        && MessageDigest.isEqual(
            token.getBytes(StandardCharsets.UTF_8), farmToken.getBytes(StandardCharsets.UTF_8));
  }
}
