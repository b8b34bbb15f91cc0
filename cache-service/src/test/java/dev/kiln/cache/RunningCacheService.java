package dev.kiln.cache;

import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A real cache-service on a free port, with a plain JDK HTTP client pointed at it. Unless started
 * {@link #startWithoutAuthentication without}, the service requires a fresh farm token, and every
 * request this class sends carries it, acts for tenant {@value #TENANT} and (a PUT) asks for public
 * scope — what a worker sends. {@link #as} changes those headers for one request.
 */
final class RunningCacheService implements AutoCloseable {
  private static final long DEPLOY_TIMEOUT_SECONDS = 30;
  static final String TENANT = "acme";

  final Vertx vertx;
  final CacheServiceVerticle verticle;

  /** The farm token the service accepts, or null when authentication is off. */
  final String farmToken;

  private final List<String> headers;
  private final HttpClient http;

  private RunningCacheService(
      Vertx vertx,
      CacheServiceVerticle verticle,
      String farmToken,
      List<String> headers,
      HttpClient http) {
    this.vertx = vertx;
    this.verticle = verticle;
    this.farmToken = farmToken;
    this.headers = headers;
    this.http = http;
  }

  static String newFarmToken() {
    byte[] random = new byte[32];
    new SecureRandom().nextBytes(random);
    return "kiln_farm_" + Base64.getUrlEncoder().withoutPadding().encodeToString(random);
  }

  /** With a fresh farm token required (the config's own, if it names one, is replaced). */
  static RunningCacheService start(CacheServiceConfig config) {
    String token = newFarmToken();
    return deploy(config.withFarmTokenSha256(CacheServiceConfig.sha256Hex(token)), token);
  }

  /** With {@code farmToken} required: replicas of one farm share its token. */
  static RunningCacheService startWithToken(CacheServiceConfig config, String farmToken) {
    return deploy(config.withFarmTokenSha256(CacheServiceConfig.sha256Hex(farmToken)), farmToken);
  }

  static RunningCacheService startWithoutAuthentication(CacheServiceConfig config) {
    return deploy(config, null);
  }

  private static RunningCacheService deploy(CacheServiceConfig config, String token) {
    Vertx vertx = Vertx.vertx();
    CacheServiceVerticle verticle = new CacheServiceVerticle(config);
    try {
      vertx.deployVerticle(verticle).await(DEPLOY_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      vertx.close();
      throw new IllegalStateException("the cache-service did not start in time", e);
    } catch (RuntimeException e) {
      vertx.close();
      throw e;
    }
    List<String> headers = new ArrayList<>();
    if (token != null) {
      headers.addAll(List.of("Authorization", "Bearer " + token));
      headers.addAll(List.of("X-Kiln-Tenant", TENANT));
    }
    return new RunningCacheService(
        vertx,
        verticle,
        token,
        headers,
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .followRedirects(HttpClient.Redirect.NEVER)
            .build());
  }

  /**
   * The same service, with these headers instead of the defaults (pairs of name and value; a null
   * value drops that default header), e.g. {@code as("X-Kiln-Tenant", "other")}.
   */
  RunningCacheService as(String... replacements) {
    List<String> changed = new ArrayList<>(headers);
    for (int i = 0; i < replacements.length; i += 2) {
      String name = replacements[i];
      for (int j = 0; j < changed.size(); j += 2) {
        if (changed.get(j).equalsIgnoreCase(name)) {
          changed.remove(j);
          changed.remove(j);
          break;
        }
      }
      if (replacements[i + 1] != null) {
        changed.add(name);
        changed.add(replacements[i + 1]);
      }
    }
    return new RunningCacheService(vertx, verticle, farmToken, changed, http);
  }

  /** Acting for another tenant. */
  RunningCacheService forTenant(String tenant) {
    return as("X-Kiln-Tenant", tenant);
  }

  /** Without any credential or tenant: what anyone who can connect sends. */
  RunningCacheService anonymous() {
    return as("Authorization", null, "X-Kiln-Tenant", null);
  }

  String baseUrl() {
    return verticle.baseUrl();
  }

  HttpResponse<String> get(String path, String... extraHeaders) {
    return send(request(path, extraHeaders).GET().build(), BodyHandlers.ofString());
  }

  HttpResponse<byte[]> getBytes(String path) {
    return send(request(path).GET().build(), BodyHandlers.ofByteArray());
  }

  HttpResponse<String> head(String path) {
    return send(
        request(path).method("HEAD", BodyPublishers.noBody()).build(), BodyHandlers.ofString());
  }

  /** A PUT asking for public scope unless the headers say otherwise. */
  HttpResponse<String> put(String path, byte[] body, String... extraHeaders) {
    List<String> all = new ArrayList<>(List.of(extraHeaders));
    boolean scoped = false;
    for (int i = 0; i < all.size(); i += 2) {
      scoped |= all.get(i).equalsIgnoreCase("X-Kiln-Scope");
    }
    if (!scoped) {
      all.addAll(List.of("X-Kiln-Scope", "public"));
    }
    return send(
        request(path, all.toArray(String[]::new)).PUT(BodyPublishers.ofByteArray(body)).build(),
        BodyHandlers.ofString());
  }

  HttpResponse<String> put(String path, String body, String... extraHeaders) {
    return put(path, body.getBytes(java.nio.charset.StandardCharsets.UTF_8), extraHeaders);
  }

  /** A PUT stored for this client's tenant only. */
  HttpResponse<String> putForTenant(String path, byte[] body) {
    return put(path, body, "X-Kiln-Scope", "tenant");
  }

  HttpResponse<String> putForTenant(String path, String body) {
    return put(path, body, "X-Kiln-Scope", "tenant");
  }

  private HttpRequest.Builder request(String path, String... extraHeaders) {
    HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(baseUrl() + path));
    List<String> all = new ArrayList<>(headers);
    all.addAll(List.of(extraHeaders));
    if (!all.isEmpty()) {
      builder.headers(all.toArray(String[]::new));
    }
    return builder;
  }

  private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
    try {
      return http.send(request, handler);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() throws Exception {
    vertx.close().await(DEPLOY_TIMEOUT_SECONDS, TimeUnit.SECONDS);
  }
}
