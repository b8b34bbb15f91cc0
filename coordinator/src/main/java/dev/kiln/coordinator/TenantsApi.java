package dev.kiln.coordinator;

import static dev.kiln.coordinator.HttpAnswers.error;
import static dev.kiln.coordinator.HttpAnswers.json;

import dev.kiln.buildpack.BuildpackLevel;
import dev.kiln.events.InvalidEventException;
import dev.kiln.events.Quote;
import dev.kiln.events.Tenant;
import dev.kiln.events.security.SecretBox;
import dev.kiln.events.security.SecretValues;
import dev.kiln.events.security.Tokens;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API for tenants: create, list, show, change and delete them, issue and revoke their
 * tokens, and set their private indexes. Tokens are shown once and stored only as hashes; index
 * passwords are stored sealed and shown as {@code ****}.
 *
 * <p>Every change is a read-modify-write of one record; changes run one after another so two
 * concurrent requests cannot lose each other's change.
 */
final class TenantsApi {
  private static final Logger LOG = LoggerFactory.getLogger(TenantsApi.class);
  static final long MAX_BODY_BYTES = 64 * 1024;

  /** Thrown by a change to answer with this status and message. */
  static final class Refused extends RuntimeException {
    final int status;
    final String field;
    final String code;

    Refused(int status, String message, String field) {
      this(status, message, field, null);
    }

    /**
     * @param code the failure code the answer carries, e.g. {@code source::not-allowed}; or null
     */
    Refused(int status, String message, String field, String code) {
      super(message, null, false, false);
      this.status = status;
      this.field = field;
      this.code = code;
    }
  }

  private final TenantRegistry tenants;
  private final TenantStore store;
  private final SecretBox secrets;
  private final SourcePolicy sources;
  private final Clock clock;
  private Future<?> lastChange = Future.succeededFuture();

  TenantsApi(
      TenantRegistry tenants,
      TenantStore store,
      SecretBox secrets,
      SourcePolicy sources,
      Clock clock) {
    this.tenants = tenants;
    this.store = store;
    this.secrets = secrets;
    this.sources = sources;
    this.clock = clock;
  }

  /** The farm's secret box, or null when the coordinator has no secret key. */
  SecretBox secrets() {
    return secrets;
  }

  Clock clock() {
    return clock;
  }

  SourcePolicy sources() {
    return sources;
  }

