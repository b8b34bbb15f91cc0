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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** A real cache-service on a free port, with a plain JDK HTTP client pointed at it. */
final class RunningCacheService implements AutoCloseable {
  private static final long DEPLOY_TIMEOUT_SECONDS = 30;

  final Vertx vertx;
  final CacheServiceVerticle verticle;
  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .followRedirects(HttpClient.Redirect.NEVER)
          .build();

  private RunningCacheService(Vertx vertx, CacheServiceVerticle verticle) {
    this.vertx = vertx;
    this.verticle = verticle;
  }

  static RunningCacheService start(CacheServiceConfig config) {
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
    return new RunningCacheService(vertx, verticle);
  }

  String baseUrl() {
    return verticle.baseUrl();
  }

  HttpResponse<String> get(String path, String... headers) {
    return send(request(path, headers).GET().build(), BodyHandlers.ofString());
  }

  HttpResponse<byte[]> getBytes(String path) {
    return send(request(path).GET().build(), BodyHandlers.ofByteArray());
  }

  HttpResponse<String> head(String path) {
    return send(
        request(path).method("HEAD", BodyPublishers.noBody()).build(), BodyHandlers.ofString());
  }

  HttpResponse<String> put(String path, byte[] body) {
    return send(
        request(path).PUT(BodyPublishers.ofByteArray(body)).build(), BodyHandlers.ofString());
  }

  HttpResponse<String> put(String path, String body) {
    return put(path, body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  private HttpRequest.Builder request(String path, String... headers) {
    HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(baseUrl() + path));
    if (headers.length > 0) {
      builder.headers(headers);
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
