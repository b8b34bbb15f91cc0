package dev.kiln.coordinator;

import static dev.kiln.coordinator.HttpAnswers.error;
import static dev.kiln.coordinator.HttpAnswers.json;

import dev.kiln.events.BuildIds;
import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.EventCodec;
import dev.kiln.events.InvalidEventException;
import dev.kiln.events.PushEvent;
import dev.kiln.events.Quote;
import dev.kiln.events.Tenant;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's HTTP API: accept pushes (webhooks, {@code kiln push}), report builds and manage
 * tenants. Every answer is JSON; every error names what was wrong and how to fix it.
 *
 * <p>Every endpoint but {@code GET /health} and the dashboard's static files needs {@code
 * Authorization: Bearer <token>}: the operator's token acts on everything, a tenant's token on that
 * tenant only. A build of another tenant answers 404 as if it did not exist; listing or pushing for
 * another tenant answers 403. Secret-looking variables of a push are masked in every answer.
 */
final class CoordinatorApi {
  private static final Logger LOG = LoggerFactory.getLogger(CoordinatorApi.class);

  /**
   * A push is a few hundred bytes; this leaves room for large app specs and stays far below Kafka's
   * 1 MB records.
   */
  static final long MAX_PUSH_BYTES = 256 * 1024;

  static final int DEFAULT_LIST_LIMIT = 100;
  static final int MAX_LIST_LIMIT = 1000;

  /** Where an accepted push goes: {@code kiln.push}, acknowledged by Kafka. */
  interface PushSink {
    Future<Void> submit(PushEvent push);
  }

  private static final String CALLER = "kiln.caller";

  /**
   * Who may call and what a push must satisfy.
   *
   * @param operatorTokenSha256 null: no operator token is accepted
   * @param autoCreateTenants an operator's push for an unknown tenant creates it
   */
  record Security(
      String operatorTokenSha256,
      TenantRegistry tenants,
      TenantsApi tenantsApi,
      SourcePolicy sources,
      boolean autoCreateTenants) {}

  private final Vertx vertx;
  private final KnownBuilds builds;
  private final BooleanSupplier restored;
  private final Supplier<String> haltedBecause;
  private final PushSink pushes;
  private final Security security;

  CoordinatorApi(
      Vertx vertx,
      KnownBuilds builds,
      BooleanSupplier restored,
      Supplier<String> haltedBecause,
      PushSink pushes,
      Security security) {
    this.vertx = vertx;
    this.builds = builds;
    this.restored = restored;
    this.haltedBecause = haltedBecause;
    this.pushes = pushes;
    this.security = security;
  }

  /** The authenticated caller of a request that passed {@link #authenticate}. */
  static Caller caller(RoutingContext ctx) {
    return ctx.get(CALLER);
  }

  Router router() {
    Router router = Router.router(vertx);
    router.get("/health").handler(this::health);
    // The page and its script hold no data: served to anyone, it asks for a token itself.
    DashboardPage.load().routes(router);
    // Before the bearer-token check: a forge authenticates with the link's secret instead.
    new WebhooksApi(this, security.tenants(), security.tenantsApi())
        .routes(router, this::requireRestored);
    // Restored first: tenant tokens can only be checked once kiln.tenants has been read.
    router.route("/v1/*").handler(this::requireRestored).handler(this::authenticate);
    router.post("/v1/pushes").handler(BodyHandler.create(false).setBodyLimit(MAX_PUSH_BYTES));
    router.post("/v1/pushes").handler(this::postPush);
    router.get("/v1/builds/:id").handler(this::getBuild);
    router.get("/v1/builds").handler(this::listBuilds);
    new FarmApi(builds, java.time.Clock.systemUTC()).routes(router);
    security.tenantsApi().routes(router);

    router.errorHandler(
        404,
        ctx ->
            error(
                ctx,
                404,
                "no such endpoint: "
                    + ctx.request().method()
                    + " "
                    + Quote.safe(ctx.request().path(), 200)
                    + "; the API has POST /v1/pushes, GET /v1/builds/{id}, GET /v1/builds/{id}/log,"
                    + " GET /v1/builds?tenant=…,"
                    + " GET /v1/farm/builds, GET /v1/farm/summary, /v1/tenants…,"
                    + " POST /v1/webhooks/{forge}/{tenant}/{app}, GET /health and the dashboard"
                    + " at GET /dashboard",
                null));
    router.errorHandler(
        405,
        ctx ->
            error(
                ctx,
                405,
                ctx.request().method()
                    + " is not allowed on "
                    + Quote.safe(ctx.request().path(), 200),
                null));
    router.errorHandler(
        413,
        ctx -> {
          if (ctx.request().path().startsWith(WebhooksApi.PATH_PREFIX)) {
            WebhooksApi.tooLarge(ctx);
            return;
          }
          error(
              ctx,
              413,
              "the request body is larger than "
                  + MAX_PUSH_BYTES
                  + " bytes; a push event is a small JSON"
                  + " object",
              "body");
        });
    router.errorHandler(
        500,
        ctx -> {
          LOG.error(
              "HTTP {} {} failed", ctx.request().method(), ctx.request().path(), ctx.failure());
          error(ctx, 500, "internal error: " + ctx.failure(), null);
        });
    return router;
  }

