package dev.kiln.cli;

import java.nio.file.Path;
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
      paramLabel = "FILE",
      defaultValue = "${env:KILN_RUNTIME_CATALOG}",
      description =
          "JSON runtime catalog overriding the built-in Python version -> base image list. Env: KILN_RUNTIME_CATALOG.")
  Path runtimeCatalog;

  @Option(
      names = "--topic-prefix",
      defaultValue = "${env:KILN_TOPIC_PREFIX:-}",
      description =
          "Prefix for every Kafka topic name (several farms on one cluster). Env: KILN_TOPIC_PREFIX.")
  String topicPrefix;

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
    return new FarmSettings(
        home.toAbsolutePath().normalize(),
        blankToNull(kafka),
        upstreamIndex,
        blankToNull(registry),
        httpPort,
        cachePort,
        workers,
        runtimeCatalog,
        topicPrefix == null ? "" : topicPrefix);
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s;
  }
}
