package dev.kiln.coordinator;

import static dev.kiln.coordinator.HttpAnswers.error;
import static dev.kiln.coordinator.HttpAnswers.json;

import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.EventCodec;
import dev.kiln.events.Quote;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the dashboard polls: {@code GET /v1/farm/builds} (running and recent builds) and {@code GET
 * /v1/farm/summary} (the last hour's figures). The operator sees the whole farm, a tenant's token
 * that tenant only. Both answer from the coordinator's in-memory builds, never from Kafka, so
 * polling every second or two costs little.
 */
final class FarmApi {
  static final int DEFAULT_RECENT = 50;
  static final int MAX_RECENT = 500;

  private final KnownBuilds builds;
  private final Clock clock;

  FarmApi(KnownBuilds builds, Clock clock) {
    this.builds = builds;
    this.clock = clock;
  }

  /** Registered after the {@code /v1/*} authentication, like every other {@code /v1} route. */
  void routes(Router router) {
    router.get("/v1/farm/builds").handler(this::listBuilds);
    router.get("/v1/farm/summary").handler(this::summary);
  }

  /** Null for the operator: every tenant. */
  private static String scope(RoutingContext ctx) {
    Caller caller = CoordinatorApi.caller(ctx);
    return caller.isOperator() ? null : caller.tenant();
  }

  private void listBuilds(RoutingContext ctx) {
    String limitParam = ctx.queryParams().get("limit");
    int limit = DEFAULT_RECENT;
    if (limitParam != null) {
      try {
        limit = Integer.parseInt(limitParam);
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > MAX_RECENT) {
        error(
            ctx,
            400,
            "limit is '" + Quote.safe(limitParam, 20) + "'; use a number from 1 to " + MAX_RECENT,
            "limit");
        return;
      }
    }
    String tenant = scope(ctx);
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("scope", tenant == null ? "farm" : tenant);
    body.put("now", clock.instant());
    body.put("running", rows(builds.unfinished(tenant)));
    body.put("recent", rows(builds.newest(tenant, limit)));
    json(ctx, 200, Buffer.buffer(EventCodec.toJson(body)));
  }

  /** A table row: what the list shows, not the whole snapshot (the detail view fetches that). */
  private static List<Map<String, Object>> rows(List<BuildSnapshot> snapshots) {
    return snapshots.stream().map(FarmApi::row).toList();
  }

  private static Map<String, Object> row(BuildSnapshot build) {
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("buildId", build.buildId());
    row.put("tenant", build.push().tenant());
    row.put("app", build.push().app());
    row.put("ref", build.push().ref());
    row.put("commit", build.push().commit());
    row.put("state", build.state());
    row.put("createdAt", build.createdAt());
    row.put("updatedAt", build.updatedAt());
    if (build.failure() != null) {
      row.put("failureCode", build.failure().code());
    }
    return row;
  }

  private void summary(RoutingContext ctx) {
    String tenant = scope(ctx);
    Instant now = clock.instant();
    FarmSummary summary =
        FarmSummary.of(
            now,
            FarmSummary.LAST_HOUR,
            builds.finishedSince(now.minus(FarmSummary.LAST_HOUR), tenant),
            builds.unfinished(tenant));
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("scope", tenant == null ? "farm" : tenant);
    body.put("now", now);
    body.put("windowMinutes", summary.window().toMinutes());
    body.put("finished", summary.finished());
    body.put("succeeded", summary.succeeded());
    body.put("failed", summary.failed());
    body.put("cancelled", summary.cancelled());
    body.put("buildsPerMinute", summary.buildsPerMinute());
    body.put("installsNeeded", summary.installsNeeded());
    body.put("installsCached", summary.installsCached());
    body.put("cacheHitRatio", summary.cacheHitRatio());
    body.put("running", summary.running());
    body.put("queued", summary.queued());
    json(ctx, 200, Buffer.buffer(EventCodec.toJson(body)));
  }
}
