package dev.kiln.worker.testsupport;

import dev.kiln.cache.CacheServiceConfig;
import dev.kiln.cache.CacheServiceVerticle;
import dev.kiln.cache.client.CacheServiceClient;
import dev.kiln.testkit.StaticIndexServer;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The real cache-service on a free port, proxying a real PEP 503 index that serves the wheels a
 * test wrote into {@link #wheels()}.
 */
public final class CacheServiceFixture implements AutoCloseable {
  private final Vertx vertx;
  private final StaticIndexServer upstream;
  private final CacheServiceVerticle service;
  private final Path wheels;

  private CacheServiceFixture(
      Vertx vertx, StaticIndexServer upstream, CacheServiceVerticle service, Path wheels) {
    this.vertx = vertx;
    this.upstream = upstream;
    this.service = service;
    this.wheels = wheels;
  }

  public static CacheServiceFixture start(Path dir) throws Exception {
    return start(dir, config -> config);
  }

  /** The same, with the configuration changed by {@code configure} (e.g. an NLTK data index). */
  public static CacheServiceFixture start(
      Path dir, java.util.function.UnaryOperator<CacheServiceConfig> configure) throws Exception {
    Path wheels = java.nio.file.Files.createDirectories(dir.resolve("upstream-wheels"));
    StaticIndexServer upstream = StaticIndexServer.start(wheels);
    Vertx vertx = Vertx.vertx();
    CacheServiceVerticle service =
        new CacheServiceVerticle(
            configure.apply(
                CacheServiceConfig.of(dir.resolve("cache-store"), upstream.indexUrl())
                    .withProjectPageTtl(java.time.Duration.ZERO)));
    vertx
        .deployVerticle(service)
        .toCompletionStage()
        .toCompletableFuture()
        .get(30, TimeUnit.SECONDS);
    return new CacheServiceFixture(vertx, upstream, service, wheels);
  }

  /** Where to write wheels for the upstream index. */
  public Path wheels() {
    return wheels;
  }

  public StaticIndexServer upstream() {
    return upstream;
  }

  public String baseUrl() {
    return service.baseUrl();
  }

  public CacheServiceClient client() {
    return new CacheServiceClient(service.baseUrl());
  }

  @Override
  public void close() {
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("the cache-service did not stop", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      upstream.close();
    }
  }
}
