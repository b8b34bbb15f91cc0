package dev.kiln.coordinator;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** JSON answers of the coordinator API; every error names what was wrong and how to fix it. */
final class HttpAnswers {
  private static final Logger LOG = LoggerFactory.getLogger(HttpAnswers.class);

  private HttpAnswers() {}

  static void error(RoutingContext ctx, int status, String message, String field) {
    error(ctx, status, message, field, null);
  }

  static void error(RoutingContext ctx, int status, String message, String field, String code) {
    JsonObject body = new JsonObject().put("error", message);
    if (field != null) {
      body.put("field", field);
    }
    if (code != null) {
      body.put("code", code);
    }
    json(ctx, status, body.toBuffer());
  }

  static void json(RoutingContext ctx, int status, Buffer body) {
    if (ctx.response().ended()) {
      return;
    }
    ctx.response()
        .setStatusCode(status)
        .putHeader("Content-Type", "application/json")
        .end(body)
        .onFailure(e -> LOG.debug("could not answer {}: {}", ctx.request().path(), e.toString()));
  }
}
