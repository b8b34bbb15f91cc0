package dev.kiln.cache.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.events.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Blocking client for the cache-service HTTP API, for worker threads and tools (no Vert.x).
 *
 * <p>Every method either does what it says or throws {@link CacheServiceClientException} with the
 * service's own explanation; downloads never leave a partial file at their destination.
 */
public final class CacheServiceClient {
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
  private static final ObjectMapper JSON = new ObjectMapper();

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
    this(
        baseUrl,
        farmToken,
        HttpClient.newBuilder()
            // Plain HTTP/1.1: the JDK's h2c upgrade attempt buys nothing on a loopback connection.
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(CONNECT_TIMEOUT)
            .build());
  }

  public CacheServiceClient(String baseUrl, String farmToken, HttpClient http) {
    this(checkedBaseUrl(baseUrl), farmToken, Objects.requireNonNull(http, "http"), null);
  }

  private CacheServiceClient(String baseUrl, String farmToken, HttpClient http, String tenant) {
    this.baseUrl = baseUrl;
    this.farmToken = farmToken == null || farmToken.isBlank() ? null : farmToken.strip();
    this.http = http;
    this.tenant = tenant;
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
    return new CacheServiceClient(baseUrl, farmToken, http, tenant);
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
    HttpResponse<InputStream> response =
        send(request(path).GET().build(), BodyHandlers.ofInputStream());
    try (InputStream body = response.body()) {
      if (response.statusCode() == 404) {
        return Optional.empty();
      }
      if (response.statusCode() != 200) {
        throw refused(response.statusCode(), "GET " + path, readAll(body));
      }
      Path parent = dest.toAbsolutePath().getParent();
      Files.createDirectories(parent);
      Path temp = Files.createTempFile(parent, ".kiln-download-", ".tmp");
      try {
        MessageDigest sha256 = Digest.newSha256();
        try (InputStream hashing = new DigestInputStream(body, sha256);
            OutputStream out = Files.newOutputStream(temp)) {
          hashing.transferTo(out);
        }
        Digest received = Digest.fromSha256(sha256);
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
    try {
      digest = Digest.compute(file);
      request =
          scoped(request("/cas/" + digest.hex()), scope, "a blob")
              .header("Content-Type", "application/octet-stream")
              .PUT(BodyPublishers.ofFile(file))
              .build();
    } catch (IOException e) {
      throw new CacheServiceClientException(
          "could not read " + file + " to upload it: " + e.getMessage(), e);
    }
    HttpResponse<String> response = send(request, BodyHandlers.ofString());
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

  private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
    try {
      return http.send(request, handler);
    } catch (IOException e) {
      throw new CacheServiceClientException(
          "cache-service at "
              + baseUrl
              + " is unreachable ("
              + request.method()
              + " "
              + request.uri().getPath()
              + "): "
              + e,
          e);
    } catch (InterruptedException e) {
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

  private static String readAll(InputStream body) throws IOException {
    return new String(body.readAllBytes(), StandardCharsets.UTF_8);
  }
}
