package dev.kiln.observability;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Objects;

/**
 * An HTTP listener with only {@code GET /metrics} and {@code GET /health}, for a service that
 * serves nothing else over HTTP (a worker node). {@code /metrics} needs {@code Authorization:
 * Bearer <farm token>}, as on every other service.
 */
public final class MetricsServer extends VerticleBase {
  private final ServiceMetrics metrics;
  private final String host;
  private final int port;
  private final String farmToken;
  private HttpServer server;

  /**
   * @param port 0 picks a free one (see {@link #actualPort()})
   * @param farmToken the token a scraper must send; null: none asked (an unsecured farm)
   */
  public MetricsServer(ServiceMetrics metrics, String host, int port, String farmToken) {
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.host = Objects.requireNonNull(host, "host");
    this.port = port;
    this.farmToken = farmToken;
  }

  @Override
  public Future<?> start() {
    Router router = Router.router(vertx);
    router
        .get("/health")
        .handler(
            ctx ->
                ctx.response()
                    .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                    .end("{\"status\":\"UP\",\"service\":\"" + metrics.service() + "\"}"));
    router.get(MetricsEndpoint.PATH).handler(this::requireFarmToken);
    router.get(MetricsEndpoint.PATH).handler(MetricsEndpoint.handler(metrics));
    router
        .route()
        .handler(
            ctx ->
                ctx.response()
                    .setStatusCode(404)
                    .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
                    .end(
                        "the "
                            + metrics.service()
                            + " serves only GET /metrics (farm token) and GET /health\n"));
    return vertx
        .createHttpServer(new HttpServerOptions().setHost(host).setPort(port))
        .requestHandler(router)
        .listen()
        .onSuccess(listening -> server = listening);
  }

  private void requireFarmToken(RoutingContext ctx) {
    if (farmToken == null) {
      ctx.next();
      return;
    }
    String header = ctx.request().getHeader(HttpHeaders.AUTHORIZATION);
    String token =
        header != null && header.regionMatches(true, 0, "Bearer ", 0, 7)
            ? header.substring(7).strip()
            : null;
    if (token == null || token.isEmpty()) {
      refuse(ctx, 401, "GET /metrics needs Authorization: Bearer <farm token>");
    } else if (!MessageDigest.isEqual(
        token.getBytes(StandardCharsets.UTF_8), farmToken.getBytes(StandardCharsets.UTF_8))) {
      refuse(
          ctx,
          403,
          "the bearer token is not this farm's token; scrape /metrics with the farm token"
              + " (<home>/secrets/farm-token)");
    } else {
      ctx.next();
    }
  }

  private static void refuse(RoutingContext ctx, int status, String message) {
    ctx.response()
        .setStatusCode(status)
        .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
        .end(message + "\n");
  }

  /** The port it listens on (the one picked when 0 was asked), once started. */
  public int actualPort() {
    if (server == null) {
      throw new IllegalStateException("the metrics server is not listening yet; deploy it first");
    }
    return server.actualPort();
  }

  @Override
  public Future<?> stop() {
    return server == null ? Future.succeededFuture() : server.close();
  }
}
