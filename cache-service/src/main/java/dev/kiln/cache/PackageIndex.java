package dev.kiln.cache;

import dev.kiln.events.Digest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy behind {@code /simple/} and {@code /files/}: upstream pages, briefly cached, and every
 * distribution file fetched from upstream once, verified, and kept in the {@link BlobStore}.
 *
 * <p>Confined to one Vert.x context (the verticle's event loop): its maps need no locks, and
 * concurrent requests for the same page or file share one upstream fetch.
 */
final class PackageIndex {
  private static final Logger LOG = LoggerFactory.getLogger(PackageIndex.class);
  private static final int MAX_CACHED_PAGES = 10_000;
  // Upstream URLs of files on pages already served; a forgotten one is found again from its page.
  private static final int MAX_KNOWN_FILES = 200_000;

  private record Cached<T>(Future<T> value, long fetchedAtNanos) {}

  private final Vertx vertx;
  private final UpstreamIndex upstream;
  private final UpstreamHttp http;
  private final BlobStore store;
  private final long pageTtlNanos;
  // Whose files these are: PUBLIC for the farm's index, a tenant for its private index.
  private final BlobScope scope;
  private final long maxFileBytes;
  // Only an index that is itself a local directory may name local files.
  private final boolean localFilesAllowed;
  private final Map<String, Cached<ProjectPage>> pages = leastRecentlyUsed(MAX_CACHED_PAGES);
  private final Map<Digest, DistributionFile> knownFiles = leastRecentlyUsed(MAX_KNOWN_FILES);
  private final Map<Digest, Future<Void>> downloads = new HashMap<>();
  private Cached<List<String>> projectList;

  PackageIndex(
      Vertx vertx, UpstreamIndex upstream, UpstreamHttp http, BlobStore store, Duration pageTtl) {
    this(vertx, upstream, http, store, pageTtl, BlobScope.PUBLIC, Long.MAX_VALUE, true);
  }

  /**
   * @param scope the readers of every file this index stores, and who may be served a stored one
   * @param maxFileBytes a file the upstream sends longer than this is refused mid-transfer
   * @param localFilesAllowed whether {@code file://} links are followed (only for a {@code file://}
   *     upstream the operator configured)
   */
  PackageIndex(
      Vertx vertx,
      UpstreamIndex upstream,
      UpstreamHttp http,
      BlobStore store,
      Duration pageTtl,
      BlobScope scope,
      long maxFileBytes,
      boolean localFilesAllowed) {
    this.vertx = vertx;
    this.upstream = upstream;
    this.http = http;
    this.store = store;
    this.pageTtlNanos = pageTtl.toNanos();
    this.scope = scope;
    this.maxFileBytes = maxFileBytes;
    this.localFilesAllowed = localFilesAllowed;
  }

  /** Whether a page served earlier listed this file (then {@link #file} needs no page fetch). */
  boolean knows(Digest digest) {
    return knownFiles.containsKey(digest);
  }

  String upstreamLocation() {
    return upstream.location();
  }

  Future<List<String>> projectNames() {
    if (projectList == null || !usable(projectList)) {
      Future<List<String>> fetch = upstream.projectNames();
      Cached<List<String>> entry = new Cached<>(fetch, System.nanoTime());
      projectList = entry;
      fetch.onFailure(
          failed -> {
            if (projectList == entry) {
              projectList = null;
            }
          });
    }
    return projectList.value();
  }

  /** The project's page; every file on it can then be fetched through {@link #file}. */
  Future<ProjectPage> projectPage(String normalizedName) {
    Cached<ProjectPage> cached = pages.get(normalizedName);
    if (cached == null || !usable(cached)) {
      Future<ProjectPage> fetch = upstream.projectPage(normalizedName);
      cached = new Cached<>(fetch, System.nanoTime());
      Cached<ProjectPage> entry = cached;
      pages.put(normalizedName, entry);
      fetch.onFailure(failed -> pages.remove(normalizedName, entry));
    }
    return cached.value().onSuccess(this::remember);
  }

  /**
   * The stored blob for a file this index lists, fetching it from upstream first if the store does
   * not have it yet.
   *
   * @param filename the name in the request; finds the project page again when the file's upstream
   *     URL was forgotten (e.g. after a restart)
   */
  Future<Path> file(Digest digest, String filename) {
    // A stored blob is served only if this index's readers may read it: a blob stored for one
    // tenant is not handed out under another's (or the public) name just because its hash is
    // asked for. Otherwise it is fetched from this upstream and verified, which proves the
    // upstream has those bytes, and only then becomes readable for this index's scope.
    return vertx
        .executeBlocking(() -> store.readable(digest, scope.tenant()), false)
        .compose(readable -> readable ? Future.succeededFuture() : download(digest, filename))
        // With a shared store, a blob another replica stored is downloaded into the local cache.
        .compose(stored -> vertx.executeBlocking(() -> store.localPath(digest), false));
  }

  private Future<Void> download(Digest digest, String filename) {
    Future<Void> inFlight = downloads.get(digest);
    if (inFlight != null) {
      return inFlight;
    }
    // Registered before re-checking the store, so a request arriving now joins this download and
    // one that finished just before us is seen as stored: upstream is asked once.
    Future<Void> started =
        vertx
            .executeBlocking(() -> store.readable(digest, scope.tenant()), false)
            .compose(
                present ->
                    present
                        ? Future.succeededFuture()
                        : locate(digest, filename).compose(this::fetchIntoStore));
    downloads.put(digest, started);
    return started.andThen(done -> downloads.remove(digest));
  }

  private Future<DistributionFile> locate(Digest digest, String filename) {
    DistributionFile known = knownFiles.get(digest);
    if (known != null) {
      return Future.succeededFuture(known);
    }
    Optional<String> project = ProjectNames.projectOfFilename(filename);
    if (project.isEmpty()) {
      return Future.failedFuture(
          CacheError.notFound(
              "no file with sha256 "
                  + digest.hex()
                  + " is known, and '"
                  + filename
                  + "' is not a wheel or sdist filename that names its"
                  + " project; request the project's page under /simple/ first"));
    }
    return projectPage(project.get())
        .compose(
            page -> {
              DistributionFile listed = knownFiles.get(digest);
              return listed != null
                  ? Future.succeededFuture(listed)
                  : Future.failedFuture(
                      CacheError.notFound(
                          "project '"
                              + page.name()
                              + "' on the upstream index "
                              + upstream.location()
                              + " lists no file with sha256 "
                              + digest.hex()));
            });
  }

  private Future<Void> fetchIntoStore(DistributionFile file) {
    return vertx
        .executeBlocking(store::newTempFile, false)
        .compose(
            temp ->
                transfer(file, temp)
                    .compose(
                        actual -> {
                          if (!actual.equals(file.sha256())) {
                            return Future.failedFuture(
                                CacheError.badGateway(
                                    "upstream index "
                                        + upstream.location()
                                        + " served "
                                        + file.filename()
                                        + " ("
                                        + UrlRedaction.mask(file.upstreamUrl())
                                        + ")"
                                        // A private index's links may point anywhere: do not make
                                        // the proxy a hash oracle for what it fetched.
                                        + (scope.isPublic() ? " with sha256 " + actual.hex() : "")
                                        + " but its project page promises "
                                        + file.sha256().hex()
                                        + "; the file was not stored",
                                    null));
                          }
                          return vertx.executeBlocking(
                              () -> store.commit(temp, file.sha256(), actual, scope), false);
                        })
                    .onSuccess(
                        created ->
                            LOG.info(
                                "stored {} ({}, {}) from {}",
                                file.filename(),
                                file.sha256(),
                                scope,
                                UrlRedaction.mask(file.upstreamUrl())))
                    .eventually(
                        () -> vertx.executeBlocking(() -> Files.deleteIfExists(temp), false))
                    .mapEmpty());
  }

  private Future<Digest> transfer(DistributionFile file, Path temp) {
    URI url = file.upstreamUrl();
    String what = "file " + file.filename();
    String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
    switch (scheme) {
      case "http":
      case "https":
        return http.download(url, temp, what, maxFileBytes, null);
      case "file":
        if (!localFilesAllowed) {
          return Future.failedFuture(
              CacheError.badGateway(
                  "upstream index "
                      + upstream.location()
                      + " links "
                      + file.filename()
                      + " to a local file ("
                      + UrlRedaction.mask(url)
                      + "); only a file:// index the operator configured may name local files",
                  null));
        }
        return vertx.executeBlocking(
            () -> {
              try {
                return BlobStore.copyHashing(Path.of(url), temp, maxFileBytes, null);
              } catch (IOException e) {
                throw CacheError.badGateway(
                    "upstream index "
                        + upstream.location()
                        + " lists "
                        + file.filename()
                        + " at "
                        + url
                        + " but it could not be read: "
                        + e,
                    e);
              }
            },
            false);
      default:
        return Future.failedFuture(
            CacheError.badGateway(
                "upstream index "
                    + upstream.location()
                    + " links "
                    + file.filename()
                    + " to "
                    + UrlRedaction.mask(url)
                    + ", which is neither http(s) nor file",
                null));
    }
  }

  private void remember(ProjectPage page) {
    for (DistributionFile file : page.files()) {
      knownFiles.put(file.sha256(), file);
    }
  }

  /** In flight (so shared) or fetched within the TTL. */
  private boolean usable(Cached<?> cached) {
    return !cached.value().isComplete()
        || System.nanoTime() - cached.fetchedAtNanos() < pageTtlNanos;
  }

  private static <K, V> Map<K, V> leastRecentlyUsed(int capacity) {
    return new LinkedHashMap<>(64, 0.75f, true) {
      private static final long serialVersionUID = 1L;

      @Override
      protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
        return size() > capacity;
      }
    };
  }
}
