package dev.kiln.observability;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code GET /metrics}: a service's meters in the Prometheus text format. Who may read it is the
 * service's own check, made before this handler runs (meters name tenants and apps).
 */
public final class MetricsEndpoint {
  public static final String PATH = "/metrics";

  private MetricsEndpoint() {}

  public static Handler<RoutingContext> handler(ServiceMetrics metrics) {
    return ctx ->
        ctx.vertx()
            // Gauges read live state (store sizes, consumer lag), so the scrape runs off the loop.
            .executeBlocking(metrics::scrape, false)
            .onSuccess(
                text ->
                    ctx.response()
                        .putHeader(HttpHeaders.CONTENT_TYPE, ServiceMetrics.CONTENT_TYPE)
                        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
                        .end(text))
            .onFailure(ctx::fail);
  }
}
