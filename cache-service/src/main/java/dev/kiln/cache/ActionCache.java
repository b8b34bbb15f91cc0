package dev.kiln.cache;

import dev.kiln.events.Digest;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Action results on local disk ({@code <root>/ac/v1/ab/abcdef…}): a JSON object per key, e.g. a
 * dependency-set digest mapped to the layer and wheels it produced.
 *
 * <p>The optional field {@code blobs} (an array of {@code "sha256:<hex>"}) lists the blobs the
 * result depends on; a result is stored only when all of them are in the {@link BlobStore}, and
 * served only while they still are. Blocking code, called on worker threads.
 *
 * <p>When the {@link BlobStore} has a shared {@link ObjectStore}, results live there instead, under
 * the same keys ({@code ac/v1/ab/<key>}, {@code ac/v1/tenants/<t>/ab/<key>}), written in one PUT
 * each (atomic for readers) and read on every request: a result written through one replica is
 * served by every other at once.
 */
final class ActionCache {
  static final String BLOBS_FIELD = "blobs";

  private final Path actionRoot;
  private final Path tempDir;
  private final BlobStore blobs;
  private final ObjectStore remote;
  // Bounds what is read back from a shared store (the service accepts at most 4 MiB).
  private static final long MAX_STORED_RESULT_BYTES = 16L << 20;

  ActionCache(Path storeRoot, BlobStore blobs) throws IOException {
    this.actionRoot = storeRoot.resolve("ac").resolve(BlobStore.LAYOUT_VERSION);
    this.tempDir = actionRoot.resolve("tmp");
    this.blobs = blobs;
    this.remote = blobs.remote();
    Files.createDirectories(tempDir);
    if (remote == null) {
      retainEverythingNamed();
    }
  }

  /** Removes results a crashed process was half-way through writing. */
  int removeTempFilesOlderThan(Duration age) throws IOException {
    return BlobStore.removeFilesOlderThan(tempDir, age);
  }

  /** {@link #put(String, String, BlobScope)} of a public result. */
  boolean put(String key, String json) throws IOException {
    return put(key, json, BlobScope.PUBLIC);
  }