  private void health(RoutingContext ctx) {
    String halted = haltedBecause.get();
    if (halted != null) {
      json(
          ctx,
          503,
          new JsonObject()
              .put("status", "DOWN")
              .put("reason", "stopped consuming (" + halted + "); restart the coordinator")
              .toBuffer());
      return;
    }
    boolean up = restored.getAsBoolean();
    JsonObject body = new JsonObject().put("status", up ? "UP" : "RESTORING");
    if (up) {
      body.put("builds", builds.size());
    }
    json(ctx, up ? 200 : 503, body.toBuffer());
  }

  private void requireRestored(RoutingContext ctx) {
    String halted = haltedBecause.get();
    if (halted != null) {
      // Answering from a state nobody updates would show builds that moved on as stuck.
      error(
          ctx,
          503,
          "this coordinator stopped consuming ("
              + halted
              + ") and must be restarted; its builds resume where they were",
          null);
      return;
    }
    if (restored.getAsBoolean()) {
      ctx.next();
      return;
    }
    ctx.response().putHeader("Retry-After", "1");
    error(
        ctx,
        503,
        "the coordinator is still restoring build state from kiln.builds; retry in a moment",
        null);
  }

  private void authenticate(RoutingContext ctx) {
    Optional<Caller> caller =
        Caller.authenticate(
            ctx.request().getHeader("Authorization"),
            security.operatorTokenSha256(),
            security.tenants());
    if (caller.isEmpty()) {
      ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"kiln\"");
      error(
          ctx,
          401,
          ctx.request().getHeader("Authorization") == null
              ? "this endpoint needs Authorization: Bearer <token>; `kiln` sends the operator"
                  + " token from <home>/secrets/operator-token, or pass --token / KILN_TOKEN"
              : "the bearer token is not valid (unknown, revoked or mistyped); ask the operator for"
                  + " a token (`kiln tenants token <tenant>`)",
          "Authorization");
      return;
    }
    ctx.put(CALLER, caller.get());
    ctx.next();
  }

  private void postPush(RoutingContext ctx) {
    String contentType = ctx.request().getHeader("Content-Type");
    if (contentType != null
        && !contentType.toLowerCase(java.util.Locale.ROOT).startsWith("application/json")) {
      error(
          ctx,
          415,
          "Content-Type is '"
              + Quote.safe(contentType, 80)
              + "'; send the push as application/json",
          "Content-Type");
      return;
    }
    PushEvent push;
    try {
      Buffer body = ctx.body().buffer();
      push = EventCodec.fromJson(body == null ? new byte[0] : body.getBytes(), PushEvent.class);
    } catch (InvalidEventException e) {
      error(ctx, 400, e.getMessage(), e.field());
      return;
    }
    Caller caller = caller(ctx);
    if (!caller.mayActFor(push.tenant())) {
      error(
          ctx,
          403,
          caller.describe() + " may push only for itself, not for tenant " + push.tenant(),
          "tenant");
      return;
    }
    Optional<Tenant> tenant = security.tenants().get(push.tenant());
    if (tenant.isEmpty() && caller.isOperator() && security.autoCreateTenants()) {
      security
          .tenantsApi()
          .createImplicitly(push.tenant())
          .onSuccess(created -> admit(ctx, push, created))
          .onFailure(
              e ->
                  error(
                      ctx,
                      503,
                      "tenant "
                          + push.tenant()
                          + " could not be created ("
                          + e.getMessage()
                          + "); nothing was accepted, send the push again",
                      null));
      return;
    }
    if (tenant.isEmpty()) {
      var unknown = SourcePolicy.unknownTenant(push.tenant());
      error(ctx, 403, unknown.message(), "tenant", unknown.code());
      return;
    }
    admit(ctx, push, tenant.get());
  }

  /**
   * What {@link #admitPush} answers: a status, a JSON body and headers ({@code Location}, {@code
   * Retry-After}).
   */
  record PushAnswer(int status, JsonObject body, Map<String, String> headers) {
    static PushAnswer error(int status, String message, String field, String code) {
      JsonObject body = new JsonObject().put("error", message);
      if (field != null) {
        body.put("field", field);
      }
      if (code != null) {
        body.put("code", code);
      }
      return new PushAnswer(status, body, Map.of());
    }

    boolean accepted() {
      return status / 100 == 2;
    }

    void send(RoutingContext ctx) {
      headers.forEach((name, value) -> ctx.response().putHeader(name, value));
      json(ctx, status, body.toBuffer());
    }
  }

  /**
   * The checks a push of a known tenant must pass, then Kafka: the one way into {@code kiln.push}
   * for {@code POST /v1/pushes} and forge webhooks alike, so sources and quotas hold for both.
   */
  Future<PushAnswer> admitPush(PushEvent push, Tenant tenant) {
    String buildId = push.buildId();
    PushChecks.Verdict verdict = PushChecks.check(push, tenant, security.sources(), builds);
    if (verdict instanceof PushChecks.Verdict.Refused refused && !refused.queueFull()) {
      return Future.succeededFuture(
          PushAnswer.error(403, refused.why().message(), "repoUrl", refused.why().code()));
    }
    if (verdict instanceof PushChecks.Verdict.Known known) {
      return Future.succeededFuture(
          new PushAnswer(
              200,
              new JsonObject()
                  .put("buildId", buildId)
                  .put("status", "duplicate")
                  .put("state", known.build().state().name()),
              Map.of()));
    }
    if (verdict instanceof PushChecks.Verdict.Refused full) {
      PushAnswer answer = PushAnswer.error(429, full.why().message(), null, full.why().code());
      return Future.succeededFuture(
          new PushAnswer(answer.status(), answer.body(), Map.of("Retry-After", "30")));
    }
    return pushes
        .submit(push)
        .map(
            ignored ->
                new PushAnswer(
                    202,
                    new JsonObject().put("buildId", buildId).put("status", "accepted"),
                    Map.of("Location", "/v1/builds/" + buildId)))
        .recover(
            e -> {
              LOG.warn("could not publish push for {}: {}", buildId, e.toString());
              return Future.succeededFuture(
                  PushAnswer.error(
                      503,
                      "the push could not be written to Kafka ("
                          + e.getMessage()
                          + "); nothing was accepted, send it again",
                      null,
                      null));
            });
  }

  private void admit(RoutingContext ctx, PushEvent push, Tenant tenant) {
    admitPush(push, tenant).onSuccess(answer -> answer.send(ctx));
  }

  private void getBuild(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    if (!BuildIds.isValid(id)) {
      error(
          ctx,
          400,
          "'"
              + Quote.safe(id, 60)
              + "' is not a build id; build ids look like b-<20 hex digits>,"
              + " as returned by POST /v1/pushes",
          "id");
      return;
    }
    // Another tenant's build answers exactly like one that does not exist.
    Optional<BuildSnapshot> snapshot =
        builds.get(id).filter(s -> caller(ctx).mayActFor(s.push().tenant()));
    if (snapshot.isEmpty()) {
      error(
          ctx,
          404,
          "build "
              + id
              + " is unknown; it was never pushed, or its push is still queued in"
              + " kiln.push",
          "id");
      return;
    }
    com.fasterxml.jackson.databind.node.ObjectNode body =
        EventCodec.mapper().valueToTree(BuildView.masked(snapshot.get()));
    if (snapshot.get().state() == dev.kiln.events.BuildState.QUEUED) {
      // Where it waits among its own tenant's waiting builds: only they can start before it.
      List<BuildSnapshot> waiting = builds.queued(snapshot.get().push().tenant());
      body.put("queuePosition", waiting.indexOf(snapshot.get()) + 1);
      body.put("queueLength", waiting.size());
    }
    json(ctx, 200, Buffer.buffer(body.toString()));
  }

  private void listBuilds(RoutingContext ctx) {
    Caller caller = caller(ctx);
    String tenant = ctx.queryParams().get("tenant");
    if ((tenant == null || tenant.isBlank()) && !caller.isOperator()) {
      tenant = caller.tenant();
    }
    if (tenant == null || tenant.isBlank()) {
      error(
          ctx,
          400,
          "the query parameter tenant is required, e.g. /v1/builds?tenant=acme[&app=web]",
          "tenant");
      return;
    }
    if (!caller.mayActFor(tenant)) {
      error(
          ctx,
          403,
          caller.describe() + " may list only its own builds, not tenant " + Quote.safe(tenant, 63),
          "tenant");
      return;
    }
    String app = ctx.queryParams().get("app");
    int limit = DEFAULT_LIST_LIMIT;
    String limitParam = ctx.queryParams().get("limit");
    if (limitParam != null) {
      try {
        limit = Integer.parseInt(limitParam);
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > MAX_LIST_LIMIT) {
        error(
            ctx,
            400,
            "limit is '"
                + Quote.safe(limitParam, 20)
                + "'; use a number from 1 to "
                + MAX_LIST_LIMIT,
            "limit");
        return;
      }
    }
    List<BuildSnapshot> list =
        builds.list(tenant, app == null || app.isBlank() ? null : app, limit);
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("tenant", tenant);
    if (app != null && !app.isBlank()) {
      body.put("app", app);
    }
    body.put("builds", list.stream().map(BuildView::masked).toList());
    json(ctx, 200, Buffer.buffer(EventCodec.toJson(body)));
  }
}
