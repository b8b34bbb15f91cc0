package dev.kiln.cache;

import io.vertx.core.Future;
import java.util.List;

/** The one PEP 503 index the cache-service proxies. */
interface UpstreamIndex {

  /** The index URL, for messages. */
  String location();

  /** Normalized names of every project the index lists. */
  Future<List<String>> projectNames();

  /**
   * The files of one project.
   *
   * @param normalizedName a PEP 503-normalized name
   * @return fails with {@link CacheError} 404 when the index has no such project, 502 when the
   *     index cannot be read
   */
  Future<ProjectPage> projectPage(String normalizedName);
}
