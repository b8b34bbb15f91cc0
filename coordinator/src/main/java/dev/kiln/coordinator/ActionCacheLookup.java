package dev.kiln.coordinator;

import dev.kiln.events.DependencyLayer;
import dev.kiln.events.EventCodec;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks the cache-service's action cache whether a dependency set was installed before ({@code GET
 * /ac/{dependencyKey}}). Every failure is a miss: the cache only ever saves work, so a slow or
 * broken cache-service must not fail a build.
 */
final class ActionCacheLookup {
  private static final Logger LOG = LoggerFactory.getLogger(ActionCacheLookup.class);
  private static final long TIMEOUT_MILLIS = 5_000;

  private final HttpClient client;
  private final String baseUrl;
  private final String farmToken;

  /**
   * @param farmToken the farm credential the cache-service asks for; null when it asks for none
   */
  ActionCacheLookup(Vertx vertx, String baseUrl, String farmToken) {
    this.client =
        vertx.createHttpClient(
            new HttpClientOptions().setConnectTimeout((int) TIMEOUT_MILLIS).setKeepAlive(true));
    this.baseUrl = baseUrl;
    this.farmToken = farmToken;
  }

  /**
   * The layer cached for {@code dependencyKey} that {@code tenant} may use (a public one, or its
   * own), or empty when it must be installed.
   */
  Future<Optional<DependencyLayer>> find(String tenant, String dependencyKey) {
    String url = baseUrl + "/ac/" + URLEncoder.encode(dependencyKey, StandardCharsets.UTF_8);
    RequestOptions request =
        new RequestOptions()
            .setMethod(HttpMethod.GET)
            .setAbsoluteURI(url)
            .setTimeout(TIMEOUT_MILLIS)
            .putHeader("X-Kiln-Tenant", tenant);
    if (farmToken != null) {
      request.putHeader("Authorization", "Bearer " + farmToken);
    }
    return client
        .request(request)
        .compose(req -> req.send())
        .compose(
            response ->
                response
                    .body()
                    .map(
                        body ->
                            response.statusCode() == 200
                                ? parse(dependencyKey, body.getBytes())
                                : Optional.<DependencyLayer>empty()))
        .recover(
            e -> {
              LOG.warn("action cache lookup {} failed, installing instead: {}", url, e.toString());
              return Future.succeededFuture(Optional.empty());
            });
  }

  Future<Void> close() {
    return client.close();
  }

  /** Accepts the worker's action entry: a DependencyLayer, plus fields we do not need. */
  static Optional<DependencyLayer> parse(String dependencyKey, byte[] json) {
    try {
      DependencyLayer layer = EventCodec.mapper().readValue(json, DependencyLayer.class);
      if (layer == null || layer.blob() == null || !dependencyKey.equals(layer.key())) {
        LOG.warn(
            "action cache entry for {} is not a layer of that dependency set; installing",
            dependencyKey);
        return Optional.empty();
      }
      return Optional.of(layer);
    } catch (IOException | RuntimeException e) {
      LOG.warn(
          "action cache entry for {} is unreadable, installing instead: {}",
          dependencyKey,
          e.toString());
      return Optional.empty();
    }
  }
}
