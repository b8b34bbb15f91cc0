package dev.kiln.cache;

import dev.kiln.cache.TenantDirectory.IndexCredentials;
import dev.kiln.events.Digest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Tenants' private package indexes, proxied with their credentials: one {@link PackageIndex} per
 * tenant, index and configuration, whose files are stored readable for that tenant only.
 *
 * <p>Confined to the verticle's event loop (like {@link PackageIndex}); the {@link TenantDirectory}
 * is asked on worker threads.
 */
final class TenantIndexes {
  private static final int MAX_OPEN_INDEXES = 256;
  private static final Pattern INDEX_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");

  // The credentials are part of the key: a changed password or URL gets a fresh proxy.
  private record Key(String tenant, String name, IndexCredentials credentials) {}

  private final Vertx vertx;
  private final UpstreamHttp http;
  private final BlobStore store;
  private final Duration pageTtl;
  private final long maxPageBytes;
  private final long maxFileBytes;
  private final TenantDirectory directory;
  private final Map<Key, PackageIndex> open =
      new LinkedHashMap<>(64, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<Key, PackageIndex> eldest) {
          return size() > MAX_OPEN_INDEXES;
        }
      };

  TenantIndexes(
      Vertx vertx,
      UpstreamHttp http,
      BlobStore store,
      Duration pageTtl,
      long maxPageBytes,
      long maxFileBytes,
      TenantDirectory directory) {
    this.vertx = vertx;
    this.http = http;
    this.store = store;
    this.pageTtl = pageTtl;
    this.maxPageBytes = maxPageBytes;
    this.maxFileBytes = maxFileBytes;
    this.directory = directory;
  }

  static String requireIndexName(String name) {
    if (!INDEX_NAME.matcher(name).matches()) {
      throw CacheError.badRequest(
          "'"
              + dev.kiln.events.Quote.safe(name, 80)
              + "' is not an index name: use letters, digits, '.', '_' and '-', starting with a"
              + " letter or digit, e.g. /tenants/acme/indexes/private/simple/");
    }
    return name;
  }

  /** The proxy for the tenant's index {@code name}; 404 when the tenant has no such index. */
  Future<PackageIndex> index(String tenant, String name) {
    return vertx
        .executeBlocking(() -> directory.index(tenant, name), false)
        .map(
            found ->
                found.orElseThrow(
                    () ->
                        CacheError.notFound(
                            "tenant '"
                                + tenant
                                + "' has no package index named '"
                                + name
                                + "'; configure it on the coordinator (PUT /v1/tenants/"
                                + tenant
                                + "/indexes/"
                                + name
                                + ", or kiln tenants …)")))
        .map(credentials -> open.computeIfAbsent(new Key(tenant, name, credentials), this::create));
  }

  /**
   * A file one of the tenant's indexes lists, stored readable for the tenant: served from the store
   * when it already is, else fetched (and verified) from the index whose page listed it.
   */
  Future<Path> file(String tenant, Digest digest, String filename) {
    return vertx
        .executeBlocking(() -> store.readable(digest, tenant), false)
        .compose(
            readable -> {
              if (readable) {
                return vertx.executeBlocking(() -> store.localPath(digest), false);
              }
              return vertx
                  .executeBlocking(() -> directory.indexNames(tenant), false)
                  .compose(
                      names -> fromFirstListing(tenant, new ArrayList<>(names), digest, filename));
            });
  }

  /** Tries the tenant's indexes in turn; one that served a page listing the file goes first. */
  private Future<Path> fromFirstListing(
      String tenant, List<String> names, Digest digest, String filename) {
    if (names.isEmpty()) {
      return Future.failedFuture(
          CacheError.notFound(
              "no package index of tenant '"
                  + tenant
                  + "' lists a file with sha256 "
                  + digest.hex()
                  + "; request its project page under /tenants/"
                  + tenant
                  + "/indexes/{index}/simple/ first"));
    }
    for (Map.Entry<Key, PackageIndex> entry : open.entrySet()) {
      if (entry.getKey().tenant().equals(tenant)
          && names.contains(entry.getKey().name())
          && entry.getValue().knows(digest)) {
        names.remove(entry.getKey().name());
        names.add(0, entry.getKey().name());
        break;
      }
    }
    String first = names.remove(0);
    return index(tenant, first)
        .compose(index -> index.file(digest, filename))
        .recover(
            failure ->
                failure instanceof CacheError error && error.httpStatus() == 404
                    ? fromFirstListing(tenant, names, digest, filename)
                    : Future.failedFuture(failure));
  }

  private PackageIndex create(Key key) {
    IndexCredentials credentials = key.credentials();
    URI configured;
    try {
      configured = URI.create(credentials.url().strip());
    } catch (IllegalArgumentException e) {
      throw notUsable(key, "it is not a URL");
    }
    String scheme =
        configured.getScheme() == null ? "" : configured.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https") || configured.getHost() == null) {
      // A tenant must not make the service read its own disk (file://) or speak other protocols.
      throw notUsable(key, "only http:// and https:// indexes can be proxied");
    }
    String username = credentials.username();
    String password = credentials.password();
    String userInfo = configured.getUserInfo();
    if (username == null && userInfo != null) {
      int colon = userInfo.indexOf(':');
      username = colon < 0 ? userInfo : userInfo.substring(0, colon);
      password = colon < 0 ? null : userInfo.substring(colon + 1);
    }
    URI root = UrlRedaction.withoutUserInfo(configured);
    if (!root.getPath().endsWith("/")) {
      root = URI.create(root + "/");
    }
    UpstreamHttp view = http.forPrivateIndex(root, username, password);
    return new PackageIndex(
        vertx,
        new HttpUpstreamIndex(vertx, root, view, maxPageBytes),
        view,
        store,
        pageTtl,
        BlobScope.tenant(key.tenant()),
        maxFileBytes,
        false);
  }

  private static CacheError notUsable(Key key, String why) {
    return CacheError.badGateway(
        "the package index '"
            + key.name()
            + "' of tenant '"
            + key.tenant()
            + "' ("
            + UrlRedaction.mask(key.credentials().url())
            + ") cannot be proxied: "
            + why
            + "; fix its URL on the coordinator",
        null);
  }
}
