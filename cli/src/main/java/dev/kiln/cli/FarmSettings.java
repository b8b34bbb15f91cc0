package dev.kiln.cli;

import dev.kiln.messaging.KafkaClientSettings;
import dev.kiln.worker.assemble.DockerfileBuild;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Everything needed to start a farm in one process.
 *
 * @param runtimeCatalog {@code default}, {@code offline}, a catalog file, or null to choose by
 *     whether Docker Hub can be reached
 * @param debianMirror where the offline runtimes' Debian packages come from
 * @param buildStepTimeout the longest one build step (a hook, collectstatic, build_command) runs
 * @param buildStepMemoryMiB the memory one build step may use
 * @param nltkDataUrl the NLTK data index the cache-service proxies for {@code nltk.txt}
 * @param indexPageTtl how long the cache-service reuses a project page of the upstream index (null:
 *     its default); a new release is seen by new resolutions after at most this long
 * @param autoCreateTenants a push with the operator token for a tenant that does not exist creates
 *     the tenant (default sources and quotas) instead of failing {@code tenant::unknown}: zero
 *     setup for the single-machine farm; turn it off where tenants are managed
 * @param kafkaClient the operator's Kafka client settings (SASL, TLS, …) for every Kafka client of
 *     the farm; only with an external cluster ({@code kafka}); null for none
 * @param ociLayouts without a registry, images go to one OCI image layout per app under {@code
 *     <home>/images/} (blobs shared between its images) instead of a tarball per build
 * @param dockerfileBuilder how the workers build Dockerfile apps with the local Docker daemon;
 *     null: they have no Dockerfile builder and such apps fail with {@code dockerfile::no-builder}
 */
public record FarmSettings(
    Path home,
    String kafka,
    String upstreamIndex,
    String registry,
    int httpPort,
    int cachePort,
    int workers,
    String runtimeCatalog,
    String topicPrefix,
    String debianMirror,
    Duration buildStepTimeout,
    long buildStepMemoryMiB,
    String nltkDataUrl,
    Duration indexPageTtl,
    boolean autoCreateTenants,
    KafkaClientSettings kafkaClient,
    boolean ociLayouts,
    DockerfileBuild.Settings dockerfileBuilder) {

  public static final String DEFAULT_DEBIAN_MIRROR = "http://deb.debian.org/debian";
  public static final Duration DEFAULT_BUILD_STEP_TIMEOUT = Duration.ofMinutes(15);
  public static final long DEFAULT_BUILD_STEP_MEMORY_MIB = 2048;

  public FarmSettings {
    kafkaClient = kafkaClient == null ? KafkaClientSettings.none() : kafkaClient;
  }

  /** A farm whose workers have no Dockerfile builder. */
  public FarmSettings(
      Path home,
      String kafka,
      String upstreamIndex,
      String registry,
      int httpPort,
      int cachePort,
      int workers,
      String runtimeCatalog,
      String topicPrefix,
      String debianMirror,
      Duration buildStepTimeout,
      long buildStepMemoryMiB,
      String nltkDataUrl,
      Duration indexPageTtl,
      boolean autoCreateTenants,
      KafkaClientSettings kafkaClient,
      boolean ociLayouts) {
    this(
        home,
        kafka,
        upstreamIndex,
        registry,
        httpPort,
        cachePort,
        workers,
        runtimeCatalog,
        topicPrefix,
        debianMirror,
        buildStepTimeout,
        buildStepMemoryMiB,
        nltkDataUrl,
        indexPageTtl,
        autoCreateTenants,
        kafkaClient,
        ociLayouts,
        null);
  }

  /** The same farm whose workers build Dockerfile apps as {@code builder} says (null: none). */
  public FarmSettings withDockerfileBuilder(DockerfileBuild.Settings builder) {
    return new FarmSettings(
        home,
        kafka,
        upstreamIndex,
        registry,
        httpPort,
        cachePort,
        workers,
        runtimeCatalog,
        topicPrefix,
        debianMirror,
        buildStepTimeout,
        buildStepMemoryMiB,
        nltkDataUrl,
        indexPageTtl,
        autoCreateTenants,
        kafkaClient,
        ociLayouts,
        builder);
  }

  /** A farm in {@code home} with the defaults for everything a test or demo does not care about. */
  public static FarmSettings local(
      Path home, String upstreamIndex, String registry, int workers, String runtimeCatalog) {
    return new FarmSettings(
        home,
        null,
        upstreamIndex,
        registry,
        0,
        0,
        workers,
        runtimeCatalog,
        "",
        DEFAULT_DEBIAN_MIRROR,
        DEFAULT_BUILD_STEP_TIMEOUT,
        DEFAULT_BUILD_STEP_MEMORY_MIB,
        null,
        null,
        true,
        KafkaClientSettings.none(),
        false,
        null);
  }

  public FarmSettings withRuntimeCatalog(String catalog) {
    return new FarmSettings(
        home,
        kafka,
        upstreamIndex,
        registry,
        httpPort,
        cachePort,
        workers,
        catalog,
        topicPrefix,
        debianMirror,
        buildStepTimeout,
        buildStepMemoryMiB,
        nltkDataUrl,
        indexPageTtl,
        autoCreateTenants,
        kafkaClient,
        ociLayouts,
        dockerfileBuilder);
  }

  public FarmSettings withAutoCreateTenants(boolean on) {
    return new FarmSettings(
        home,
        kafka,
        upstreamIndex,
        registry,
        httpPort,
        cachePort,
        workers,
        runtimeCatalog,
        topicPrefix,
        debianMirror,
        buildStepTimeout,
        buildStepMemoryMiB,
        nltkDataUrl,
        indexPageTtl,
        on,
        kafkaClient,
        ociLayouts,
        dockerfileBuilder);
  }

  public FarmSettings withNltkDataUrl(String url) {
    return new FarmSettings(
        home,
        kafka,
        upstreamIndex,
        registry,
        httpPort,
        cachePort,
        workers,
        runtimeCatalog,
        topicPrefix,
        debianMirror,
        buildStepTimeout,
        buildStepMemoryMiB,
        url,
        indexPageTtl,
        autoCreateTenants,
        kafkaClient,
        ociLayouts,
        dockerfileBuilder);
  }

  public FarmSettings withIndexPageTtl(Duration ttl) {
    return new FarmSettings(
        home,
        kafka,
        upstreamIndex,
        registry,
        httpPort,
        cachePort,
        workers,
        runtimeCatalog,
        topicPrefix,
        debianMirror,
        buildStepTimeout,
        buildStepMemoryMiB,
        nltkDataUrl,
        ttl,
        autoCreateTenants,
        kafkaClient,
        ociLayouts,
        dockerfileBuilder);
  }

  /** The same farm with the operator's Kafka client settings (for an external cluster). */
  public FarmSettings withKafkaClient(KafkaClientSettings settings) {
    return new FarmSettings(
        home,
        kafka,
        upstreamIndex,
        registry,
        httpPort,
        cachePort,
        workers,
        runtimeCatalog,
        topicPrefix,
        debianMirror,
        buildStepTimeout,
        buildStepMemoryMiB,
        nltkDataUrl,
        indexPageTtl,
        autoCreateTenants,
        settings,
        ociLayouts,
        dockerfileBuilder);
  }
}
