package dev.kiln.cache;

import dev.kiln.cache.NltkIndex.NltkPackage;
import dev.kiln.events.Digest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy behind {@code /nltk/}: one upstream NLTK data index, briefly cached and rewritten to
 * point at this service, and every package zip fetched from upstream once, checked against the
 * length and MD5 the index gives, and kept in the {@link BlobStore}.
 *
 * <p>Package URLs are not content-addressed, so the service remembers in the {@link ActionCache}
 * which blob holds the zip an upstream URL served with a given MD5; that survives a restart, and a
 * new upstream release (a new MD5 in the index) is fetched afresh. The last good upstream index is
 * kept the same way and served when the upstream later fails.
 *
 * <p>Confined to one Vert.x context (the verticle's event loop), as {@link PackageIndex} is:
 * concurrent requests for the index, or for one package, share one upstream fetch.
 */
final class NltkData {
  private static final Logger LOG = LoggerFactory.getLogger(NltkData.class);
  private static final String ACCEPT_XML = "application/xml, text/xml;q=0.9, */*;q=0.1";
  // Action-cache entries (keys derive from these, so a change of format gets new keys).
  private static final String INDEX_ENTRY = "nltk-index";
  private static final String PACKAGE_ENTRY = "nltk-package";

  private record Cached(Future<NltkIndex> value, long fetchedAtNanos) {}

  private final Vertx vertx;
  private final URI indexUrl;
  private final UpstreamHttp http;
  private final BlobStore store;
  private final ActionCache actions;
  private final long indexTtlNanos;
  private final long maxPackageBytes;
  private final Map<String, Future<Digest>> downloads = new HashMap<>();
  private Cached index;
  // Written on worker threads, one index fetch at a time.
  private volatile Digest lastKeptIndex;

  /**
   * @param http a client whose errors name the NLTK data index
   * @param indexTtl how long a fetched index is reused
   * @param maxPackageBytes larger packages are refused before anything is downloaded
   */
  NltkData(
      Vertx vertx,
      URI indexUrl,
      UpstreamHttp http,
      BlobStore store,
      ActionCache actions,
      Duration indexTtl,
      long maxPackageBytes) {
    this.vertx = vertx;
    this.indexUrl = indexUrl;
    this.http = http;
    this.store = store;
    this.actions = actions;
    this.indexTtlNanos = indexTtl.toNanos();
    this.maxPackageBytes = maxPackageBytes;
  }

  /** The upstream index, with package URLs rewritten to {@code /nltk/packages/…}. */
  Future<NltkIndex> index() {
    if (index == null || !usable(index)) {
      Future<NltkIndex> fetch = fetchIndex();
      Cached entry = new Cached(fetch, System.nanoTime());
      index = entry;
      fetch.onFailure(
          failed -> {
            if (index == entry) {
              index = null;
            }
          });
    }
    return index.value();
  }

  /**
   * The stored zip of package {@code id}, fetching it from upstream first if the store does not
   * have it yet.
   *
   * @param subdir a plain name (see {@link NltkIndex#isPlainName}) from the request
   * @param id a plain name from the request
   */
  Future<Digest> packageZip(String subdir, String id) {
    return index()
        .compose(
            listing -> {
              Optional<NltkPackage> found = listing.find(id);
              if (found.isEmpty()) {
                return Future.failedFuture(notListed(listing, id));
              }
              NltkPackage wanted = found.get();
              if (!wanted.subdir().equals(subdir)) {
                return Future.failedFuture(
                    CacheError.notFound(
                        "NLTK package '"
                            + id
                            + "' is in subdir '"
                            + wanted.subdir()
                            + "', not '"
                            + subdir
                            + "': request "
                            + wanted.path()));
              }
              if (wanted.size() > maxPackageBytes) {
                return Future.failedFuture(
                    CacheError.badGateway(
                        "NLTK package '"
                            + id
                            + "' is "
                            + wanted.size()
                            + " bytes by the NLTK data index "
                            + indexUrl
                            + ", more than the "
                            + maxPackageBytes
                            + " bytes this cache-service accepts (maxNltkPackageBytes); nothing was"
                            + " downloaded. Raise the limit, or remove '"
                            + id
                            + "' from nltk.txt",
                        null));
              }
              return stored(wanted);
            });
  }

  private CacheError notListed(NltkIndex listing, String id) {
    return listing
        .whyLeftOut(id)
        .map(
            why ->
                CacheError.badGateway(
                    "the NLTK data index "
                        + indexUrl
                        + " lists package '"
                        + id
                        + "' but this cache-service cannot serve it: "
                        + why
                        + "; fix the upstream index or remove '"
                        + id
                        + "' from nltk.txt",
                    null))
        .orElseGet(
            () ->
                CacheError.notFound(
                    "NLTK package '"
                        + id
                        + "' is not in the NLTK data index "
                        + indexUrl
                        + " ("
                        + listing.packageCount()
                        + " packages); check the name in nltk.txt against GET /nltk/index.xml"));
  }

  // ---- the index

  private Future<NltkIndex> fetchIndex() {
    return indexBytes()
        .compose(bytes -> vertx.executeBlocking(() -> parseAndKeep(bytes), false))
        .recover(failure -> vertx.executeBlocking(() -> keptIndexInstead(failure), false));
  }

  private Future<byte[]> indexBytes() {
    String what = "the NLTK data index";
    if (isFile(indexUrl)) {
      return vertx.executeBlocking(
          () -> {
            try {
              Path file = Path.of(indexUrl);
              long size = Files.size(file);
              if (size > NltkIndex.MAX_BYTES) {
                throw invalidIndex(
                    "it is " + size + " bytes, more than the " + NltkIndex.MAX_BYTES + " allowed");
              }
              return Files.readAllBytes(file);
            } catch (IOException | IllegalArgumentException e) {
              throw CacheError.badGateway(
                  "the NLTK data index " + indexUrl + " could not be read: " + e, e);
            }
          },
          false);
    }
    return http.get(indexUrl, ACCEPT_XML, what, NltkIndex.MAX_BYTES)
        .map(Buffer::getBytes)
        .recover(failure -> Future.failedFuture(upstreamMissing(failure, indexUrl, what)));
  }

  private NltkIndex parseAndKeep(byte[] bytes) {
    NltkIndex parsed;
    try {
      parsed = NltkIndex.parse(bytes, indexUrl);
    } catch (IllegalArgumentException e) {
      throw invalidIndex(e.getMessage());
    }
    Digest digest = Digest.compute(bytes);
    if (!digest.equals(lastKeptIndex)) {
      try {
        store.putBytes(bytes);
        actions.put(
            indexKey(),
            new JsonObject()
                .put("kind", INDEX_ENTRY)
                .put("url", indexUrl.toString())
                .put("storedAt", Instant.now().toString())
                .put(ActionCache.BLOBS_FIELD, new JsonArray().add(digest.toString()))
                .encode());
        lastKeptIndex = digest;
      } catch (IOException | RuntimeException e) {
        // Serving is unaffected; only a later upstream failure could not fall back to this copy.
        LOG.warn("could not keep the NLTK data index {} in the store: {}", indexUrl, e.toString());
      }
    }
    return parsed;
  }

  /** The last good index the store kept, when the upstream fails now; else the failure. */
  private NltkIndex keptIndexInstead(Throwable failure) throws Exception {
    Optional<String> entry = actionResult(indexKey());
    if (entry.isEmpty()) {
      throw asException(failure);
    }
    try {
      JsonObject kept = new JsonObject(entry.get());
      Digest digest = ActionCache.blobsNamedBy(entry.get()).get(0);
      NltkIndex parsed = NltkIndex.parse(Files.readAllBytes(store.localPath(digest)), indexUrl);
      LOG.warn(
          "serving the NLTK data index {} as stored at {}, because the upstream failed: {}",
          indexUrl,
          kept.getString("storedAt"),
          failure.getMessage());
      return parsed;
    } catch (IOException | RuntimeException unusable) {
      LOG.warn("the stored copy of the NLTK data index {} is unusable: {}", indexUrl, unusable);
      throw asException(failure);
    }
  }

  private static Exception asException(Throwable failure) {
    return failure instanceof Exception exception ? exception : new IllegalStateException(failure);
  }

  private CacheError invalidIndex(String why) {
    return CacheError.badGateway(
        "the NLTK data index "
            + indexUrl
            + " is not a valid NLTK data index: "
            + why
            + "; check the configured NLTK data URL (it should name an index.xml like "
            + CacheServiceConfig.PUBLIC_NLTK_DATA_INDEX
            + ")",
        null);
  }

  private String indexKey() {
    return entryKey(INDEX_ENTRY, indexUrl.toString());
  }

  // ---- packages

  private Future<Digest> stored(NltkPackage wanted) {
    String key = packageKey(wanted);
    return vertx
        .executeBlocking(() -> storedZip(key), false)
        .compose(found -> found.map(Future::succeededFuture).orElseGet(() -> download(wanted)));
  }

  private Future<Digest> download(NltkPackage wanted) {
    String key = packageKey(wanted);
    Future<Digest> inFlight = downloads.get(key);
    if (inFlight != null) {
      return inFlight;
    }
    // Registered before re-checking the store, so a request arriving now joins this download and
    // one that finished just before us is seen as stored: upstream is asked once.
    Future<Digest> started =
        vertx
            .executeBlocking(() -> storedZip(key), false)
            .compose(
                found ->
                    found
                        .map(Future::succeededFuture)
                        .orElseGet(() -> fetchIntoStore(wanted, key)));
    downloads.put(key, started);
    return started.andThen(done -> downloads.remove(key));
  }

  private Future<Digest> fetchIntoStore(NltkPackage wanted, String key) {
    MessageDigest md5 = newMd5();
    return vertx
        .executeBlocking(store::newTempFile, false)
        .compose(
            temp ->
                transfer(wanted, temp, md5)
                    .compose(
                        sha256 ->
                            vertx.executeBlocking(
                                () -> verifyAndCommit(wanted, key, temp, sha256, md5), false))
                    .eventually(
                        () -> vertx.executeBlocking(() -> Files.deleteIfExists(temp), false)));
  }

  private Future<Digest> transfer(NltkPackage wanted, Path temp, MessageDigest md5) {
    String what = "NLTK package '" + wanted.id() + "'";
    if (isFile(wanted.url())) {
      return vertx.executeBlocking(
          () -> {
            try {
              return BlobStore.copyHashing(Path.of(wanted.url()), temp, wanted.size(), md5);
            } catch (IOException | IllegalArgumentException e) {
              throw CacheError.badGateway(
                  "the NLTK data index "
                      + indexUrl
                      + " lists "
                      + what
                      + " at "
                      + wanted.url()
                      + " but it could not be read: "
                      + e,
                  e);
            }
          },
          false);
    }
    return http.download(wanted.url(), temp, what, wanted.size(), md5)
        .recover(failure -> Future.failedFuture(upstreamMissing(failure, wanted.url(), what)));
  }

  /** Stores the downloaded zip only if it is exactly what the index promised. */
  private Digest verifyAndCommit(
      NltkPackage wanted, String key, Path temp, Digest sha256, MessageDigest md5)
      throws IOException {
    long size = Files.size(temp);
    String actualMd5 = HexFormat.of().formatHex(md5.digest());
    if (size != wanted.size() || !actualMd5.equals(wanted.md5())) {
      throw CacheError.badGateway(
          "upstream served NLTK package '"
              + wanted.id()
              + "' ("
              + wanted.url()
              + ") as "
              + (size > wanted.size() ? "more than " + wanted.size() : size)
              + " bytes with md5 "
              + actualMd5
              + ", but the NLTK data index "
              + indexUrl
              + " promises "
              + wanted.size()
              + " bytes with md5 "
              + wanted.md5()
              + "; nothing was stored. Try again later; if this persists, the upstream index and"
              + " its packages disagree",
          null);
    }
    store.commit(temp, sha256, sha256);
    actions.put(
        key,
        new JsonObject()
            .put("kind", PACKAGE_ENTRY)
            .put("id", wanted.id())
            .put("subdir", wanted.subdir())
            .put("url", wanted.url().toString())
            .put("md5", wanted.md5())
            .put("size", wanted.size())
            .put(ActionCache.BLOBS_FIELD, new JsonArray().add(sha256.toString()))
            .encode());
    LOG.info("stored NLTK package {} ({}) from {}", wanted.id(), sha256, wanted.url());
    return sha256;
  }

  /** The blob holding the zip for {@code key}, while the store still has it. */
  private Optional<Digest> storedZip(String key) throws IOException {
    Optional<String> entry = actionResult(key);
    return entry.isEmpty()
        ? Optional.empty()
        : Optional.of(ActionCache.blobsNamedBy(entry.get()).get(0));
  }

  /** Upstream's package URL plus the MD5 the index gives: a new release gets a new key. */
  private static String packageKey(NltkPackage wanted) {
    return entryKey(PACKAGE_ENTRY, wanted.url() + "\n" + wanted.md5());
  }

  // ---- shared

  private Optional<String> actionResult(String key) throws IOException {
    try {
      return Optional.of(actions.get(key));
    } catch (CacheError missingOrStale) {
      if (missingOrStale.httpStatus() == 404) {
        return Optional.empty();
      }
      throw missingOrStale;
    }
  }

  private static String entryKey(String kind, String identity) {
    return Digest.compute(("kiln " + kind + " v1\n" + identity).getBytes(StandardCharsets.UTF_8))
        .hex();
  }

  /**
   * The index names this URL, so a 404 there means the upstream is broken, not that the client
   * asked for something absent: 502.
   */
  private static Throwable upstreamMissing(Throwable failure, URI url, String what) {
    if (failure instanceof CacheError error && error.httpStatus() == 404) {
      return CacheError.badGateway(
          "upstream answered 404 for "
              + what
              + " at "
              + url
              + "; check the configured NLTK data URL, or try again later",
          failure);
    }
    return failure;
  }

  private boolean usable(Cached cached) {
    return !cached.value().isComplete()
        || System.nanoTime() - cached.fetchedAtNanos() < indexTtlNanos;
  }

  private static boolean isFile(URI url) {
    return "file".equals(url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT));
  }

  private static MessageDigest newMd5() {
    try {
      return MessageDigest.getInstance("MD5");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime ships MD5", e);
    }
  }
}
