package dev.kiln.cache;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.util.List;

/** A {@code file://} upstream index: a {@link LocalDirectoryIndex} read on worker threads. */
final class DirectoryUpstreamIndex implements UpstreamIndex {
  private final Vertx vertx;
  private final String location;
  private final LocalDirectoryIndex directory;

  DirectoryUpstreamIndex(Vertx vertx, String location, LocalDirectoryIndex directory) {
    this.vertx = vertx;
    this.location = location;
    this.directory = directory;
  }

  @Override
  public String location() {
    return location;
  }

  @Override
  public Future<List<String>> projectNames() {
    return vertx.executeBlocking(
        () -> {
          try {
            return directory.projectNames();
          } catch (IOException e) {
            throw unreadable(e);
          }
        },
        false);
  }

  @Override
  public Future<ProjectPage> projectPage(String normalizedName) {
    return vertx.executeBlocking(
        () -> {
          try {
            return directory
                .projectPage(normalizedName)
                .orElseThrow(
                    () ->
                        CacheError.notFound(
                            "project '"
                                + normalizedName
                                + "' is not on the upstream index "
                                + location));
          } catch (IOException e) {
            throw unreadable(e);
          }
        },
        false);
  }

  private CacheError unreadable(IOException e) {
    return CacheError.badGateway(
        "upstream index " + location + " could not be read: " + e.getMessage(), e);
  }
}
