package dev.kiln.cache;

import dev.kiln.events.Digest;
import dev.kiln.events.Quote;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.OpenOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cache-service: content-addressed blobs ({@code /cas/}), action results ({@code /ac/}), a PEP
 * 503 / PEP 691 index proxying one upstream ({@code /simple/}, {@code /files/}) and NLTK data
 * proxying one upstream NLTK data index ({@code /nltk/}).
 *
 * <p>Deploy it with {@code vertx.deployVerticle(verticle)}; the deployment completes once the
 * server listens, after which {@link #actualPort()} and {@link #baseUrl()} are set. All file I/O
 * runs on worker threads or through Vert.x's asynchronous file system.
 */
public final class CacheServiceVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(CacheServiceVerticle.class);
  static final long MAX_ACTION_RESULT_BYTES = 4L * 1024 * 1024;
  private static final Duration STALE_TEMP_FILE_AGE = Duration.ofHours(1);
  private static final String ENDPOINTS =
      "GET|HEAD|PUT /cas/{sha256}, GET|PUT /ac/{key},"
          + " GET /simple/, GET /simple/{project}/, GET /files/{sha256}/{filename},"
          + " GET /tenants/{tenant}/indexes/{index}/simple/{project}/,"
          + " GET /tenants/{tenant}/files/{sha256}/{filename},"
          + " GET|HEAD /nltk/index.xml, GET|HEAD /nltk/packages/{subdir}/{id}.zip, GET /metrics,"
          + " GET /health";

  /** How an operator raises a tenant's store quota; {tenant} is replaced. */
  static final String QUOTA_HINT =
      "`kiln tenants` (PATCH /v1/tenants/{tenant} with {\"quotas\":{\"storeBytes\":<bytes>}})";

  private static final String CLOSE_AFTER_RESPONSE = "kiln.closeAfterResponse";
  private static final String NLTK_PACKAGE_EXAMPLE = "/nltk/packages/corpora/stopwords.zip";

  private final CacheServiceConfig config;
  private volatile int actualPort = -1;
  private BlobStore store;
  private ObjectStore objectStore;
  private ActionCache actions;
  private UpstreamHttp upstreamHttp;
  private UpstreamHttp nltkHttp;
  private PackageIndex index;
  private TenantIndexes tenantIndexes;
  private NltkData nltk;
  private HttpServer server;
  private FarmCredential farm;
  private final dev.kiln.observability.ServiceMetrics metrics =
      dev.kiln.observability.ServiceMetrics.forService("cache-service");
  private final io.micrometer.core.instrument.Counter actionHits = actionLookups("hit");
  private final io.micrometer.core.instrument.Counter actionMisses = actionLookups("miss");

  public CacheServiceVerticle(CacheServiceConfig config) {
    this.config = config;
  }

  public CacheServiceConfig serviceConfig() {
    return config;
  }

  /** The port the service listens on. */
  public int actualPort() {
    if (actualPort < 0) {
      throw new IllegalStateException("the cache-service is not listening yet: deploy it first");
    }
    return actualPort;
  }

  /** E.g. {@code http://127.0.0.1:43121}; what {@code CacheServiceClient} takes. */
  public String baseUrl() {
    String host = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
    return "http://" + host + ":" + actualPort();
  }

  /** The index URL for pip: {@code <baseUrl>/simple/}. */
  public String indexUrl() {
    return baseUrl() + "/simple/";
  }

  @Override
  public Future<?> start() {
    return vertx
        .executeBlocking(this::openStore, false)
        .compose(
            opened -> {
              upstreamHttp = new UpstreamHttp(vertx, config.upstreamIndexUrl());
              return upstreamIndex();
            })
        .compose(
            upstream -> {
              boolean localUpstream =
                  "file".equalsIgnoreCase(URI.create(config.upstreamIndexUrl()).getScheme());
              index =
                  new PackageIndex(
                      vertx,
                      upstream,
                      upstreamHttp,
                      store,
                      config.projectPageTtl(),
                      BlobScope.PUBLIC,
                      config.maxBlobBytes(),
                      localUpstream);
              tenantIndexes =
                  new TenantIndexes(
                      vertx,
                      upstreamHttp,
                      store,
                      config.projectPageTtl(),
                      config.maxIndexPageBytes(),
                      config.maxBlobBytes(),
                      config.tenantDirectory());
              farm =
                  config.farmTokenSha256() == null
                      ? null
                      : new FarmCredential(config.farmTokenSha256());
              nltkHttp = new UpstreamHttp(vertx, config.nltkDataUrl());
              nltk =
                  new NltkData(
                      vertx,
                      URI.create(config.nltkDataUrl()),
                      nltkHttp,
                      store,
                      actions,
                      config.projectPageTtl(),
                      config.maxNltkPackageBytes());
              return vertx
                  .createHttpServer(
                      new HttpServerOptions()
                          .setHost(config.host())
                          .setPort(config.port())
                          // "100 Continue" is sent only once a request passed authentication and,
                          // for a blob, its size checks: a refused upload never sends its body.
                          .setHandle100ContinueAutomatically(false))
                  .requestHandler(router())
                  .listen();
            })
        .onSuccess(
            listening -> {
              server = listening;
              actualPort = listening.actualPort();
              LOG.info(
                  "cache-service listening on {} (store {}, upstream index {}, {})",
                  baseUrl(),
                  objectStore == null
                      ? config.root()
                      : objectStore.describe() + ", local cache " + config.root(),
                  UrlRedaction.mask(config.upstreamIndexUrl()),
                  farm == null
                      ? "AUTHENTICATION OFF: anyone who can connect may write the store"
                      : "farm token required");
            });
  }

  @Override
  public Future<?> stop() {
    Future<Void> serverClosed = server == null ? Future.succeededFuture() : server.close();
    return serverClosed
        .eventually(() -> upstreamHttp == null ? Future.succeededFuture() : upstreamHttp.close())
        .eventually(() -> nltkHttp == null ? Future.succeededFuture() : nltkHttp.close())
        .eventually(
            () ->
                objectStore == null
                    ? Future.succeededFuture()
                    : vertx.executeBlocking(
                        () -> {
                          objectStore.close();
                          return null;
                        },
                        false));
  }

  private Void openStore() {
    int removed;
    if (config.objectStore() != null) {
      objectStore = new S3ObjectStore(config.objectStore());
      try {
        objectStore.requireReady();
      } catch (RuntimeException e) {
        objectStore.close();
        objectStore = null;
        throw e;
      }
    }
    try {
      store =
          new BlobStore(
              config.root(),
              config.maxStoreBytes(),
              config.tenantDirectory()::storeQuotaBytes,
              QUOTA_HINT,
              objectStore);
      actions = new ActionCache(config.root(), store);
      registerStoreMeters(store);
      removed =
          store.removeTempFilesOlderThan(STALE_TEMP_FILE_AGE)
              + actions.removeTempFilesOlderThan(STALE_TEMP_FILE_AGE);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot open the store under "
              + config.root()
              + " ("
              + e
              + "); point the cache-service root at a writable directory",
          e);
    }
    if (removed > 0) {
      LOG.info("removed {} unfinished uploads left by an earlier run", removed);
    }
    return null;
  }

  private Future<UpstreamIndex> upstreamIndex() {
    URI url = URI.create(config.upstreamIndexUrl());
    if (!"file".equalsIgnoreCase(url.getScheme())) {
      return Future.succeededFuture(
          new HttpUpstreamIndex(vertx, url, upstreamHttp, config.maxIndexPageBytes()));
    }
    return vertx.executeBlocking(
        () -> {
          Path directory;
          try {
            directory = Path.of(url);
          } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                "upstream index "
                    + url
                    + " is not a usable file URL ("
                    + e.getMessage()
                    + "); use an absolute one like file:///srv/wheels/",
                e);
          }
          if (!Files.isDirectory(directory)) {
            throw new IllegalArgumentException(
                "upstream index "
                    + url
                    + " names "
                    + directory
                    + ", which is not a directory; point it at a directory of wheels or a PEP 503 tree");
          }
          return new DirectoryUpstreamIndex(
              vertx, config.upstreamIndexUrl(), new LocalDirectoryIndex(directory));
        },
        false);
  }

  private io.micrometer.core.instrument.Counter actionLookups(String result) {
    return io.micrometer.core.instrument.Counter.builder("kiln.action.cache.requests")
        .description("GET /ac/{key}: hit found a usable action result, miss did not")
        .tag("result", result)
        .register(metrics.registry());
  }

  private void registerStoreMeters(BlobStore blobs) {
    io.micrometer.core.instrument.MeterRegistry registry = metrics.registry();
    io.micrometer.core.instrument.Gauge.builder("kiln.store.size", blobs, BlobStore::storedBytes)
        .description("Bytes the blobs on this cache-service's disk take")
        .baseUnit("bytes")
        .register(registry);
    if (config.maxStoreBytes() != Long.MAX_VALUE) {
      io.micrometer.core.instrument.Gauge.builder(
              "kiln.store.limit", config, c -> (double) c.maxStoreBytes())
          .description("The most bytes the store on disk may take before it evicts")
          .baseUnit("bytes")
          .register(registry);
    }
    io.micrometer.core.instrument.FunctionCounter.builder(
            "kiln.store.evictions", blobs, BlobStore::evictedBlobs)
        .description("Blobs evicted (least recently used) to make room")
        .register(registry);
    io.micrometer.core.instrument.FunctionCounter.builder(
            "kiln.store.evicted", blobs, BlobStore::evictedBytes)
        .description("Bytes evicted to make room")
        .baseUnit("bytes")
        .register(registry);
  }

  /** This cache-service's meters, served at {@code GET /metrics} (farm token). */
  public dev.kiln.observability.ServiceMetrics metrics() {
    return metrics;
  }

  private Router router() {
    Router router = Router.router(vertx);
    // Routes match the normalized path, in which "/nltk/packages/../../x" is already "/x"; refuse
    // such requests outright rather than answer for a path the client did not write.
    router.route().handler(this::refuseDotSegmentsUnderNltk);
    router.get("/health").handler(this::health);
    router.route().handler(this::authenticate);
    router.route().handler(this::continueUnlessBlobUpload);

    router.getWithRegex("/cas/(?<digest>[^/]*)").handler(this::getBlob);
    router.headWithRegex("/cas/(?<digest>[^/]*)").handler(this::getBlob);
    router.putWithRegex("/cas/(?<digest>[^/]*)").handler(this::putBlob);

    router.getWithRegex("/ac/(?<key>[^/]*)").handler(this::getAction);
    router
        .get(dev.kiln.observability.MetricsEndpoint.PATH)
        .handler(dev.kiln.observability.MetricsEndpoint.handler(metrics));
    router
        .putWithRegex("/ac/(?<key>[^/]*)")
        .handler(BodyHandler.create(false).setBodyLimit(MAX_ACTION_RESULT_BYTES))
        .handler(this::putAction);

    router.getWithRegex("/simple").handler(ctx -> redirect(ctx, "/simple/"));
    router.getWithRegex("/simple/").handler(this::projectList);
    router
        .getWithRegex("/simple/(?<project>[^/]+)")
        .handler(ctx -> redirect(ctx, "/simple/" + ctx.pathParam("project") + "/"));
    router.getWithRegex("/simple/(?<project>[^/]+)/").handler(this::projectPage);
    router.getWithRegex("/files/(?<digest>[^/]*)/(?<filename>[^/]+)").handler(this::getFile);
    router.headWithRegex("/files/(?<digest>[^/]*)/(?<filename>[^/]+)").handler(this::getFile);

    String tenantIndex = "/tenants/(?<tenant>[^/]+)/indexes/(?<index>[^/]+)/simple";
    router.getWithRegex(tenantIndex).handler(ctx -> redirect(ctx, ctx.request().path() + "/"));
    router.getWithRegex(tenantIndex + "/").handler(this::tenantProjectList);
    router
        .getWithRegex(tenantIndex + "/(?<project>[^/]+)")
        .handler(ctx -> redirect(ctx, ctx.request().path() + "/"));
    router.getWithRegex(tenantIndex + "/(?<project>[^/]+)/").handler(this::tenantProjectPage);
    String tenantFile = "/tenants/(?<tenant>[^/]+)/files/(?<digest>[^/]*)/(?<filename>[^/]+)";
    router.getWithRegex(tenantFile).handler(this::tenantFile);
    router.headWithRegex(tenantFile).handler(this::tenantFile);

    router.getWithRegex("/nltk/index\\.xml").handler(this::nltkIndex);
    router.headWithRegex("/nltk/index\\.xml").handler(this::nltkIndex);
    router
        .getWithRegex("/nltk/packages/(?<subdir>[^/]*)/(?<file>[^/]*)")
        .handler(this::nltkPackage);
    router
        .headWithRegex("/nltk/packages/(?<subdir>[^/]*)/(?<file>[^/]*)")
        .handler(this::nltkPackage);
    // Deeper or shallower paths (an id with an encoded slash decodes into one) are not packages.
    router.getWithRegex("/nltk/packages/.*").handler(this::notAnNltkPackagePath);
    router.headWithRegex("/nltk/packages/.*").handler(this::notAnNltkPackagePath);

    router.route().failureHandler(this::renderFailure);
    router.errorHandler(
        404,
        ctx ->
            sendText(
                ctx,
                404,
                "no such endpoint: "
                    + ctx.request().method()
                    + " "
                    + ctx.request().path()
                    + "; this service answers "
                    + ENDPOINTS));
    router.errorHandler(
        405,
        ctx ->
            sendText(
                ctx,
                405,
                ctx.request().method()
                    + " is not allowed on "
                    + ctx.request().path()
                    + "; this service answers "
                    + ENDPOINTS));
    return router;
  }

  private void health(RoutingContext ctx) {
    JsonObject health =
        new JsonObject()
            .put("status", "UP")
            .put("upstreamIndex", UrlRedaction.mask(config.upstreamIndexUrl()))
            .put("nltkData", config.nltkDataUrl())
            .put("store", config.root().toString());
    send(ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json"), health.encode());
  }

  // ---- authentication and on-behalf-of

  private void authenticate(RoutingContext ctx) {
    if (farm == null) {
      ctx.next();
      return;
    }
    String header = ctx.request().getHeader(HttpHeaders.AUTHORIZATION);
    if (header == null
        || !header.regionMatches(true, 0, "Bearer ", 0, "Bearer ".length())
        || header.substring("Bearer ".length()).isBlank()) {
      throw CacheError.unauthorized(
          ctx.request().method()
              + " "
              + Quote.safe(ctx.request().path(), 200)
              + " needs the farm token: send Authorization: Bearer <farm token> (workers hold it;"
              + " only GET /health is open)");
    }
    if (!farm.matches(header.substring("Bearer ".length()).strip())) {
      throw CacheError.forbidden(
          "the bearer token is not this farm's token: only workers (holding the farm token) may"
              + " use the cache-service; tenant and operator tokens are not farm credentials");
    }
    ctx.next();
  }

  /** Confirms "Expect: 100-continue" for everything but a blob upload, which checks sizes first. */
  private void continueUnlessBlobUpload(RoutingContext ctx) {
    boolean blobUpload =
        ctx.request().method() == HttpMethod.PUT && ctx.request().path().startsWith("/cas/");
    if (!blobUpload) {
      sendContinueIfExpected(ctx.request());
    }
    ctx.next();
  }

  private static void sendContinueIfExpected(HttpServerRequest request) {
    String expect = request.getHeader(HttpHeaders.EXPECT);
    if (expect != null && expect.equalsIgnoreCase("100-continue")) {
      request.response().writeContinue();
    }
  }

  /** The validated {@code X-Kiln-Tenant}, or null when the request sends none. */
  private static String tenantOf(RoutingContext ctx) {
    String tenant = ctx.request().getHeader(BlobScope.TENANT_HEADER);
    return tenant == null ? null : BlobScope.requireTenantName(tenant.strip());
  }

  /**
   * The tenant a read acts for. With authentication on it is required; with it off (tests of other
   * modules) a request without one acts for no tenant and sees public things only.
   */
  private String readerOf(RoutingContext ctx) {
    String tenant = tenantOf(ctx);
    if (tenant == null && farm != null) {
      throw CacheError.badRequest(
          ctx.request().method()
              + " "
              + Quote.safe(ctx.request().path(), 200)
              + " needs "
              + BlobScope.TENANT_HEADER
              + ": <tenant>, the tenant the worker acts for (it sees public entries and that"
              + " tenant's own)");
    }
    return tenant;
  }

  /** The {tenant} of a /tenants/{tenant}/… path, which must be the one the request acts for. */
  private String pathTenant(RoutingContext ctx) {
    String inPath = BlobScope.requireTenantName(ctx.pathParam("tenant"));
    String actingFor = tenantOf(ctx);
    if (actingFor == null && farm == null) {
      return inPath;
    }
    if (actingFor == null) {
      throw CacheError.badRequest(
          Quote.safe(ctx.request().path(), 200)
              + " needs "
              + BlobScope.TENANT_HEADER
              + ": "
              + inPath
              + " (the tenant the worker acts for)");
    }
    if (!actingFor.equals(inPath)) {
      throw CacheError.forbidden(
          "a request acting for tenant '"
              + actingFor
              + "' ("
              + BlobScope.TENANT_HEADER
              + ") cannot use tenant '"
              + inPath
              + "''s package indexes or files");
    }
    return inPath;
  }

  // ---- /cas/{sha256}

  private void getBlob(RoutingContext ctx) {
    Digest digest = digestParam(ctx, "digest");
    String tenant = readerOf(ctx);
    boolean body = ctx.request().method() != HttpMethod.HEAD;
    vertx
        .executeBlocking(
            () -> {
              java.util.Optional<Long> size = store.readableSize(digest, tenant);
              if (size.isPresent() && body) {
                store.localPath(digest); // with a shared store: into the local cache first
              }
              return size;
            },
            false)
        .onSuccess(
            size -> {
              if (size.isEmpty()) {
                ctx.fail(CacheError.notFound("blob " + digest + " is not in the store"));
              } else {
                sendBlob(ctx, digest, size.get());
              }
            })
        .onFailure(ctx::fail);
  }

  private void putBlob(RoutingContext ctx) {
    Digest expected = digestParam(ctx, "digest");
    HttpServerRequest request = ctx.request();
    BlobScope scope =
        BlobScope.fromHeaders(
            request.getHeader(BlobScope.SCOPE_HEADER), tenantOf(ctx), "PUT /cas/" + expected.hex());
    long maxBlobBytes = config.maxBlobBytes();
    long declared = declaredLength(request);
    if (declared > maxBlobBytes) {
      // Refused before a byte of the body is read (a client that sent "Expect: 100-continue"
      // never sends it); the connection closes, so the rest of a body in flight is not read.
      ctx.put(CLOSE_AFTER_RESPONSE, true);
      throw tooLarge(expected, declared, maxBlobBytes);
    }
    // Hold the body back until the temp file is open; pipeTo resumes it.
    request.pause();
    vertx
        .executeBlocking(
            () -> {
              if (declared >= 0) {
                store.requireRoomFor(scope, declared, expected);
              }
              return store.newTempFile();
            },
            false)
        .onFailure(
            refused -> {
              ctx.put(CLOSE_AFTER_RESPONSE, true);
              ctx.fail(refused);
            })
        .onSuccess(
            temp ->
                vertx
                    .fileSystem()
                    .open(
                        temp.toString(), new OpenOptions().setWrite(true).setTruncateExisting(true))
                    .compose(
                        file -> {
                          sendContinueIfExpected(request);
                          HashingWriteStream hashing =
                              new HashingWriteStream(file, maxBlobBytes, null);
                          return request
                              .pipeTo(hashing)
                              .recover(
                                  broken -> {
                                    if (broken instanceof HashingWriteStream.TooLong) {
                                      ctx.put(CLOSE_AFTER_RESPONSE, true);
                                      return Future.failedFuture(
                                          tooLarge(expected, -1, maxBlobBytes));
                                    }
                                    return Future.failedFuture(broken);
                                  })
                              .map(received -> hashing.digest());
                        })
                    .compose(
                        actual ->
                            vertx.executeBlocking(
                                () -> store.commit(temp, expected, actual, scope), false))
                    .eventually(
                        () -> vertx.executeBlocking(() -> Files.deleteIfExists(temp), false))
                    .onSuccess(
                        created ->
                            send(
                                ctx.response()
                                    .setStatusCode(created ? 201 : 200)
                                    .putHeader(HttpHeaders.ETAG, etag(expected))
                                    .putHeader(HttpHeaders.LOCATION, "/cas/" + expected.hex())
                                    .putHeader(
                                        HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8"),
                                expected + (created ? " stored\n" : " already stored\n")))
                    .onFailure(ctx::fail));
  }

  private static long declaredLength(HttpServerRequest request) {
    String header = request.getHeader(HttpHeaders.CONTENT_LENGTH);
    try {
      return header == null ? -1 : Long.parseLong(header.strip());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static CacheError tooLarge(Digest digest, long declared, long maxBlobBytes) {
    return CacheError.payloadTooLarge(
        "blob "
            + digest
            + (declared >= 0
                ? " is " + declared + " bytes (Content-Length), more than the "
                : " sent more than "
                    + maxBlobBytes
                    + " bytes (the upload was cut off there), over the ")
            + maxBlobBytes
            + " bytes this cache-service stores per blob (maxBlobBytes); nothing was stored."
            + " Make the layer or file smaller, or raise the cache-service's maxBlobBytes"
            + " (kiln cache-service --max-blob-size, or CacheServiceConfig.withMaxBlobBytes)");
  }

  private void sendBlob(RoutingContext ctx, Digest digest, long size) {
    // Content-addressed: the bytes behind a URL never change.
    sendStored(
        ctx, digest, size, "application/octet-stream", "public, max-age=31536000, immutable");
  }

  private void sendStored(
      RoutingContext ctx, Digest digest, long size, String contentType, String cacheControl) {
    HttpServerResponse response =
        ctx.response()
            .putHeader(HttpHeaders.ETAG, etag(digest))
            .putHeader(HttpHeaders.CACHE_CONTROL, cacheControl)
            .putHeader(HttpHeaders.CONTENT_TYPE, contentType);
    String ifNoneMatch = ctx.request().getHeader(HttpHeaders.IF_NONE_MATCH);
    if (ifNoneMatch != null && (ifNoneMatch.contains(etag(digest)) || ifNoneMatch.equals("*"))) {
      endWithoutBody(response.setStatusCode(304));
    } else if (ctx.request().method() == HttpMethod.HEAD) {
      endWithoutBody(response.putHeader(HttpHeaders.CONTENT_LENGTH, Long.toString(size)));
    } else {
      response
          .sendFile(store.pathOf(digest).toString())
          .recover(
              failure -> {
                if (response.headWritten()) {
                  return Future.failedFuture(failure);
                }
                // Evicted from the local disk between the look-up and the send (a small local
                // cache in front of a shared store): fetch it again once, or answer the failure
                // instead of leaving the client waiting.
                return vertx
                    .executeBlocking(() -> store.localPath(digest), false)
                    .compose(again -> response.sendFile(again.toString()));
              })
          .onFailure(
              failure -> {
                LOG.warn("sending {} failed: {}", digest, failure.toString());
                if (!response.headWritten()) {
                  ctx.fail(failure);
                } else if (!response.ended()) {
                  ctx.request().connection().close();
                }
              });
    }
  }

  // ---- /ac/{key}

  private void getAction(RoutingContext ctx) {
    String key = ctx.pathParam("key");
    String tenant = readerOf(ctx);
    vertx
        .executeBlocking(() -> actions.get(key, tenant), false)
        .onSuccess(
            json -> {
              actionHits.increment();
              send(ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json"), json);
            })
        .onFailure(
            e -> {
              if (e instanceof CacheError error && error.httpStatus() == 404) {
                actionMisses.increment();
              }
              ctx.fail(e);
            });
  }

  private void putAction(RoutingContext ctx) {
    String key = ctx.pathParam("key");
    Buffer body = ctx.body().buffer();
    String json = body == null ? "" : body.toString(StandardCharsets.UTF_8);
    BlobScope scope =
        BlobScope.fromHeaders(
            ctx.request().getHeader(BlobScope.SCOPE_HEADER), tenantOf(ctx), "PUT /ac/" + key);
    vertx
        .executeBlocking(() -> actions.put(key, json, scope), false)
        .onSuccess(
            created ->
                send(
                    ctx.response()
                        .setStatusCode(created ? 201 : 200)
                        .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8"),
                    "action result "
                        + key
                        + (created ? " stored" : " replaced")
                        + " ("
                        + scope
                        + ")\n"))
        .onFailure(ctx::fail);
  }

  // ---- /simple/ and /files/

  private void projectList(RoutingContext ctx) {
    SimpleIndexFormat format =
        SimpleIndexFormat.negotiate(ctx.request().getHeader(HttpHeaders.ACCEPT));
    index
        .projectNames()
        // Rendered on a worker: a public index lists hundreds of thousands of projects.
        .compose(names -> vertx.executeBlocking(() -> format.renderProjectList(names), false))
        .onSuccess(page -> sendPage(ctx, format, page))
        .onFailure(ctx::fail);
  }

  private void projectPage(RoutingContext ctx) {
    String requested = ctx.pathParam("project");
    String normalized = ProjectNames.requireNormalized(requested);
    if (!normalized.equals(requested)) {
      redirect(ctx, "/simple/" + normalized + "/");
      return;
    }
    SimpleIndexFormat format =
        SimpleIndexFormat.negotiate(ctx.request().getHeader(HttpHeaders.ACCEPT));
    index
        .projectPage(normalized)
        .onSuccess(page -> sendPage(ctx, format, format.renderProjectPage(page)))
        .onFailure(ctx::fail);
  }

  private void getFile(RoutingContext ctx) {
    Digest digest = digestParam(ctx, "digest");
    String filename = ctx.pathParam("filename");
    index
        .file(digest, filename)
        .compose(path -> vertx.executeBlocking(() -> sizeAndTouch(digest, path), false))
        .onSuccess(size -> sendBlob(ctx, digest, size))
        .onFailure(ctx::fail);
  }

  private long sizeAndTouch(Digest digest, Path path) throws IOException {
    long size = Files.size(path);
    store.touch(digest);
    return size;
  }

  // ---- /tenants/{tenant}/…: a tenant's private indexes

  private void tenantProjectList(RoutingContext ctx) {
    String tenant = pathTenant(ctx);
    String name = TenantIndexes.requireIndexName(ctx.pathParam("index"));
    SimpleIndexFormat format =
        SimpleIndexFormat.negotiate(ctx.request().getHeader(HttpHeaders.ACCEPT));
    tenantIndexes
        .index(tenant, name)
        .compose(PackageIndex::projectNames)
        .compose(names -> vertx.executeBlocking(() -> format.renderProjectList(names), false))
        .onSuccess(page -> sendPage(ctx, format, page))
        .onFailure(ctx::fail);
  }

  private void tenantProjectPage(RoutingContext ctx) {
    String tenant = pathTenant(ctx);
    String name = TenantIndexes.requireIndexName(ctx.pathParam("index"));
    String requested = ctx.pathParam("project");
    String normalized = ProjectNames.requireNormalized(requested);
    if (!normalized.equals(requested)) {
      redirect(ctx, "/tenants/" + tenant + "/indexes/" + name + "/simple/" + normalized + "/");
      return;
    }
    SimpleIndexFormat format =
        SimpleIndexFormat.negotiate(ctx.request().getHeader(HttpHeaders.ACCEPT));
    tenantIndexes
        .index(tenant, name)
        .compose(tenantIndex -> tenantIndex.projectPage(normalized))
        .onSuccess(
            page ->
                sendPage(
                    ctx, format, format.renderProjectPage(page, "/tenants/" + tenant + "/files/")))
        .onFailure(ctx::fail);
  }

  private void tenantFile(RoutingContext ctx) {
    String tenant = pathTenant(ctx);
    Digest digest = digestParam(ctx, "digest");
    String filename = ctx.pathParam("filename");
    tenantIndexes
        .file(tenant, digest, filename)
        .compose(path -> vertx.executeBlocking(() -> sizeAndTouch(digest, path), false))
        // Stored for this tenant: no shared cache may keep it.
        .onSuccess(
            size -> sendStored(ctx, digest, size, "application/octet-stream", "private, no-store"))
        .onFailure(ctx::fail);
  }

  // ---- /nltk/

  private void nltkIndex(RoutingContext ctx) {
    nltk.index()
        .onSuccess(
            listing ->
                send(
                    ctx.response()
                        .putHeader(HttpHeaders.CONTENT_TYPE, "application/xml; charset=utf-8"),
                    listing.rewritten()))
        .onFailure(ctx::fail);
  }

  private void nltkPackage(RoutingContext ctx) {
    String subdir = ctx.pathParam("subdir");
    String file = ctx.pathParam("file");
    if (!file.endsWith(".zip")) {
      notAnNltkPackagePath(ctx);
      return;
    }
    String id = file.substring(0, file.length() - ".zip".length());
    requirePlainName(ctx, "subdir", subdir);
    requirePlainName(ctx, "package id", id);
    nltk.packageZip(subdir, id)
        .compose(
            digest ->
                vertx
                    .executeBlocking(() -> Files.size(store.localPath(digest)), false)
                    .onSuccess(
                        size ->
                            // The URL names a package, not its bytes: a new upstream release may
                            // change them, so clients revalidate (the ETag is the content's hash).
                            sendStored(ctx, digest, size, "application/zip", "no-cache")))
        .onFailure(ctx::fail);
  }

  private void refuseDotSegmentsUnderNltk(RoutingContext ctx) {
    String raw = ctx.request().path();
    if (raw != null && raw.startsWith("/nltk/")) {
      for (String segment : raw.split("/", -1)) {
        String decoded = segment.replace("%2e", ".").replace("%2E", ".");
        if (decoded.equals(".") || decoded.equals("..")) {
          throw CacheError.badRequest(
              "'"
                  + Quote.safe(raw, 200)
                  + "' has a '.' or '..' segment: NLTK paths take plain names only, e.g. "
                  + NLTK_PACKAGE_EXAMPLE);
        }
      }
    }
    ctx.next();
  }

  private void notAnNltkPackagePath(RoutingContext ctx) {
    throw CacheError.badRequest(
        "'"
            + Quote.safe(ctx.request().path(), 200)
            + "' is not an NLTK package path: expected /nltk/packages/{subdir}/{id}.zip with"
            + " plain names, e.g. "
            + NLTK_PACKAGE_EXAMPLE);
  }

  private static void requirePlainName(RoutingContext ctx, String what, String value) {
    if (!NltkIndex.isPlainName(value)) {
      throw CacheError.badRequest(
          "'"
              + Quote.safe(value, 80)
              + "' in "
              + Quote.safe(ctx.request().path(), 200)
              + " is not a plain NLTK "
              + what
              + ": use letters, digits, '.', '_' and '-', starting with a letter or digit (no"
              + " slashes, no '..'), e.g. "
              + NLTK_PACKAGE_EXAMPLE);
    }
  }

  private void sendPage(RoutingContext ctx, SimpleIndexFormat format, String body) {
    send(
        ctx.response()
            .putHeader(HttpHeaders.CONTENT_TYPE, format.contentType())
            .putHeader(HttpHeaders.VARY, "Accept"),
        body);
  }

  // ---- shared

  private static Digest digestParam(RoutingContext ctx, String name) {
    String value = ctx.pathParam(name);
    if (!Digest.isHex(value)) {
      throw CacheError.badRequest(
          "malformed sha256 '"
              + value
              + "' in "
              + ctx.request().path()
              + ": expected "
              + Digest.EXPECTED_FORM
              + ", e.g. /cas/"
              + "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
    return Digest.ofHex(value);
  }

  private static String etag(Digest digest) {
    return "\"" + digest.hex() + "\"";
  }

  private static void redirect(RoutingContext ctx, String location) {
    endWithoutBody(ctx.response().setStatusCode(301).putHeader(HttpHeaders.LOCATION, location));
  }

  private void renderFailure(RoutingContext ctx) {
    Throwable failure = ctx.failure();
    int status;
    String message;
    if (failure instanceof CacheError error) {
      status = error.httpStatus();
      message = error.getMessage();
      if (status >= 500) {
        LOG.warn("{} {}: {}", ctx.request().method(), ctx.request().path(), message);
      }
    } else if (failure == null && ctx.statusCode() == 413) {
      status = 413;
      message =
          "the body is larger than the "
              + MAX_ACTION_RESULT_BYTES
              + " bytes an action"
              + " result may have; store large data as a blob (PUT /cas/{sha256}) and name it in"
              + " the result's \"blobs\"";
    } else if (failure == null) {
      status = ctx.statusCode() > 0 ? ctx.statusCode() : 500;
      message = "request failed with status " + status;
    } else {
      status = 500;
      message =
          "internal error while handling "
              + ctx.request().method()
              + " "
              + ctx.request().path()
              + ": "
              + failure;
      LOG.error(message, failure);
    }
    if (ctx.response().headWritten()) {
      // Too late for a status: cut the connection so the client sees a broken, not a short, body.
      ctx.request()
          .connection()
          .close()
          .onFailure(closeFailure -> LOG.debug("closing a failed response: {}", closeFailure));
      return;
    }
    if ((status == 401 || status == 403)
        && ctx.request().method() == HttpMethod.PUT
        && !ctx.request().isEnded()) {
      // A refused writer's body is never read: close once the answer is out.
      ctx.put(CLOSE_AFTER_RESPONSE, true);
    }
    if (status == 401 || status == 403) {
      if (status == 401) {
        ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"kiln-cache-service\"");
      }
      LOG.info(
          "refused {} {} from {}: {}",
          ctx.request().method(),
          Quote.safe(ctx.request().path(), 200),
          ctx.request().remoteAddress(),
          status);
      if (Boolean.TRUE.equals(ctx.get(CLOSE_AFTER_RESPONSE))) {
        ctx.response().putHeader(HttpHeaders.CONNECTION, "close");
      }
      ctx.response()
          .setStatusCode(status)
          .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
          .end(new JsonObject().put("status", status).put("error", message).encode() + "\n")
          .onComplete(
              sent -> {
                if (Boolean.TRUE.equals(ctx.get(CLOSE_AFTER_RESPONSE))) {
                  ctx.request().connection().close();
                }
              });
    } else if (Boolean.TRUE.equals(ctx.get(CLOSE_AFTER_RESPONSE))
        || (ctx.request().method() == HttpMethod.PUT && !ctx.request().isEnded())) {
      // The body of a refused upload may still be arriving. Only farm-token holders get here, so
      // it is read and dropped (nothing touches the disk) and the connection closed at its end:
      // clients that send the whole body before reading the answer then still see the answer.
      HttpServerResponse response =
          ctx.response()
              .setStatusCode(status)
              .putHeader(HttpHeaders.CONNECTION, "close")
              .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8");
      response.end(message + "\n").onComplete(sent -> closeOnceTheBodyEnds(ctx.request()));
    } else {
      sendText(ctx, status, message);
    }
  }

  private static void closeOnceTheBodyEnds(HttpServerRequest request) {
    if (request.isEnded()) {
      request.connection().close();
      return;
    }
    request.exceptionHandler(broken -> {});
    request.handler(dropped -> {});
    request.endHandler(end -> request.connection().close());
    request.resume();
  }

  private static void sendText(RoutingContext ctx, int status, String message) {
    send(
        ctx.response()
            .setStatusCode(status)
            .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8"),
        message + "\n");
  }

  private static void endWithoutBody(HttpServerResponse response) {
    response
        .end()
        .onFailure(
            failure ->
                LOG.debug("client went away before the response was sent: {}", failure.toString()));
  }

  private static void send(HttpServerResponse response, String body) {
    response
        .end(body)
        .onFailure(
            failure ->
                LOG.debug("client went away before the response was sent: {}", failure.toString()));
  }
}
