package dev.kiln.cli;

import dev.kiln.messaging.KafkaClientSettings;
import dev.kiln.worker.assemble.DockerfileBuild;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * Settings shared by the commands that start or talk to a farm; each has an environment variable.
 */
public final class FarmOptions {
  @Option(
      names = "--home",
      defaultValue = "${env:KILN_HOME:-.kiln}",
      description =
          "State directory (store, work dirs, images, embedded Kafka). Env: KILN_HOME. Default: ${DEFAULT-VALUE}")
  Path home;

  @Option(
      names = "--kafka",
      paramLabel = "HOST:PORT",
      defaultValue = "${env:KILN_KAFKA}",
      description = "Use this Kafka cluster instead of the embedded broker. Env: KILN_KAFKA.")
  String kafka;

  @Option(
      names = "--kafka-properties",
      paramLabel = "FILE",
      defaultValue = "${env:KILN_KAFKA_PROPERTIES}",
      description =
          "Kafka client settings (security.protocol, sasl.*, ssl.*) for every Kafka client of the"
              + " farm, as a Java properties file; KILN_KAFKA_<NAME> variables override single"
              + " settings (KILN_KAFKA_SECURITY_PROTOCOL is security.protocol). Only with --kafka."
              + " See docs/operations.md. Env: KILN_KAFKA_PROPERTIES.")
  Path kafkaProperties;

  @Option(
      names = "--upstream-index",
      paramLabel = "URL",
      defaultValue = "${env:KILN_UPSTREAM_INDEX:-https://pypi.org/simple/}",
      description =
          "The PEP 503 index the cache-service proxies (http(s):// or file://). Env: KILN_UPSTREAM_INDEX. Default: ${DEFAULT-VALUE}")
  String upstreamIndex;

  @Option(
      names = "--registry",
      paramLabel = "HOST[:PORT]",
      defaultValue = "${env:KILN_REGISTRY}",
      description =
          "Push images to this registry. Env: KILN_REGISTRY. Default: image tarballs under <home>/images/.")
  String registry;

  @Option(
      names = "--image-layouts",
      defaultValue = "${env:KILN_IMAGE_LAYOUTS:-false}",
      description =
          "Without --registry: write each app's images into one OCI image layout"
              + " (<home>/images/<tenant>/<app>/, blobs shared between its images) instead of a"
              + " docker-load tarball per build. Env: KILN_IMAGE_LAYOUTS.")
  boolean ociLayouts;

  @Option(
      names = "--http-port",
      defaultValue = "${env:KILN_HTTP_PORT:-8480}",
      description =
          "Coordinator HTTP port (0 = any free port). Env: KILN_HTTP_PORT. Default: ${DEFAULT-VALUE}")
  int httpPort;

  @Option(
      names = "--cache-port",
      defaultValue = "${env:KILN_CACHE_PORT:-8481}",
      description =
          "Cache-service HTTP port (0 = any free port). Env: KILN_CACHE_PORT. Default: ${DEFAULT-VALUE}")
  int cachePort;

  @Option(
      names = "--workers",
      defaultValue = "${env:KILN_WORKERS:-2}",
      description =
          "Number of workers in this process. Env: KILN_WORKERS. Default: ${DEFAULT-VALUE}")
  int workers;

  @Option(
      names = "--runtime-catalog",
      paramLabel = "default|offline|FILE",
      defaultValue = "${env:KILN_RUNTIME_CATALOG}",
      description = {
        "Which Python runtimes the farm builds on. 'default': the App Platform versions as registry"
            + " images (docker.io/library/python:X.Y.Z-slim); 'offline': Debian suites built on this"
            + " machine with debootstrap (3.9.2, 3.11.2, 3.13.5, 3.14.8); or a JSON catalog file"
            + " mapping versions to your own images, e.g. registry.internal/python:3.12-slim (see"
            + " docs/images.md). Env: KILN_RUNTIME_CATALOG. Default: 'default' when Docker Hub"
            + " can be reached, else 'offline'."
      })
  String runtimeCatalog;

