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

  private final String baseUrl;
  private final HttpClient http;

  /**
   * @param baseUrl where the service listens, e.g. {@code http://127.0.0.1:8790}
   */
  public CacheServiceClient(String baseUrl) {
    this(
        baseUrl,
        HttpClient.newBuilder()
            // Plain HTTP/1.1: the JDK's h2c upgrade attempt buys nothing on a loopback connection.
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(CONNECT_TIMEOUT)
            .build());
  }

  public CacheServiceClient(String baseUrl, HttpClient http) {
    Objects.requireNonNull(baseUrl, "baseUrl");
    URI parsed = URI.create(baseUrl);
    if (!"http".equals(parsed.getScheme()) && !"https".equals(parsed.getScheme())) {
      throw new IllegalArgumentException(
          "cache-service URL '" + baseUrl + "' must start with http:// or https://");
    }
    this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
    this.http = Objects.requireNonNull(http, "http");
  }

  public String baseUrl() {
    return baseUrl;
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

  /** Uploads a file and returns its digest; uploading a blob the store already has is fine. */
  public Digest putBlob(Path file) {
    Digest digest;
    HttpRequest request;
    try {
      digest = Digest.compute(file);
      request =
          request("/cas/" + digest.hex())
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
    requireActionKey(key);
    HttpResponse<String> response =
        send(
            request("/ac/" + key)
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
    return HttpRequest.newBuilder(URI.create(baseUrl + path));
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
            + body.strip());
  }

  private static String readAll(InputStream body) throws IOException {
    return new String(body.readAllBytes(), StandardCharsets.UTF_8);
  }
}
