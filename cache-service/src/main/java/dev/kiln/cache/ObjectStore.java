package dev.kiln.cache;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The shared tier behind {@link BlobStore} and {@link ActionCache}: a flat namespace of immutable
 * or whole-object-replaced values by key (e.g. {@code cas/v1/ab/abcdef…}), that several
 * cache-service replicas read and write. Without one, the local disk is the store (today's
 * behaviour, kept in {@link BlobStore} and {@link ActionCache} themselves); with one, the local
 * disk is only a cache.
 *
 * <p>Blocking, thread-safe; called on worker threads. Every write is atomic from a reader's view:
 * an object is either absent or whole. Callers verify content before writing it. Failures and
 * timeouts are {@link CacheError}s (503) whose message names the store.
 */
interface ObjectStore extends AutoCloseable {

  /** The object's size, or empty when there is none. */
  Optional<Long> size(String key);

  /** Copies the object over {@code target}; false (and {@code target} untouched) when absent. */
  boolean download(String key, Path target);

  /** The whole object, or empty when absent; refuses one larger than {@code maxBytes}. */
  Optional<byte[]> read(String key, long maxBytes);

  /** Stores {@code file}'s bytes (already verified by the caller) under {@code key}. */
  void upload(String key, Path file);

  void write(String key, byte[] bytes);

  /** The keys under {@code prefix} (which ends in {@code /}), relative to the store's root. */
  List<String> list(String prefix);

  /** At start: fails with a message saying how to fix it when the store cannot be used. */
  void requireReady();

  /** Where the store is, for messages and logs (never a secret). */
  String describe();

  @Override
  void close();
}