  /**
   * Stores (or replaces) the result for {@code key} in {@code scope}'s namespace: a tenant's result
   * never replaces another tenant's, nor the public one.
   *
   * @return true when the key had no result in that namespace before
   * @throws CacheError 409 when a blob it names is not in the store or not readable for {@code
   *     scope} (a public result may name public blobs only)
   */
  boolean put(String key, String json, BlobScope scope) throws IOException {
    requireKey(key);
    List<Digest> named = blobsNamedBy(json);
    if (remote != null) {
      // Blobs in the shared store are never evicted, so no lock spans the check and the write.
      requireReadable(key, named, scope);
      String objectKey = objectKeyOf(key, scope);
      boolean created = remote.size(objectKey).isEmpty();
      remote.write(objectKey, json.getBytes(StandardCharsets.UTF_8));
      return created;
    }
    Path target = pathOf(key, scope);
    try {
      // Under the store's lock: no blob the result names can be evicted between the check and
      // the result becoming visible (and protecting it).
      return blobs.locked(
          () -> {
            requireReadable(key, named, scope);
            List<Digest> before = namedByStored(target);
            boolean created = !Files.exists(target);
            writeAtomically(target, json);
            blobs.retain(named);
            blobs.release(before);
            return created;
          });
    } catch (IOException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private void requireReadable(String key, List<Digest> named, BlobScope scope) throws IOException {
    List<String> missing = new ArrayList<>();
    List<String> notPublic = new ArrayList<>();
    for (Digest digest : named) {
      if (!blobs.contains(digest)) {
        missing.add(digest.toString());
      } else if (!blobs.readableBy(digest, scope.tenant())) {
        (scope.isPublic() ? notPublic : missing).add(digest.toString());
      }
    }
    if (!notPublic.isEmpty()) {
      throw CacheError.conflict(
          "a public action result may only name public blobs, but the result for "
              + key
              + " names "
              + String.join(", ", notPublic)
              + ", which "
              + (notPublic.size() == 1 ? "is" : "are")
              + " stored for a tenant only. Store it with "
              + BlobScope.SCOPE_HEADER
              + ": tenant (and "
              + BlobScope.TENANT_HEADER
              + "), or upload the blobs with "
              + BlobScope.SCOPE_HEADER
              + ": public if they were built from public inputs only. Nothing was stored.");
    }
    if (!missing.isEmpty()) {
      throw CacheError.conflict(
          "action result for "
              + key
              + " names blobs the store does not"
              + " have"
              + (scope.isPublic() ? "" : " for tenant '" + scope.tenant() + "'")
              + ": "
              + String.join(", ", missing)
              + "; upload them with PUT /cas/{hex} first."
              + " Nothing was stored; an earlier result for the key, if any, is unchanged.");
    }
  }

  private void writeAtomically(Path target, String json) throws IOException {
    Path temp = Files.createTempFile(tempDir, "incoming-", ".json");
    try {
      Files.writeString(temp, json, StandardCharsets.UTF_8);
      try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
        channel.force(true);
      }
      Files.createDirectories(target.getParent());
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      BlobStore.fsyncDirectory(target.getParent());
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  /** {@link #get(String, String)} of the public result. */
  String get(String key) throws IOException {
    return get(key, null);
  }

  /**
   * The result for {@code key} on behalf of {@code tenant}: the tenant's own result if it has a
   * usable one, else the public one. A result is usable only while every blob it names is stored
   * and readable for {@code tenant}.
   *
   * @param tenant the tenant the request acts for, or null (public results and blobs only)
   * @throws CacheError 404 when there is none, or when a blob it names has gone or is not readable
   */
  String get(String key, String tenant) throws IOException {
    requireKey(key);
    List<BlobScope> candidates = new ArrayList<>();
    if (tenant != null) {
      candidates.add(BlobScope.tenant(tenant));
    }
    candidates.add(BlobScope.PUBLIC);
    List<String> gone = new ArrayList<>();
    for (BlobScope candidate : candidates) {
      java.util.Optional<String> stored = read(key, candidate);
      if (stored.isEmpty()) {
        continue;
      }
      String json = stored.get();
      gone.clear();
      for (Digest digest : blobsNamedBy(json)) {
        if (!blobs.readable(digest, tenant)) {
          gone.add(digest.toString());
        }
      }
      if (gone.isEmpty()) {
        for (Digest digest : blobsNamedBy(json)) {
          blobs.touch(digest);
        }
        return json;
      }
    }
    if (!gone.isEmpty()) {
      throw CacheError.notFound(
          "action result for "
              + key
              + " is stale: the store no longer has "
              + String.join(", ", gone)
              + "; recompute the action and PUT it again");
    }
    throw CacheError.notFound("no action result for " + key);
  }

  private java.util.Optional<String> read(String key, BlobScope scope) throws IOException {
    if (remote != null) {
      return remote
          .read(objectKeyOf(key, scope), MAX_STORED_RESULT_BYTES)
          .map(bytes -> new String(bytes, StandardCharsets.UTF_8));
    }
    try {
      return java.util.Optional.of(Files.readString(pathOf(key, scope), StandardCharsets.UTF_8));
    } catch (NoSuchFileException e) {
      return java.util.Optional.empty();
    }
  }

  /** The same layout as on disk, as object keys: {@code ac/v1/[tenants/<t>/]ab/<key>}. */
  private static String objectKeyOf(String key, BlobScope scope) {
    return "ac/"
        + BlobStore.LAYOUT_VERSION
        + "/"
        + (scope.isPublic() ? "" : "tenants/" + scope.tenant() + "/")
        + key.substring(0, 2)
        + "/"
        + key;
  }

  private List<Digest> namedByStored(Path path) throws IOException {
    try {
      return blobsNamedBy(Files.readString(path, StandardCharsets.UTF_8));
    } catch (NoSuchFileException e) {
      return List.of();
    } catch (CacheError unreadable) {
      return List.of();
    }
  }

  /** At start: every blob a stored result names is protected from eviction. */
  private void retainEverythingNamed() throws IOException {
    try (Stream<Path> files = Files.walk(actionRoot)) {
      for (Path file : (Iterable<Path>) files::iterator) {
        if (Digest.isHex(file.getFileName().toString()) && Files.isRegularFile(file)) {
          blobs.retain(namedByStored(file));
        }
      }
    }
  }

  /** The digests in the {@code blobs} field of an action result. */
  static List<Digest> blobsNamedBy(String json) {
    JsonObject result;
    try {
      Object parsed = Json.decodeValue(json);
      if (!(parsed instanceof JsonObject)) {
        throw CacheError.badRequest(
            "an action result must be a JSON object, e.g. "
                + "{\"blobs\": [\"sha256:<64 hex>\"], …}; got: "
                + abbreviate(json));
      }
      result = (JsonObject) parsed;
    } catch (DecodeException e) {
      throw CacheError.badRequest(
          "an action result must be a JSON object but the body is not"
              + " valid JSON ("
              + e.getMessage()
              + "); got: "
              + abbreviate(json));
    }
    Object field = result.getValue(BLOBS_FIELD);
    if (field == null) {
      return List.of();
    }
    if (!(field instanceof JsonArray)) {
      throw CacheError.badRequest(
          "field '"
              + BLOBS_FIELD
              + "' must be an array of"
              + " \"sha256:<64 hex>\" strings; got: "
              + field);
    }
    JsonArray array = (JsonArray) field;
    List<Digest> digests = new ArrayList<>(array.size());
    for (int i = 0; i < array.size(); i++) {
      Object entry = array.getValue(i);
      try {
        if (!(entry instanceof String)) {
          throw new IllegalArgumentException("expected a \"sha256:<64 hex>\" string, got " + entry);
        }
        digests.add(prefixedDigest((String) entry));
      } catch (IllegalArgumentException e) {
        throw CacheError.badRequest("field '" + BLOBS_FIELD + "[" + i + "]': " + e.getMessage());
      }
    }
    return digests;
  }

  /**
   * Stricter than {@link Digest#of}, which also takes bare hex: {@code blobs} entries have only
   * ever been accepted in the written {@code sha256:<hex>} form, and clients rely on reading that.
   */
  private static Digest prefixedDigest(String entry) {
    if (!entry.startsWith(Digest.PREFIX)) {
      throw new IllegalArgumentException(
          "malformed digest '"
              + abbreviate(entry)
              + "': expected 'sha256:' followed by "
              + Digest.EXPECTED_FORM);
    }
    return Digest.of(entry);
  }

  /** Public results at {@code ac/v1/ab/<key>}, a tenant's at {@code ac/v1/tenants/<t>/ab/<key>}. */
  private Path pathOf(String key, BlobScope scope) {
    Path namespace =
        scope.isPublic() ? actionRoot : actionRoot.resolve("tenants").resolve(scope.tenant());
    return namespace.resolve(key.substring(0, 2)).resolve(key);
  }

  static void requireKey(String key) {
    if (!Digest.isHex(key)) {
      throw CacheError.badRequest(
          "malformed action key '"
              + key
              + "': expected "
              + Digest.EXPECTED_FORM
              + ", e.g. the digest of a dependency set");
    }
  }

  private static String abbreviate(String text) {
    return text.length() <= 80 ? text : text.substring(0, 77) + "...";
  }
}