  @Option(
      names = "--nltk-data-url",
      paramLabel = "URL",
      defaultValue = "${env:KILN_NLTK_DATA_URL}",
      description =
          "The NLTK data index (index.xml, http(s):// or file://) the cache-service proxies for apps' nltk.txt. Env: KILN_NLTK_DATA_URL. Default: NLTK's public index.")
  String nltkDataUrl;

  @Option(
      names = "--debian-mirror",
      paramLabel = "URL",
      defaultValue = "${env:KILN_DEBIAN_MIRROR:-http://deb.debian.org/debian}",
      description =
          "Where the offline runtimes' Debian packages come from (an apt proxy works). Env: KILN_DEBIAN_MIRROR. Default: ${DEFAULT-VALUE}")
  String debianMirror;

  @Option(
      names = "--build-step-timeout",
      paramLabel = "DURATION",
      defaultValue = "${env:KILN_BUILD_STEP_TIMEOUT:-PT15M}",
      description =
          "The longest one build step (bin/post_compile, collectstatic, build_command…) may run, ISO-8601. Env: KILN_BUILD_STEP_TIMEOUT. Default: ${DEFAULT-VALUE}")
  Duration buildStepTimeout;

  @Option(
      names = "--build-step-memory",
      paramLabel = "MIB",
      defaultValue = "${env:KILN_BUILD_STEP_MEMORY:-2048}",
      description =
          "The memory one build step may use, in MiB. Env: KILN_BUILD_STEP_MEMORY. Default: ${DEFAULT-VALUE}")
  long buildStepMemoryMiB;

  @Option(
      names = "--index-page-ttl",
      paramLabel = "DURATION",
      defaultValue = "${env:KILN_INDEX_PAGE_TTL:-PT10M}",
      description =
          "How long the cache-service reuses a project page of the upstream index, ISO-8601; a new"
              + " release reaches new resolutions after at most this long. Env: KILN_INDEX_PAGE_TTL."
              + " Default: ${DEFAULT-VALUE}")
  Duration indexPageTtl;

  @Option(
      names = "--topic-prefix",
      defaultValue = "${env:KILN_TOPIC_PREFIX:-}",
      description =
          "Prefix for every Kafka topic name (several farms on one cluster). Env: KILN_TOPIC_PREFIX.")
  String topicPrefix;

  @Option(
      names = "--auto-create-tenants",
      negatable = true,
      defaultValue = "${env:KILN_AUTO_CREATE_TENANTS:-true}",
      fallbackValue = "true",
      description =
          "A push with the operator token for a tenant that does not exist creates it (default sources file://<home>/repos/<tenant>/ and quotas), so `kiln push` works without setup. Turn off (--no-auto-create-tenants) on a farm whose tenants are managed with `kiln tenants`. Env: KILN_AUTO_CREATE_TENANTS. Default: ${DEFAULT-VALUE}")
  boolean autoCreateTenants;

  @Option(
      names = "--dockerfile-builder",
      paramLabel = "none|docker",
      defaultValue = "${env:KILN_DOCKERFILE_BUILDER:-none}",
      description =
          "How workers build apps that have a Dockerfile: 'docker' builds them on the local Docker"
              + " daemon (the docker command on the PATH; DOCKER_HOST is honoured), with no network,"
              + " --build-step-memory per RUN step"
              + " and no pulls (base images must be loaded in the daemon or come from --registry);"
              + " 'none' fails them with dockerfile::no-builder. Env: KILN_DOCKERFILE_BUILDER."
              + " Default: ${DEFAULT-VALUE}")
  String dockerfileBuilder;

  @Option(
      names = "--dockerfile-network",
      defaultValue = "${env:KILN_DOCKERFILE_NETWORK:-false}",
      description =
          "Let a Dockerfile's RUN steps use the network (docker build --network default)."
              + " Env: KILN_DOCKERFILE_NETWORK. Default: no network (--network none).")
  boolean dockerfileNetwork;

  @Option(
      names = "--dockerfile-timeout",
      paramLabel = "DURATION",
      defaultValue = "${env:KILN_DOCKERFILE_TIMEOUT:-PT15M}",
      description =
          "The longest one Dockerfile build may run, ISO-8601; it is then stopped"
              + " (dockerfile::timeout). Env: KILN_DOCKERFILE_TIMEOUT. Default: ${DEFAULT-VALUE}")
  Duration dockerfileTimeout;