  void routes(Router router) {
    BodyHandler body = BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES);
    router.post("/v1/tenants").handler(body).handler(operatorOnly(this::create));
    router.get("/v1/tenants").handler(operatorOnly(this::list));
    router.get("/v1/tenants/:name").handler(this::show);
    router.patch("/v1/tenants/:name").handler(body).handler(operatorOnly(this::update));
    router.delete("/v1/tenants/:name").handler(operatorOnly(this::delete));
    router.post("/v1/tenants/:name/tokens").handler(operatorOnly(this::newToken));
    router.delete("/v1/tenants/:name/tokens/:id").handler(operatorOnly(this::revokeToken));
    router.put("/v1/tenants/:name/indexes/:index").handler(body).handler(this::putIndex);
    router.delete("/v1/tenants/:name/indexes/:index").handler(this::deleteIndex);
    new AppLinksApi(this, tenants).routes(router, body);
  }

  private static io.vertx.core.Handler<RoutingContext> operatorOnly(
      io.vertx.core.Handler<RoutingContext> handler) {
    return ctx -> {
      Caller caller = CoordinatorApi.caller(ctx);
      if (!caller.isOperator()) {
        error(
            ctx,
            403,
            "only the operator may "
                + ctx.request().method()
                + " "
                + Quote.safe(ctx.request().path(), 120)
                + "; a tenant token may read its own tenant (GET /v1/tenants/"
                + caller.tenant()
                + ") and set its indexes",
            null);
        return;
      }
      handler.handle(ctx);
    };
  }

  /** Creates a tenant with the default sources and quotas and no token (for auto-creation). */
  Future<Tenant> createImplicitly(String name) {
    return change(
        () -> {
          Optional<Tenant> existing = tenants.get(name);
          if (existing.isPresent()) {
            return Future.succeededFuture(existing.get());
          }
          Instant now = clock.instant();
          Tenant tenant = new Tenant(name, List.of(), List.of(), List.of(), null, now, now);
          validate(tenant);
          LOG.info("created tenant {} on its first push by the operator (auto-create is on)", name);
          return store.save(tenant).map(tenant);
        });
  }

  private void create(RoutingContext ctx) {
    JsonObject body = jsonBody(ctx);
    if (body == null) {
      return;
    }
    String name = body.getValue("name") instanceof String s ? s : null;
    String token = Tokens.newToken(Tokens.Kind.TENANT);
    answer(
        ctx,
        201,
        change(
            () -> {
              if (name == null) {
                throw new Refused(400, "name is missing; send {\"name\": \"acme\", …}", "name");
              }
              if (tenants.exists(name)) {
                throw new Refused(
                    409,
                    "tenant "
                        + name
                        + " already exists; change it with `kiln tenants update "
                        + name
                        + "` (PATCH /v1/tenants/"
                        + name
                        + ") or issue a token with POST /v1/tenants/"
                        + name
                        + "/tokens",
                    "name");
              }
              Instant now = clock.instant();
              Tenant.TokenHash hash = new Tenant.TokenHash(tokenId(), Tokens.sha256Hex(token), now);
              Tenant tenant =
                  new Tenant(
                      name,
                      List.of(hash),
                      stringList(body, "sources").orElse(List.of()),
                      List.of(),
                      quotas(body, Tenant.Quotas.DEFAULTS),
                      now,
                      now,
                      List.of(),
                      buildpackLevel(body, null),
                      appBuildpackLevels(body, java.util.Map.of()));
              validate(tenant);
              return store
                  .save(tenant)
                  .map(
                      v ->
                          view(tenant)
                              .put("token", token)
                              .put("tokenId", hash.id())
                              .put(
                                  "note",
                                  "the token is shown only now; Kiln keeps only its SHA-256")
                              .toBuffer());
            }));
  }

  private void list(RoutingContext ctx) {
    JsonArray all = new JsonArray();
    tenants.all().forEach(t -> all.add(view(t)));
    json(ctx, 200, new JsonObject().put("tenants", all).toBuffer());
  }

  private void show(RoutingContext ctx) {
    Tenant tenant = ownTenant(ctx);
    if (tenant != null) {
      json(ctx, 200, view(tenant).toBuffer());
    }
  }

  private void update(RoutingContext ctx) {
    JsonObject body = jsonBody(ctx);
    if (body == null) {
      return;
    }
    String name = ctx.pathParam("name");
    answer(
        ctx,
        200,
        modify(
            name,
            t -> {
              for (String field : body.fieldNames()) {
                if (!PATCHABLE.contains(field)) {
                  throw new Refused(
                      400,
                      "'"
                          + Quote.safe(field, 40)
                          + "' cannot be changed here; PATCH takes "
                          + String.join(", ", PATCHABLE)
                          + " (tokens and indexes have their own endpoints)",
                      field);
                }
              }
              return new Tenant(
                  t.name(),
                  t.tokens(),
                  stringList(body, "sources").orElse(t.sources()),
                  t.indexes(),
                  quotas(body, t.quotas()),
                  t.createdAt(),
                  clock.instant(),
                  t.apps(),
                  buildpackLevel(body, t.buildpackLevel()),
                  appBuildpackLevels(body, t.appBuildpackLevels()));
            },
            t -> view(t).toBuffer()));
  }

  private void delete(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    answer(
        ctx,
        200,
        change(
            () -> {
              requireTenant(name);
              return store.delete(name).map(v -> new JsonObject().put("deleted", name).toBuffer());
            }));
  }

  private void newToken(RoutingContext ctx) {
    String token = Tokens.newToken(Tokens.Kind.TENANT);
    String id = tokenId();
    answer(
        ctx,
        201,
        modify(
            ctx.pathParam("name"),
            t -> {
              List<Tenant.TokenHash> tokens = new ArrayList<>(t.tokens());
              tokens.add(new Tenant.TokenHash(id, Tokens.sha256Hex(token), clock.instant()));
              return withTokens(t, tokens);
            },
            t ->
                new JsonObject()
                    .put("tenant", t.name())
                    .put("token", token)
                    .put("tokenId", id)
                    .put("note", "the token is shown only now; Kiln keeps only its SHA-256")
                    .toBuffer()));
  }

  private void revokeToken(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    answer(
        ctx,
        200,
        modify(
            ctx.pathParam("name"),
            t -> {
              List<Tenant.TokenHash> tokens =
                  t.tokens().stream().filter(h -> !h.id().equals(id)).toList();
              if (tokens.size() == t.tokens().size()) {
                throw new Refused(
                    404,
                    "tenant "
                        + t.name()
                        + " has no token "
                        + Quote.safe(id, 40)
                        + "; GET /v1/tenants/"
                        + t.name()
                        + " lists the token ids",
                    "id");
              }
              return withTokens(t, tokens);
            },
            t -> new JsonObject().put("tenant", t.name()).put("revoked", id).toBuffer()));
  }

  private void putIndex(RoutingContext ctx) {
    if (ownTenant(ctx) == null) {
      return;
    }
    JsonObject body = jsonBody(ctx);
    if (body == null) {
      return;
    }
    String indexName = ctx.pathParam("index");
    answer(
        ctx,
        200,
        modify(
            ctx.pathParam("name"),
            t -> {
              String url = text(body, "url", true);
              String username = text(body, "username", false);
              String password = text(body, "password", false);
              String sealed = null;
              if (password != null) {
                if (secrets == null) {
                  throw new Refused(
                      503,
                      "this coordinator has no secret key, so it cannot store passwords; start it"
                          + " with KILN_SECRET_KEY (base64 of 32 random bytes)",
                      "password");
                }
                sealed = secrets.seal(SecretBox.tenantSecretAad(t.name(), indexName), password);
              }
              List<Tenant.TenantIndex> indexes = new ArrayList<>();
              t.indexes().stream().filter(i -> !i.name().equals(indexName)).forEach(indexes::add);
              indexes.add(new Tenant.TenantIndex(indexName, url, username, sealed));
              return withIndexes(t, indexes);
            },
            t -> indexView(t.index(indexName).orElseThrow()).toBuffer()));
  }

  private void deleteIndex(RoutingContext ctx) {
    if (ownTenant(ctx) == null) {
      return;
    }
    String indexName = ctx.pathParam("index");
    answer(
        ctx,
        200,
        modify(
            ctx.pathParam("name"),
            t -> {
              if (t.index(indexName).isEmpty()) {
                throw new Refused(
                    404,
                    "tenant " + t.name() + " has no index " + Quote.safe(indexName, 63),
                    "index");
              }
              return withIndexes(
                  t, t.indexes().stream().filter(i -> !i.name().equals(indexName)).toList());
            },
            t -> new JsonObject().put("tenant", t.name()).put("deleted", indexName).toBuffer()));
  }

  /**
   * The tenant named in the path, when the caller may see it: the operator sees every tenant, a
   * tenant only itself (403 otherwise); null once an error is answered.
   */
  Tenant ownTenant(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    Caller caller = CoordinatorApi.caller(ctx);
    if (!caller.mayActFor(name)) {
      error(
          ctx,
          403,
          caller.describe()
              + " may read and change only its own settings, not "
              + Quote.safe(name, 63),
          "name");
      return null;
    }
    Optional<Tenant> tenant = tenants.get(name);
    if (tenant.isEmpty()) {
      error(ctx, 404, noSuchTenant(name), "name");
      return null;
    }
    return tenant.get();
  }

  /** The API's picture of a tenant: no token hashes, passwords as {@code ****}. */
  JsonObject view(Tenant t) {
    JsonArray tokenList = new JsonArray();
    t.tokens()
        .forEach(
            h ->
                tokenList.add(
                    new JsonObject()
                        .put("id", h.id())
                        .put(
                            "createdAt", h.createdAt() == null ? null : h.createdAt().toString())));
    JsonArray indexList = new JsonArray();
    t.indexes().forEach(i -> indexList.add(indexView(i)));
    return new JsonObject()
        .put("name", t.name())
        .put("sources", new JsonArray(t.sources()))
        .put("effectiveSources", new JsonArray(sources.effectiveSources(t)))
        .put(
            "quotas",
            new JsonObject()
                .put("concurrentBuilds", t.quotas().concurrentBuilds())
                .put("queuedBuilds", t.quotas().queuedBuilds())
                .put("storeBytes", t.quotas().storeBytes()))
        .put("indexes", indexList)
        .put("buildpackLevel", t.buildpackLevel())
        .put(
            "appBuildpackLevels",
            new JsonObject(new java.util.LinkedHashMap<>(t.appBuildpackLevels())))
        .put("apps", AppLinksApi.linkList(t))
        .put("tokens", tokenList)
        .put("createdAt", t.createdAt() == null ? null : t.createdAt().toString())
        .put("updatedAt", t.updatedAt() == null ? null : t.updatedAt().toString());
  }

  private static JsonObject indexView(Tenant.TenantIndex i) {
    JsonObject index = new JsonObject().put("name", i.name()).put("url", i.url());
    if (i.username() != null) {
      index.put("username", i.username());
    }
    if (i.sealedPassword() != null) {
      index.put("password", SecretValues.MASK);
    }
    return index;
  }

  /** A change of one existing tenant, run after every change before it. */
  Future<Buffer> modify(
      String name, Function<Tenant, Tenant> edit, Function<Tenant, Buffer> answer) {
    return change(
        () -> {
          Tenant changed = edit.apply(requireTenant(name));
          validate(changed);
          return store.save(changed).map(v -> answer.apply(changed));
        });
  }

  private Tenant requireTenant(String name) {
    return tenants.get(name).orElseThrow(() -> new Refused(404, noSuchTenant(name), "name"));
  }

  private static String noSuchTenant(String name) {
    return "tenant "
        + Quote.safe(name, 63)
        + " does not exist; GET /v1/tenants lists them, POST /v1/tenants creates one";
  }

  /** Runs changes one after another, each reading the registry as the previous one left it. */
  private <T> Future<T> change(java.util.function.Supplier<Future<T>> step) {
    Promise<T> done = Promise.promise();
    lastChange =
        lastChange
            .transform(ignored -> Future.succeededFuture())
            .compose(
                ignored -> {
                  Future<T> result;
                  try {
                    result = step.get();
                  } catch (RuntimeException e) {
                    result = Future.failedFuture(e);
                  }
                  return result.onComplete(done);
                });
    return done.future();
  }

  static void answer(RoutingContext ctx, int status, Future<Buffer> result) {
    result
        .onSuccess(body -> json(ctx, status, body))
        .onFailure(
            e -> {
              if (e instanceof Refused r) {
                error(ctx, r.status, r.getMessage(), r.field, r.code);
              } else {
                LOG.warn("tenant change failed: {}", e.toString());
                error(
                    ctx,
                    503,
                    "the change could not be written to Kafka ("
                        + e.getMessage()
                        + "); nothing changed, send it again",
                    null);
              }
            });
  }

  private static void validate(Tenant tenant) {
    try {
      tenant.validate();
    } catch (InvalidEventException e) {
      throw new Refused(400, e.getMessage(), e.field());
    }
  }

  private Tenant withTokens(Tenant t, List<Tenant.TokenHash> tokens) {
    return new Tenant(
        t.name(),
        tokens,
        t.sources(),
        t.indexes(),
        t.quotas(),
        t.createdAt(),
        clock.instant(),
        t.apps(),
        t.buildpackLevel(),
        t.appBuildpackLevels());
  }

  private Tenant withIndexes(Tenant t, List<Tenant.TenantIndex> indexes) {
    return new Tenant(
        t.name(),
        t.tokens(),
        t.sources(),
        indexes,
        t.quotas(),
        t.createdAt(),
        clock.instant(),
        t.apps(),
        t.buildpackLevel(),
        t.appBuildpackLevels());
  }

  private static String tokenId() {
    return "tok-" + Tokens.randomHex(4);
  }

  static JsonObject jsonBody(RoutingContext ctx) {
    Buffer raw = ctx.body().buffer();
    if (raw == null || raw.length() == 0) {
      error(ctx, 400, "the request needs a JSON object body", "body");
      return null;
    }
    try {
      return new JsonObject(raw);
    } catch (DecodeException | ClassCastException e) {
      error(ctx, 400, "the body is not a JSON object: " + Quote.safe(e.getMessage(), 200), "body");
      return null;
    }
  }

  private static Optional<List<String>> stringList(JsonObject body, String field) {
    if (!body.containsKey(field)) {
      return Optional.empty();
    }
    if (!(body.getValue(field) instanceof JsonArray array)) {
      throw new Refused(400, field + " must be a list of strings", field);
    }
    List<String> values = new ArrayList<>();
    for (Object o : array) {
      if (!(o instanceof String s)) {
        throw new Refused(400, field + " must be a list of strings", field);
      }
      values.add(s);
    }
    return Optional.of(values);
  }

  static String text(JsonObject body, String field, boolean required) {
    Object value = body.getValue(field);
    if (value == null) {
      if (required) {
        throw new Refused(400, field + " is missing", field);
      }
      return null;
    }
    if (!(value instanceof String s) || s.isBlank()) {
      throw new Refused(400, field + " must be a non-empty string", field);
    }
    return s;
  }

  private static final List<String> PATCHABLE =
      List.of("sources", "quotas", "buildpackLevel", "appBuildpackLevels");

  /**
   * {@code buildpackLevel}: a level Kiln knows, or null for the farm's own rules; absent keeps
   * {@code base}.
   */
  private static Integer buildpackLevel(JsonObject body, Integer base) {
    if (!body.containsKey("buildpackLevel")) {
      return base;
    }
    return knownLevel(body.getValue("buildpackLevel"), "buildpackLevel");
  }

  /**
   * {@code appBuildpackLevels}: {@code {"web": 351, "api": null}} sets web's level and gives api
   * the tenant's again; apps not named keep theirs.
   */
  private static java.util.Map<String, Integer> appBuildpackLevels(
      JsonObject body, java.util.Map<String, Integer> base) {
    if (!body.containsKey("appBuildpackLevels")) {
      return base;
    }
    if (!(body.getValue("appBuildpackLevels") instanceof JsonObject levels)) {
      throw new Refused(
          400,
          "appBuildpackLevels must be an object of app names to levels, such as {\"web\": 351,"
              + " \"api\": null} (null gives the app the tenant's level again)",
          "appBuildpackLevels");
    }
    java.util.Map<String, Integer> merged = new java.util.TreeMap<>(base);
    for (String app : levels.fieldNames()) {
      String field = "appBuildpackLevels." + Quote.safe(app, 60);
      Integer level = knownLevel(levels.getValue(app), field);
      if (level == null) {
        merged.remove(app);
      } else {
        merged.put(app, level);
      }
    }
    return merged;
  }

  private static Integer knownLevel(Object value, String field) {
    if (value == null) {
      return null;
    }
    if (!(value instanceof Number number) || number.doubleValue() != number.intValue()) {
      throw new Refused(
          400,
          field
              + " must be a buildpack version number ("
              + BuildpackLevel.knownList()
              + ") or null for the farm's own rules",
          field);
    }
    int level = number.intValue();
    if (BuildpackLevel.known().stream().noneMatch(l -> l.version() == level)) {
      throw new Refused(
          400,
          field
              + " is "
              + level
              + ", a buildpack version Kiln does not reproduce; choose one of "
              + BuildpackLevel.knownList()
              + " (or null for the farm's own rules)",
          field);
    }
    return level;
  }

  private static Tenant.Quotas quotas(JsonObject body, Tenant.Quotas base) {
    if (!body.containsKey("quotas")) {
      return base;
    }
    if (!(body.getValue("quotas") instanceof JsonObject q)) {
      throw new Refused(
          400,
          "quotas must be an object such as {\"concurrentBuilds\": 4, \"queuedBuilds\": 50}",
          "quotas");
    }
    return new Tenant.Quotas(
        (int) number(q, "concurrentBuilds", base.concurrentBuilds()),
        (int) number(q, "queuedBuilds", base.queuedBuilds()),
        number(q, "storeBytes", base.storeBytes()));
  }

  private static long number(JsonObject q, String field, long fallback) {
    Object value = q.getValue(field);
    if (value == null) {
      return fallback;
    }
    if (!(value instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())) {
      throw new Refused(400, "quotas." + field + " must be a whole number", "quotas." + field);
    }
    if (!field.equals("storeBytes") && (n.longValue() > Integer.MAX_VALUE || n.longValue() < 0)) {
      throw new Refused(400, "quotas." + field + " is out of range", "quotas." + field);
    }
    return n.longValue();
  }
}
