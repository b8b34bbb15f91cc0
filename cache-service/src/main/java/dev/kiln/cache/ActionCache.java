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

/**
 * Action results on local disk ({@code <root>/ac/v1/ab/abcdef…}): a JSON object per key, e.g. a
 * dependency-set digest mapped to the layer and wheels it produced.
 *
 * <p>The optional field {@code blobs} (an array of {@code "sha256:<hex>"}) lists the blobs the
 * result depends on; a result is stored only when all of them are in the {@link BlobStore}, and
 * served only while they still are. Blocking code, called on worker threads.
 */
final class ActionCache {
  static final String BLOBS_FIELD = "blobs";

  private final Path actionRoot;
  private final Path tempDir;
  private final BlobStore blobs;

  ActionCache(Path storeRoot, BlobStore blobs) throws IOException {
    this.actionRoot = storeRoot.resolve("ac").resolve(BlobStore.LAYOUT_VERSION);
    this.tempDir = actionRoot.resolve("tmp");
    this.blobs = blobs;
    Files.createDirectories(tempDir);
  }

  /** Removes results a crashed process was half-way through writing. */
  int removeTempFilesOlderThan(Duration age) throws IOException {
    return BlobStore.removeFilesOlderThan(tempDir, age);
  }

  /**
   * Stores (or replaces) the result for {@code key}.
   *
   * @return true when the key had no result before
   */
  boolean put(String key, String json) throws IOException {
    requireKey(key);
    List<Digest> named = blobsNamedBy(json);
    List<String> missing = new ArrayList<>();
    for (Digest digest : named) {
      if (!blobs.contains(digest)) {
        missing.add(digest.toString());
      }
    }
    if (!missing.isEmpty()) {
      throw CacheError.conflict(
          "action result for "
              + key
              + " names blobs the store does not"
              + " have: "
              + String.join(", ", missing)
              + "; upload them with PUT /cas/{hex} first."
              + " Nothing was stored; an earlier result for the key, if any, is unchanged.");
    }
    Path target = pathOf(key);
    boolean created = !Files.exists(target);
    Path temp = Files.createTempFile(tempDir, "incoming-", ".json");
    try {
      Files.writeString(temp, json, StandardCharsets.UTF_8);
      try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
        channel.force(true);
      }
      Files.createDirectories(target.getParent());
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      BlobStore.fsyncDirectory(target.getParent());
      return created;
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  /**
   * The stored result for {@code key}.
   *
   * @throws CacheError 404 when there is none, or when a blob it names has gone
   */
  String get(String key) throws IOException {
    requireKey(key);
    String json;
    try {
      json = Files.readString(pathOf(key), StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw CacheError.notFound("no action result for " + key);
    }
    List<String> gone = new ArrayList<>();
    for (Digest digest : blobsNamedBy(json)) {
      if (!blobs.contains(digest)) {
        gone.add(digest.toString());
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
    return json;
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

  private Path pathOf(String key) {
    return actionRoot.resolve(key.substring(0, 2)).resolve(key);
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
