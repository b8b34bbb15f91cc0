package dev.kiln.cli;

import java.nio.file.Path;

/** Everything needed to start a farm in one process. */
public record FarmSettings(
    Path home,
    String kafka,
    String upstreamIndex,
    String registry,
    int httpPort,
    int cachePort,
    int workers,
    Path runtimeCatalog,
    String topicPrefix) {

  public FarmSettings withRuntimeCatalog(Path catalog) {
    return new FarmSettings(
        home, kafka, upstreamIndex, registry, httpPort, cachePort, workers, catalog, topicPrefix);
  }
}
