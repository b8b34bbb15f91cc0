package dev.kiln.cache.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.events.Digest;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.net.http.HttpResponse.BodySubscriber;
import java.net.http.HttpResponse.BodySubscribers;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Blocking client for the cache-service HTTP API, for worker threads and tools (no Vert.x).
 *
 * <p>Every method either does what it says or throws {@link CacheServiceClientException} with the
 * service's own explanation; downloads never leave a partial file at their destination. No call
 * waits forever: every request is bounded by the client's {@link Timeouts}, and running out of one
 * throws {@link CacheServiceClientException} naming the URL and the timeout.
 */
public final class CacheServiceClient {
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * How long calls may take.
   *
   * @param connect opening a TCP connection (applies to clients this class builds; a caller's own
   *     {@link HttpClient} keeps its connect timeout)
   * @param request the whole exchange of a metadata call ({@code HEAD}/{@code GET}/{@code PUT} of
   *     action results, index pages, blob existence), from sending to the last byte of the answer
   * @param transferStall blob downloads and uploads ({@code /cas}, {@code /files}): there is no
   *     bound on their total time, so big layers and wheels work on slow links, but the call fails
   *     once no byte has moved (request body sent, answer headers or body received) for this long
   */
  public record Timeouts(Duration connect, Duration request, Duration transferStall) {
    public Timeouts {
      requirePositive(connect, "connect");
      requirePositive(request, "request");
      requirePositive(transferStall, "transferStall");
    }

    /** Connect 10 s, metadata requests 60 s, blob transfers 5 min without a byte moving. */
    public static Timeouts defaults() {
      return new Timeouts(Duration.ofSeconds(10), Duration.ofSeconds(60), Duration.ofMinutes(5));
    }

    public Timeouts withConnect(Duration connect) {
      return new Timeouts(connect, request, transferStall);
    }

    public Timeouts withRequest(Duration request) {
      return new Timeouts(connect, request, transferStall);
    }

    public Timeouts withTransferStall(Duration transferStall) {
      return new Timeouts(connect, request, transferStall);
    }

