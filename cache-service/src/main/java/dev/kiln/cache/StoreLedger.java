package dev.kiln.cache;

import dev.kiln.events.Digest;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The store's bookkeeping for limits, kept in memory and rebuilt from disk at start: every blob's
 * size and readers in least-recently-used order, bytes per tenant, and how many action results name
 * each blob. Pure logic and not thread-safe: {@link BlobStore} calls it under its lock.
 */
final class StoreLedger {
  private record Entry(long size, BlobReaders readers) {}

  private final LinkedHashMap<Digest, Entry> blobs = new LinkedHashMap<>(1024, 0.75f, true);
  private final Map<String, Long> tenantBytes = new HashMap<>();
  private final Map<Digest, Integer> namedByActions = new HashMap<>();
  private long totalBytes;

  /** Adds (or replaces) a blob as the most recently used one. */
  void add(Digest digest, long size, BlobReaders readers) {
    remove(digest);
    blobs.put(digest, new Entry(size, readers));
    totalBytes += size;
    charge(readers, size);
  }

  void updateReaders(Digest digest, BlobReaders readers) {
    Entry entry = blobs.get(digest);
    if (entry != null) {
      charge(entry.readers(), -entry.size());
      blobs.put(digest, new Entry(entry.size(), readers));
      charge(readers, entry.size());
    }
  }

  void remove(Digest digest) {
    Entry entry = blobs.remove(digest);
    if (entry != null) {
      totalBytes -= entry.size();
      charge(entry.readers(), -entry.size());
    }
  }

  /** Marks the blob as just used. */
  void touch(Digest digest) {
    blobs.get(digest);
  }

  /** Every blob, least recently used first. */
  List<Digest> leastRecentlyUsedFirst() {
    return new ArrayList<>(blobs.keySet());
  }

  boolean knows(Digest digest) {
    return blobs.containsKey(digest);
  }

  Optional<Long> size(Digest digest) {
    Entry entry = blobs.get(digest);
    return entry == null ? Optional.empty() : Optional.of(entry.size());
  }

  long totalBytes() {
    return totalBytes;
  }

  long tenantBytes(String tenant) {
    return tenantBytes.getOrDefault(tenant, 0L);
  }

  int blobCount() {
    return blobs.size();
  }

  /** An action result now names these blobs (once per mention in a stored result). */
  void retain(Collection<Digest> digests) {
    for (Digest digest : digests) {
      namedByActions.merge(digest, 1, Integer::sum);
    }
  }

  /** A stored result naming these was replaced or removed. */
  void release(Collection<Digest> digests) {
    for (Digest digest : digests) {
      namedByActions.computeIfPresent(digest, (d, count) -> count <= 1 ? null : count - 1);
    }
  }

  boolean namedByAnAction(Digest digest) {
    return namedByActions.containsKey(digest);
  }

  /**
   * The blobs to evict, least recently used first, so that {@code incoming} more bytes fit in
   * {@code maxStoreBytes}; skips every blob an action result names.
   *
   * @return empty when nothing needs to go; absent when even evicting every unnamed blob would not
   *     make room
   */
  Optional<List<Digest>> evictionsToFit(long incoming, long maxStoreBytes) {
    long over = totalBytes + incoming - maxStoreBytes;
    if (over <= 0) {
      return Optional.of(List.of());
    }
    List<Digest> chosen = new ArrayList<>();
    long freed = 0;
    for (Iterator<Map.Entry<Digest, Entry>> it = blobs.entrySet().iterator();
        it.hasNext() && freed < over; ) {
      Map.Entry<Digest, Entry> candidate = it.next();
      if (!namedByActions.containsKey(candidate.getKey())) {
        chosen.add(candidate.getKey());
        freed += candidate.getValue().size();
      }
    }
    return freed >= over ? Optional.of(chosen) : Optional.empty();
  }

  /** Bytes no action result names: what eviction could free at most. */
  long evictableBytes() {
    long evictable = 0;
    for (Map.Entry<Digest, Entry> entry : blobs.entrySet()) {
      if (!namedByActions.containsKey(entry.getKey())) {
        evictable += entry.getValue().size();
      }
    }
    return evictable;
  }

  private void charge(BlobReaders readers, long bytes) {
    for (String tenant : readers.chargedTo()) {
      tenantBytes.merge(tenant, bytes, (a, b) -> a + b == 0 ? null : a + b);
    }
  }
}