  /** The Dockerfile builder the options ask for; null: none. */
  DockerfileBuild.Settings dockerfileBuilderSettings() {
    String builder = dockerfileBuilder == null ? "none" : dockerfileBuilder.strip();
    if (dockerfileTimeout == null || dockerfileTimeout.isNegative() || dockerfileTimeout.isZero()) {
      throw new UserError(
          "--dockerfile-timeout must be a positive ISO-8601 duration such as PT15M");
    }
    return switch (builder) {
      case "", "none" -> null;
      case "docker" ->
          DockerfileBuild.Settings.defaults()
              .withAllowNetwork(dockerfileNetwork)
              .withTimeout(dockerfileTimeout)
              .withPullRegistry(blankToNull(registry))
              .withMemoryBytes(buildStepMemoryMiB << 20);
      default ->
          throw new UserError(
              "--dockerfile-builder '"
                  + builder
                  + "' is not understood; use 'docker' (the local Docker daemon) or 'none'");
    };
  }

  FarmSettings toSettings() {
    if (workers < 1) {
      throw new UserError("--workers must be 1 or more (got " + workers + ")");
    }
    if (kafka != null && !kafka.isBlank() && !kafka.matches("[^:,\\s]+:\\d+(,[^:,\\s]+:\\d+)*")) {
      throw new UserError("--kafka '" + kafka + "' is not HOST:PORT[,HOST:PORT…]");
    }
    if (registry != null && !registry.isBlank() && !registry.matches("[A-Za-z0-9.-]+(:\\d+)?")) {
      throw new UserError("--registry '" + registry + "' is not HOST[:PORT] (no scheme, no path)");
    }
    if (buildStepTimeout == null || buildStepTimeout.isNegative() || buildStepTimeout.isZero()) {
      throw new UserError(
          "--build-step-timeout must be a positive ISO-8601 duration such as PT15M");
    }
    if (indexPageTtl == null || indexPageTtl.isNegative()) {
      throw new UserError(
          "--index-page-ttl must be an ISO-8601 duration such as PT10M (PT0S: none)");
    }
    if (buildStepMemoryMiB < 64) {
      throw new UserError("--build-step-memory must be at least 64 (MiB)");
    }
    if (debianMirror == null || !debianMirror.matches("(?i)(https?|file)://\\S+")) {
      throw new UserError(
          "--debian-mirror '" + debianMirror + "' is not an http(s):// or file:// URL");
    }
    KafkaClientSettings kafkaClient = kafkaClientSettings(kafkaProperties, System.getenv());
    if (!kafkaClient.isEmpty() && (kafka == null || kafka.isBlank())) {
      throw new UserError(
          "Kafka client settings ("
              + String.join(", ", kafkaClient.describe().keySet())
              + ") were given but no --kafka cluster: the embedded broker listens on 127.0.0.1"
              + " without authentication. Pass --kafka HOST:PORT for a secured cluster, or unset"
              + " --kafka-properties / KILN_KAFKA_PROPERTIES and the KILN_KAFKA_* variables.");
    }
    return new FarmSettings(
        home.toAbsolutePath().normalize(),
        blankToNull(kafka),
        upstreamIndex,
        blankToNull(registry),
        httpPort,
        cachePort,
        workers,
        blankToNull(runtimeCatalog),
        topicPrefix == null ? "" : topicPrefix,
        debianMirror,
        buildStepTimeout,
        buildStepMemoryMiB,
        blankToNull(nltkDataUrl),
        indexPageTtl,
        autoCreateTenants,
        kafkaClient,
        ociLayouts,
        dockerfileBuilderSettings());
  }

  /**
   * The Kafka client settings from {@code file} (or {@code KILN_KAFKA_PROPERTIES}) and the {@code
   * KILN_KAFKA_*} variables of {@code env}; a wrong one is a {@link UserError}.
   */
  static KafkaClientSettings kafkaClientSettings(Path file, Map<String, String> env) {
    try {
      return KafkaClientSettings.load(file, env);
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage());
    }
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s;
  }
}