    private static void requirePositive(Duration d, String name) {
      Objects.requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + " timeout must be positive, not " + d);
      }
    }
  }

  /** Who a stored blob or action result may be read on behalf of. */
  public enum Scope {
    /** Every tenant: built only from public inputs (public-index wheels, public layers). */
    PUBLIC,
    /** Only the tenant this client acts for ({@link #forTenant}). */
    TENANT
  }

  private final String baseUrl;
  private final HttpClient http;
  private final String farmToken;
  private final String tenant;
  private final Timeouts timeouts;

  /**
   * A client without credentials, for a service with authentication off (tests).
   *
   * @param baseUrl where the service listens, e.g. {@code http://127.0.0.1:8790}
   */
  public CacheServiceClient(String baseUrl) {
    this(baseUrl, (String) null);
  }

  public CacheServiceClient(String baseUrl, HttpClient http) {
    this(baseUrl, null, http);
  }

  /**
   * @param farmToken the farm token ({@code KILN_FARM_TOKEN}), sent as {@code Authorization:
   *     Bearer} on every request; null sends none
   */
  public CacheServiceClient(String baseUrl, String farmToken) {
    this(baseUrl, farmToken, Timeouts.defaults());
  }

  /** A client with its own timeouts (see {@link Timeouts}; {@link Timeouts#defaults()} else). */
  public CacheServiceClient(String baseUrl, String farmToken, Timeouts timeouts) {
    this(baseUrl, farmToken, httpClient(Objects.requireNonNull(timeouts, "timeouts")), timeouts);
  }

  /**
   * A client on the caller's {@link HttpClient}, with the default request and transfer timeouts.
   */
  public CacheServiceClient(String baseUrl, String farmToken, HttpClient http) {
    this(baseUrl, farmToken, http, Timeouts.defaults());
  }

  public CacheServiceClient(String baseUrl, String farmToken, HttpClient http, Timeouts timeouts) {
    this(
        checkedBaseUrl(baseUrl),
        farmToken,
        Objects.requireNonNull(http, "http"),
        Objects.requireNonNull(timeouts, "timeouts"),
        null);
  }

  private CacheServiceClient(
      String baseUrl, String farmToken, HttpClient http, Timeouts timeouts, String tenant) {
    this.baseUrl = baseUrl;
    this.farmToken = farmToken == null || farmToken.isBlank() ? null : farmToken.strip();
    this.http = http;
    this.timeouts = timeouts;
    this.tenant = tenant;
  }

  private static HttpClient httpClient(Timeouts timeouts) {
    return HttpClient.newBuilder()
        // Plain HTTP/1.1: the JDK's h2c upgrade attempt buys nothing on a loopback connection.
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(timeouts.connect())
        .build();
  }

  /** The timeouts every call of this client is bounded by. */
  public Timeouts timeouts() {
    return timeouts;
  }

  private static String checkedBaseUrl(String baseUrl) {
    Objects.requireNonNull(baseUrl, "baseUrl");
    URI parsed = URI.create(baseUrl);
    if (!"http".equals(parsed.getScheme()) && !"https".equals(parsed.getScheme())) {
      throw new IllegalArgumentException(
          "cache-service URL '" + baseUrl + "' must start with http:// or https://");
    }
    return baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
  }

  /**
   * The same client acting for {@code tenant}: every request carries {@code X-Kiln-Tenant}, reads
   * see public entries and the tenant's own, and {@link Scope#TENANT} writes belong to it.
   */
  public CacheServiceClient forTenant(String tenant) {
    if (tenant == null || !tenant.matches("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")) {
      throw new IllegalArgumentException(
          "'" + tenant + "' is not a tenant name (1-63 lowercase letters, digits and '-')");
    }
    return new CacheServiceClient(baseUrl, farmToken, http, timeouts, tenant);
  }

  /** The tenant this client acts for, if any. */
  public Optional<String> tenant() {
    return Optional.ofNullable(tenant);
  }

  public String baseUrl() {
    return baseUrl;
  }

  /**
   * The tenant's private index {@code indexName}, proxied with its credentials (which never reach
   * the caller): {@code <base>/tenants/<tenant>/indexes/<name>/simple/}.
   */
  public String tenantIndexUrl(String indexName) {
    return baseUrl
        + "/tenants/"
        + requireTenant("a private index URL")
        + "/indexes/"
        + indexName
        + "/simple/";
  }

  /** Downloads a file of one of the tenant's private indexes by its hash, verifying it. */
  public Optional<Path> getTenantIndexFile(Digest digest, String filename, Path dest) {
    if (filename.isBlank() || filename.contains("/") || filename.contains("\\")) {
      throw new IllegalArgumentException("'" + filename + "' is not a file name");
    }
    return download(
        "/tenants/"
            + requireTenant("a private index file")
            + "/files/"
            + digest.hex()
            + "/"
            + URLEncoder.encode(filename, StandardCharsets.UTF_8),
        digest,
        dest);
  }

  private String requireTenant(String what) {
    if (tenant == null) {
      throw new IllegalStateException(
          what + " belongs to a tenant: use forTenant(tenant) to get a client acting for it");
    }
    return tenant;
  }

  /** The PEP 503 / PEP 691 index to hand to pip as {@code --index-url}. */
  public String indexUrl() {
    return baseUrl + "/simple/";
  }

  /**
   * Downloads a blob to {@code dest} (replacing it), verifying its hash on the way.
   *
   * @return {@code dest}, or empty when the store does not have the blob
   */
  public Optional<Path> getBlob(Digest digest, Path dest) {
    return download("/cas/" + digest.hex(), digest, dest);
  }

  /**
   * Downloads a file of the package index by its hash ({@code GET /files/<sha256>/<filename>}): the
   * cache-service fetches it from its upstream once and serves it from the store after that. The
   * hash is verified on the way.
   *
   * @return {@code dest}, or empty when neither the store nor the upstream index has the file
   */
  public Optional<Path> getIndexFile(Digest digest, String filename, Path dest) {
    if (filename.isBlank() || filename.contains("/") || filename.contains("\\")) {
      throw new IllegalArgumentException("'" + filename + "' is not a file name");
    }
    return download(
        "/files/" + digest.hex() + "/" + URLEncoder.encode(filename, StandardCharsets.UTF_8),
        digest,
        dest);
  }

  /** One file the index lists for a project. */
  public record IndexFile(String filename, Digest sha256, String requiresPython, boolean yanked) {}

  /**
   * The files the package index lists for {@code project} (its PEP 691 JSON page); empty when the
   * index does not know the project.
   */
  public List<IndexFile> projectFiles(String project) {
    String normalized = project.toLowerCase(Locale.ROOT).replaceAll("[-_.]+", "-");
    if (!normalized.matches("[a-z0-9]([a-z0-9-]*[a-z0-9])?")) {
      throw new IllegalArgumentException("'" + project + "' is not a project name");
    }
    String path = "/simple/" + normalized + "/";
    HttpResponse<String> response =
        send(
            request(path).header("Accept", "application/vnd.pypi.simple.v1+json").GET().build(),
            BodyHandlers.ofString(StandardCharsets.UTF_8));
    if (response.statusCode() == 404) {
      return List.of();
    }
    if (response.statusCode() != 200) {
      throw refused(response.statusCode(), "GET " + path, response.body());
    }
    try {
      List<IndexFile> files = new ArrayList<>();
      for (JsonNode file : JSON.readTree(response.body()).path("files")) {
        String sha256 = file.path("hashes").path("sha256").asText("");
        if (!Digest.isHex(sha256)) {
          continue;
        }
        JsonNode requires = file.get("requires-python");
        JsonNode yanked = file.get("yanked");
        files.add(
            new IndexFile(
                file.path("filename").asText(),
                Digest.ofHex(sha256),
                requires == null || requires.isNull() ? null : requires.asText(),
                yanked != null && (yanked.asBoolean(false) || yanked.isTextual())));
      }
      return files;
    } catch (IOException e) {
      throw new CacheServiceClientException(
          "cache-service at " + baseUrl + " sent an unreadable page for " + path + ": " + e, e);
    }
  }

  private Optional<Path> download(String path, Digest digest, Path dest) {
    try {
      Path parent = dest.toAbsolutePath().getParent();
      Files.createDirectories(parent);
      Path temp = Files.createTempFile(parent, ".kiln-download-", ".tmp");
      try {
        // A 200 streams into the temp file (body null); anything else is read as the service's
        // text.
        HttpResponse<String> response =
            transfer(
                request(path).GET().build(),
                info ->
                    info.statusCode() == 200
                        ? BodySubscribers.mapping(BodySubscribers.ofFile(temp), ignored -> null)
                        : BodySubscribers.ofString(StandardCharsets.UTF_8),
                new Progress());
        if (response.statusCode() == 404) {
          return Optional.empty();
        }
        if (response.statusCode() != 200) {
          throw refused(response.statusCode(), "GET " + path, response.body());
        }
        Digest received = Digest.compute(temp);
        if (!received.equals(digest)) {
          throw new CacheServiceClientException(
              502,
              "cache-service at "
                  + baseUrl
                  + " sent "
                  + received
                  + " when asked for "
                  + digest
                  + " ("
                  + path
                  + "); the store or its upstream may be corrupt");
        }
        Files.move(temp, dest, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return Optional.of(dest);
      } finally {
        Files.deleteIfExists(temp);
      }
    } catch (IOException e) {
      throw new CacheServiceClientException(
          "could not download "
              + digest
              + " from cache-service at "
              + baseUrl
              + " to "
              + dest
              + ": "
              + e.getMessage(),
          e);
    }
  }

  public boolean hasBlob(Digest digest) {
    HttpResponse<String> response =
        send(
            request("/cas/" + digest.hex()).method("HEAD", BodyPublishers.noBody()).build(),
            BodyHandlers.ofString());
    if (response.statusCode() == 200) {
      return true;
    }
    if (response.statusCode() == 404) {
      return false;
    }
    throw refused(response.statusCode(), "HEAD /cas/" + digest.hex(), response.body());
  }

  /** {@link #putBlob(Path, Scope)} of a {@link Scope#PUBLIC} blob. */
  public Digest putBlob(Path file) {
    return putBlob(file, Scope.PUBLIC);
  }

  /**
   * Uploads a file and returns its digest; uploading a blob the store already has is fine (it then
   * also becomes readable for {@code scope}).
   *
   * @throws CacheServiceClientException 413 over the service's blob limit, 507 over the tenant's
   *     store quota or with the store full; the message is the service's
   */
  public Digest putBlob(Path file, Scope scope) {
    Digest digest;
    HttpRequest request;
    Progress progress = new Progress();
    try {
      digest = Digest.compute(file);
      request =
          scoped(request("/cas/" + digest.hex()), scope, "a blob")
              .header("Content-Type", "application/octet-stream")
              .PUT(progress.watch(BodyPublishers.ofFile(file)))
              .build();
    } catch (IOException e) {
      throw new CacheServiceClientException(
          "could not read " + file + " to upload it: " + e.getMessage(), e);
    }
    HttpResponse<String> response = transfer(request, BodyHandlers.ofString(), progress);
    if (response.statusCode() != 200 && response.statusCode() != 201) {
      throw refused(response.statusCode(), "PUT /cas/" + digest.hex(), response.body());
    }
    return digest;
  }

  /** The action result stored under {@code key}, if present and every blob it names still is. */
  public Optional<String> getAction(String key) {
    requireActionKey(key);
    HttpResponse<String> response =
        send(request("/ac/" + key).GET().build(), BodyHandlers.ofString(StandardCharsets.UTF_8));
    if (response.statusCode() == 404) {
      return Optional.empty();
    }
    if (response.statusCode() != 200) {
      throw refused(response.statusCode(), "GET /ac/" + key, response.body());
    }
    return Optional.of(response.body());
  }

  /**
   * Stores an action result: a JSON object whose optional {@code blobs} array lists {@code
   * "sha256:<hex>"} digests that must already be in the store.
   */
  public void putAction(String key, String json) {
    putAction(key, json, Scope.PUBLIC);
  }

  /**
   * Stores an action result readable for {@code scope}. A {@link Scope#PUBLIC} result may name
   * public blobs only; a {@link Scope#TENANT} one, blobs readable for the tenant.
   */
  public void putAction(String key, String json, Scope scope) {
    requireActionKey(key);
    HttpResponse<String> response =
        send(
            scoped(request("/ac/" + key), scope, "an action result")
                .header("Content-Type", "application/json")
                .PUT(BodyPublishers.ofString(json, StandardCharsets.UTF_8))
                .build(),
            BodyHandlers.ofString());
    if (response.statusCode() != 200 && response.statusCode() != 201) {
      throw refused(response.statusCode(), "PUT /ac/" + key, response.body());
    }
  }

  private static void requireActionKey(String key) {
    if (!Digest.isHex(key)) {
      throw new IllegalArgumentException(
          "malformed action key '" + key + "': expected " + Digest.EXPECTED_FORM);
    }
  }

  private HttpRequest.Builder request(String path) {
    HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(baseUrl + path));
    if (farmToken != null) {
      builder.header("Authorization", "Bearer " + farmToken);
    }
    if (tenant != null) {
      builder.header("X-Kiln-Tenant", tenant);
    }
    return builder;
  }

  private HttpRequest.Builder scoped(HttpRequest.Builder builder, Scope scope, String what) {
    Objects.requireNonNull(scope, "scope");
    if (scope == Scope.TENANT) {
      requireTenant("storing " + what + " with Scope.TENANT");
    }
    return builder.header("X-Kiln-Scope", scope == Scope.PUBLIC ? "public" : "tenant");
  }

  /** A metadata call: the whole exchange is bounded by {@link Timeouts#request()}. */
  private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
    HttpRequest bounded =
        HttpRequest.newBuilder(request, (name, value) -> true).timeout(timeouts.request()).build();
    return exchange(bounded, handler, new Progress(), false);
  }

  /** A blob transfer: fails once no byte moved for {@link Timeouts#transferStall()}. */
  private <T> HttpResponse<T> transfer(
      HttpRequest request, HttpResponse.BodyHandler<T> handler, Progress progress) {
    return exchange(request, handler, progress, true);
  }

  private <T> HttpResponse<T> exchange(
      HttpRequest request, HttpResponse.BodyHandler<T> handler, Progress progress, boolean stall) {
    HttpResponse.BodyHandler<T> watched = info -> progress.watch(handler.apply(info));
    long limit = (stall ? timeouts.transferStall() : timeouts.request()).toNanos();
    long started = System.nanoTime();
    CompletableFuture<HttpResponse<T>> answer = http.sendAsync(request, watched);
    try {
      while (true) {
        long remaining = (stall ? progress.last() : started) + limit - System.nanoTime();
        if (remaining <= 0) {
          answer.cancel(true);
          throw timedOut(request, stall, null);
        }
        try {
          return answer.get(remaining, TimeUnit.NANOSECONDS);
        } catch (TimeoutException notYet) {
          // Loop: a transfer that moved bytes meanwhile gets a new window.
        }
      }
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      if (cause instanceof HttpConnectTimeoutException) {
        throw new CacheServiceClientException(
            "could not connect to cache-service at "
                + baseUrl
                + " within "
                + human(timeouts.connect())
                + " (the client's connect timeout; "
                + request.method()
                + " "
                + request.uri()
                + ")",
            cause);
      }
      if (cause instanceof HttpTimeoutException) {
        throw timedOut(request, stall, cause);
      }
      throw new CacheServiceClientException(
          "cache-service at "
              + baseUrl
              + " is unreachable ("
              + request.method()
              + " "
              + request.uri().getPath()
              + "): "
              + cause,
          cause);
    } catch (InterruptedException e) {
      answer.cancel(true);
      Thread.currentThread().interrupt();
      throw new CacheServiceClientException(
          "interrupted while calling cache-service at "
              + baseUrl
              + " ("
              + request.method()
              + " "
              + request.uri().getPath()
              + ")",
          e);
    }
  }

  private CacheServiceClientException timedOut(
      HttpRequest request, boolean stall, Throwable cause) {
    String what = request.method() + " " + request.uri();
    String message =
        stall
            ? "cache-service at "
                + baseUrl
                + " stalled: "
                + what
                + " moved no bytes for "
                + human(timeouts.transferStall())
                + " (the client's transfer-stall timeout)"
            : "cache-service at "
                + baseUrl
                + " did not answer "
                + what
                + " within "
                + human(timeouts.request())
                + " (the client's request timeout)";
    return new CacheServiceClientException(
        message, cause != null ? cause : new HttpTimeoutException(message));
  }

  private static String human(Duration d) {
    long millis = d.toMillis();
    return millis % 1000 == 0 ? millis / 1000 + " s" : millis + " ms";
  }

  /** When bytes last moved in one exchange, fed by the request body and the answer. */
  private static final class Progress {
    private final AtomicLong last = new AtomicLong(System.nanoTime());

    long last() {
      return last.get();
    }

    void tick() {
      last.set(System.nanoTime());
    }

    <T> BodySubscriber<T> watch(BodySubscriber<T> body) {
      tick(); // the answer's headers arrived
      return new BodySubscriber<>() {
        @Override
        public CompletionStage<T> getBody() {
          return body.getBody();
        }

        @Override
        public void onSubscribe(Flow.Subscription subscription) {
          body.onSubscribe(subscription);
        }

        @Override
        public void onNext(List<ByteBuffer> item) {
          tick();
          body.onNext(item);
        }

        @Override
        public void onError(Throwable throwable) {
          body.onError(throwable);
        }

        @Override
        public void onComplete() {
          body.onComplete();
        }
      };
    }

    HttpRequest.BodyPublisher watch(HttpRequest.BodyPublisher publisher) {
      if (publisher.contentLength() <= 0) {
        return publisher; // empty (or unknown length): nothing worth watching, keep the framing
      }
      return BodyPublishers.fromPublisher(
          subscriber ->
              publisher.subscribe(
                  new Flow.Subscriber<ByteBuffer>() {
                    @Override
                    public void onSubscribe(Flow.Subscription subscription) {
                      subscriber.onSubscribe(subscription);
                    }

                    @Override
                    public void onNext(ByteBuffer item) {
                      tick();
                      subscriber.onNext(item);
                    }

                    @Override
                    public void onError(Throwable throwable) {
                      subscriber.onError(throwable);
                    }

                    @Override
                    public void onComplete() {
                      subscriber.onComplete();
                    }
                  }),
          publisher.contentLength());
    }
  }

  private CacheServiceClientException refused(int status, String what, String body) {
    return new CacheServiceClientException(
        status,
        "cache-service at "
            + baseUrl
            + " answered "
            + status
            + " to "
            + what
            + ": "
            + serviceMessage(body));
  }

  /** The service's own words: the text body, or the {@code error} of a JSON one (401, 403). */
  private static String serviceMessage(String body) {
    String text = body == null ? "" : body.strip();
    if (text.startsWith("{")) {
      try {
        JsonNode error = JSON.readTree(text).get("error");
        if (error != null && error.isTextual()) {
          return error.asText();
        }
      } catch (IOException notJson) {
        // Fall through to the raw body.
      }
    }
    return text;
  }
}
