package dev.kiln.cache;

import dev.kiln.events.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.function.ToLongFunction;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Immutable blobs on local disk, named by their SHA-256: {@code <root>/cas/v1/ab/abcdef…}.
 *
 * <p>With an {@link ObjectStore} ({@link #BlobStore(Path, long, ToLongFunction, String,
 * ObjectStore)}), the object store holds the blobs and who may read them, and the local disk is a
 * cache of blobs in front of it, bounded by {@code maxStoreBytes} with least-recently-used
 * eviction: evicting locally loses nothing, and a blob read that misses the cache is downloaded,
 * verified and kept. Readers are then marker objects, one per scope ({@code
 * readers/v1/ab/<hex>/public}, {@code …/tenant/<name>}), so replicas adding scopes concurrently
 * never lose one another's; and tenants' store quotas are checked against their bytes in the bucket
 * ({@link SharedTenantUsage}), not against the local cache.
 *
 * <p>Blocking code: the HTTP layer calls it on worker threads. A blob becomes visible only after
 * its bytes were hashed, verified and fsynced, through one atomic link, so readers never see a
 * partial blob and a crash leaves at most a stray file in {@code tmp/}.
 */
final class BlobStore {
  private static final Logger LOG = LoggerFactory.getLogger(BlobStore.class);
  static final String LAYOUT_VERSION = "v1";

  /** How {@link #removeTempFilesOlderThan} and the scan tell shard directories apart. */
  private static final java.util.regex.Pattern SHARD =
      java.util.regex.Pattern.compile("[0-9a-f]{2}");

  private final Path blobRoot;
  private final Path tempDir;
  private final Path readersRoot;
  private final long maxStoreBytes;
  private final ToLongFunction<String> storeQuotaOf;
  private final String quotaHint;
  // The shared store behind the local disk, or null: the local disk is the store.
  private final ObjectStore remote;
  // Guards the ledger and every change to what is on disk (publish, add a reader, evict), so a
  // quota or the store bound is checked and consumed in one step. Reads of bytes take no lock.
  private final StoreLedger ledger = new StoreLedger();
  // Counted for /metrics: an operator watches evictions to size the store.
  private final java.util.concurrent.atomic.LongAdder evictedBlobs =
      new java.util.concurrent.atomic.LongAdder();
  private final java.util.concurrent.atomic.LongAdder evictedBytes =
      new java.util.concurrent.atomic.LongAdder();
  // With a shared store: tenants' bytes there, for their quotas (the ledger knows only the cache).
  private final SharedTenantUsage sharedUsage;

  /** How long a replica trusts its sum of a tenant's bytes in the shared store. */
  static final java.time.Duration SHARED_USAGE_REFRESH = java.time.Duration.ofSeconds(30);

  BlobStore(Path storeRoot) throws IOException {
    this(storeRoot, Long.MAX_VALUE, tenant -> Long.MAX_VALUE, "");
  }

  /**
   * @param maxStoreBytes the most bytes all blobs together may take; eviction makes room
   * @param storeQuotaOf a tenant's store quota in bytes
   * @param quotaHint how an operator raises a tenant's quota, for messages
   */
  BlobStore(
      Path storeRoot, long maxStoreBytes, ToLongFunction<String> storeQuotaOf, String quotaHint)
      throws IOException {
    this(storeRoot, maxStoreBytes, storeQuotaOf, quotaHint, null);
  }

  /**
   * @param remote the shared store holding the blobs, with {@code storeRoot} and {@code
   *     maxStoreBytes} its local cache; null keeps the blobs on local disk only
   */
  BlobStore(
      Path storeRoot,
      long maxStoreBytes,
      ToLongFunction<String> storeQuotaOf,
      String quotaHint,
      ObjectStore remote)
      throws IOException {
    this.remote = remote;
    this.sharedUsage =
        remote == null
            ? null
            : new SharedTenantUsage(remote, SHARED_USAGE_REFRESH, java.time.Clock.systemUTC());
    this.blobRoot = storeRoot.resolve("cas").resolve(LAYOUT_VERSION);
    // Same file system as the blobs, so the final link/rename is atomic.
    this.tempDir = blobRoot.resolve("tmp");
    // Beside cas/, not in it: cas/v1/ holds blobs (and tmp/) only.
    this.readersRoot = storeRoot.resolve("readers").resolve(LAYOUT_VERSION);
    this.maxStoreBytes = maxStoreBytes;
    this.storeQuotaOf = storeQuotaOf;
    this.quotaHint = quotaHint;
    Files.createDirectories(tempDir);
    Files.createDirectories(readersRoot);
    scan();
  }

  Path pathOf(Digest digest) {
    String hex = digest.hex();
    return blobRoot.resolve(hex.substring(0, 2)).resolve(hex);
  }

  /** The object store, or null when the local disk is the store. */
  ObjectStore remote() {
    return remote;
  }

  static String blobKey(Digest digest) {
    String hex = digest.hex();
    return "cas/" + LAYOUT_VERSION + "/" + hex.substring(0, 2) + "/" + hex;
  }

  private static String readersPrefix(Digest digest) {
    String hex = digest.hex();
    return "readers/" + LAYOUT_VERSION + "/" + hex.substring(0, 2) + "/" + hex + "/";
  }

  private static String readerKey(Digest digest, BlobScope scope) {
    return readersPrefix(digest) + (scope.isPublic() ? "public" : "tenant/" + scope.tenant());
  }

  private Path readersPathOf(Digest digest) {
    String hex = digest.hex();
    return readersRoot.resolve(hex.substring(0, 2)).resolve(hex);
  }

  boolean contains(Digest digest) {
    // With a shared store, only the bucket says: a file under root that never reached it (a store
    // that was local before) must not make an action result naming it look usable.
    return remote == null
        ? Files.isRegularFile(pathOf(digest))
        : remote.size(blobKey(digest)).isPresent();
  }

  private Optional<Long> remoteSize(Digest digest) {
    Optional<Long> size = remote.size(blobKey(digest));
    size.ifPresent(present -> touch(digest));
    return size;
  }

  /** The blob's size, or empty when the store does not have it. */
  Optional<Long> size(Digest digest) throws IOException {
    try {
      return Optional.of(Files.size(pathOf(digest)));
    } catch (NoSuchFileException e) {
      return remote == null ? Optional.empty() : remote.size(blobKey(digest));
    }
  }

  /**
   * The blob's size when it is stored and readable on behalf of {@code tenant} (null: a request
   * acting for no tenant, which sees public blobs only); empty otherwise, so a caller cannot tell
   * "absent" from "someone else's". Marks the blob as used.
   */
  Optional<Long> readableSize(Digest digest, String tenant) throws IOException {
    if (remote != null) {
      // Readers (and so presence) come from the bucket: a blob with no marker there is no one's.
      return readableBy(digest, tenant) ? remoteSize(digest) : Optional.empty();
    }
    Optional<Long> size = size(digest);
    if (size.isEmpty() || !readers(digest).readableBy(tenant)) {
      return Optional.empty();
    }
    touch(digest);
    return size;
  }

  boolean readable(Digest digest, String tenant) throws IOException {
    return contains(digest) && readableBy(digest, tenant);
  }

  /**
   * Whether the blob's readers include {@code tenant} (null: public only), whether or not it is
   * stored. With a shared store: a {@code HEAD} of the public marker, then of the tenant's, rather
   * than listing every marker (a {@code LIST} is S3's slowest and dearest request class).
   */
  boolean readableBy(Digest digest, String tenant) throws IOException {
    if (remote == null) {
      return readers(digest).readableBy(tenant);
    }
    return remote.size(readerKey(digest, BlobScope.PUBLIC)).isPresent()
        || (tenant != null && remote.size(readerKey(digest, BlobScope.tenant(tenant))).isPresent());
  }

  /**
   * Who may read the blob. A blob stored before scopes existed has no readers file and stays
   * public, as everything in the store was then.
   */
  BlobReaders readers(Digest digest) throws IOException {
    if (remote != null) {
      // In the shared store there is no "stored before scopes" history: no marker, no reader.
      boolean isPublic = false;
      java.util.Set<String> tenants = new java.util.TreeSet<>();
      String prefix = readersPrefix(digest);
      for (String key : remote.list(prefix)) {
        String marker = key.substring(prefix.length());
        if (marker.equals("public")) {
          isPublic = true;
        } else if (marker.startsWith("tenant/")
            && BlobScope.isTenantName(marker.substring("tenant/".length()))) {
          tenants.add(marker.substring("tenant/".length()));
        }
      }
      return new BlobReaders(isPublic, tenants);
    }
    try {
      return BlobReaders.decode(Files.readString(readersPathOf(digest), StandardCharsets.UTF_8));
    } catch (NoSuchFileException e) {
      return BlobReaders.PUBLIC;
    }
  }

  /** Records a use, for least-recently-used eviction (also across restarts, through mtime). */
  void touch(Digest digest) {
    synchronized (ledger) {
      ledger.touch(digest);
    }
    try {
      Files.setLastModifiedTime(pathOf(digest), FileTime.from(Instant.now()));
    } catch (IOException e) {
      // Only the order after a restart suffers.
    }
  }

  Path tempDir() {
    return tempDir;
  }

  Path newTempFile() throws IOException {
    return Files.createTempFile(tempDir, "incoming-", ".tmp");
  }

  /** {@link #commit(Path, Digest, Digest, BlobScope)} for a public blob. */
  boolean commit(Path temp, Digest expected, Digest actual) throws IOException {
    return commit(temp, expected, actual, BlobScope.PUBLIC);
  }

  /**
   * Publishes a fully written temp file as blob {@code expected}, readable for {@code scope},
   * consuming the temp file in every outcome. When the store already has the blob, {@code scope} is
   * added to its readers.
   *
   * @param actual the digest computed while the temp file was written
   * @return true when the blob is new, false when the store already had it
   * @throws CacheError 400 when {@code actual} differs from {@code expected}; 507 when the blob
   *     would take its tenant over its store quota, or the store over its bound with nothing left
   *     to evict
   */
  boolean commit(Path temp, Digest expected, Digest actual, BlobScope scope) throws IOException {
    try {
      if (!expected.equals(actual)) {
        throw CacheError.badRequest(
            "content does not match its name: the body's sha256 is "
                + actual.hex()
                + " ("
                + Files.size(temp)
                + " bytes) but the URL names "
                + expected.hex()
                + "; nothing was stored. Send exactly the bytes whose SHA-256 is in the URL.");
      }
      Path target = pathOf(expected);
      long size = Files.size(temp);
      if (remote != null) {
        return commitShared(temp, expected, size, scope);
      }
      if (!Files.exists(target)) {
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
          channel.force(true);
        }
      }
      synchronized (ledger) {
        if (Files.exists(target)) {
          addReader(expected, scope, size);
          ledger.touch(expected);
          return false;
        }
        // Gone from disk behind the ledger's back (removed by hand): forget it.
        ledger.remove(expected);
        BlobReaders readers = BlobReaders.of(scope);
        requireQuota(readers.chargedTo(), size, expected);
        makeRoom(size, expected);
        // Readers first: a crash between the two leaves a readers file without a blob (harmless),
        // never a blob that reads as public because its readers file is missing.
        writeReaders(expected, readers);
        Files.createDirectories(target.getParent());
        boolean created = linkOrMove(temp, target);
        if (created) {
          fsyncDirectory(target.getParent());
          ledger.add(expected, size, readers);
        } else {
          addReader(expected, scope, size);
        }
        return created;
      }
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  /**
   * Publishes a verified blob to the shared store: its reader marker first (as on disk: a crash in
   * between leaves a marker for a blob that is not there, which grants nothing), then the bytes, in
   * one PUT (atomic: readers see the whole object or none). Identical uploads through two replicas
   * may both answer "created"; they write the same bytes.
   */
  private boolean commitShared(Path temp, Digest digest, long size, BlobScope scope)
      throws IOException {
    if (!scope.isPublic() && !readableBy(digest, scope.tenant())) {
      // New to this tenant (public blobs count for no tenant): charged before anything is written.
      long quota = storeQuotaOf.applyAsLong(scope.tenant());
      Optional<Long> refused = sharedUsage.charge(scope.tenant(), digest, size, quota);
      if (refused.isPresent()) {
        throw overQuota(scope.tenant(), refused.get(), size, digest, quota);
      }
    }
    boolean existed = remote.size(blobKey(digest)).isPresent();
    remote.write(readerKey(digest, scope), new byte[0]);
    if (!existed) {
      remote.upload(blobKey(digest), temp);
    }
    cacheLocally(temp, digest, size);
    return !existed;
  }

  /**
   * The blob as a local file, for sending or reading: with a shared store, a cache miss downloads
   * it (verifying its SHA-256) into the local cache. The caller has checked that it may be read.
   *
   * @throws CacheError 404 when the store does not have it; 502 when the shared store's bytes do
   *     not hash to the name; 503 when the shared store fails
   */
  Path localPath(Digest digest) throws IOException {
    Path path = pathOf(digest);
    if (Files.isRegularFile(path)) {
      touch(digest);
      return path;
    }
    if (remote == null) {
      throw CacheError.notFound("blob " + digest + " is not in the store");
    }
    Path temp = newTempFile();
    try {
      if (!remote.download(blobKey(digest), temp)) {
        throw CacheError.notFound("blob " + digest + " is not in the store");
      }
      Digest actual = Digest.compute(temp);
      if (!actual.equals(digest)) {
        throw CacheError.badGateway(
            "the object store "
                + remote.describe()
                + " holds bytes under "
                + blobKey(digest)
                + " that hash to "
                + actual
                + "; they were not served. Delete that object (it is corrupt) and upload the blob"
                + " again",
            null);
      }
      cacheLocally(temp, digest, Files.size(temp));
      return path;
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  /** Keeps a verified blob in the local cache (shared-store mode), evicting to stay in bounds. */
  private void cacheLocally(Path temp, Digest digest, long size) throws IOException {
    Path target = pathOf(digest);
    try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
      channel.force(true);
    }
    synchronized (ledger) {
      if (Files.exists(target)) {
        if (!ledger.knows(digest)) {
          ledger.add(digest, size, BlobReaders.PUBLIC);
        }
        ledger.touch(digest);
        return;
      }
      ledger.remove(digest);
      evictFromCache(size, digest);
      Files.createDirectories(target.getParent());
      if (linkOrMove(temp, target)) {
        fsyncDirectory(target.getParent());
      }
      // Readers live in the shared store; the ledger here only sizes the cache.
      ledger.add(digest, size, BlobReaders.PUBLIC);
    }
  }

  /**
   * Called under the lock, shared-store mode: evicts least recently used blobs from the local cache
   * until {@code size} more fits. Every one is in the shared store, so nothing is lost; a blob
   * larger than the whole cache still passes through it (evicting everything else).
   */
  private void evictFromCache(long size, Digest incoming) throws IOException {
    if (maxStoreBytes == Long.MAX_VALUE) {
      return;
    }
    List<Digest> victims =
        ledger.evictionsToFit(size, maxStoreBytes).orElseGet(ledger::leastRecentlyUsedFirst);
    for (Digest victim : victims) {
      long victimSize = ledger.size(victim).orElse(0L);
      Files.deleteIfExists(pathOf(victim));
      ledger.remove(victim);
      countEviction(victimSize);
      LOG.debug(
          "dropped {} ({} bytes, least recently used) from the local cache for {}; it stays in {}",
          victim,
          victimSize,
          incoming,
          remote.describe());
    }
  }

  /**
   * Refuses at once a blob of {@code size} bytes that could never be stored for {@code scope} (over
   * its tenant's quota), before anything is read. Eviction is not tried here.
   */
  void requireRoomFor(BlobScope scope, long size, Digest digest) {
    if (scope.isPublic() || remote != null) {
      return;
    }
    synchronized (ledger) {
      requireQuota(java.util.Set.of(scope.tenant()), size, digest);
    }
  }

  /** Called under the lock. */
  private void addReader(Digest digest, BlobScope scope, long size) throws IOException {
    BlobReaders before = readers(digest);
    BlobReaders after = before.with(scope);
    if (after.equals(before)) {
      return;
    }
    java.util.Set<String> newlyCharged = new java.util.HashSet<>(after.chargedTo());
    newlyCharged.removeAll(before.chargedTo());
    requireQuota(newlyCharged, size, digest);
    writeReaders(digest, after);
    if (!ledger.knows(digest)) {
      ledger.add(digest, size, after);
    } else {
      ledger.updateReaders(digest, after);
    }
  }

  /** Called under the lock. */
  private void requireQuota(java.util.Set<String> tenants, long size, Digest digest) {
    for (String tenant : tenants) {
      long quota = storeQuotaOf.applyAsLong(tenant);
      long used = ledger.tenantBytes(tenant);
      if (used + size > quota) {
        throw overQuota(tenant, used, size, digest, quota);
      }
    }
  }

  private CacheError overQuota(String tenant, long used, long size, Digest digest, long quota) {
    return CacheError.insufficientStorage(
        "tenant '"
            + tenant
            + "' is over its store quota: its own blobs take "
            + used
            + " bytes, and "
            + digest
            + " ("
            + size
            + " bytes) would take them past its quota of "
            + quota
            + " bytes (quotas.storeBytes); nothing was stored. Raise the quota with "
            + quotaHint.replace("{tenant}", tenant)
            + ", or let unused builds' layers age out");
  }

  /** Called under the lock: evicts least recently used, unnamed blobs until {@code size} fits. */
  private void makeRoom(long size, Digest incoming) throws IOException {
    if (maxStoreBytes == Long.MAX_VALUE) {
      return;
    }
    Optional<List<Digest>> evictions = ledger.evictionsToFit(size, maxStoreBytes);
    if (evictions.isEmpty()) {
      throw CacheError.insufficientStorage(
          "the store is full: blobs take "
              + ledger.totalBytes()
              + " of its "
              + maxStoreBytes
              + " bytes (maxStoreBytes), "
              + incoming
              + " needs "
              + size
              + " more, and only "
              + ledger.evictableBytes()
              + " bytes are not named by a live action result (which are never evicted); nothing"
              + " was stored. Give the store's disk more space (kiln up bounds the store at 80% of the"
              + " space free when it starts, at most 100 GiB) or raise maxStoreBytes (kiln cache-service"
              + " --local-cache-size)");
    }
    for (Digest victim : evictions.get()) {
      long victimSize = ledger.size(victim).orElse(0L);
      Files.deleteIfExists(pathOf(victim));
      Files.deleteIfExists(readersPathOf(victim));
      ledger.remove(victim);
      countEviction(victimSize);
      LOG.info(
          "evicted {} ({} bytes, least recently used, named by no action result) to make room for"
              + " {} ({} bytes); the store now holds {} of {} bytes",
          victim,
          victimSize,
          incoming,
          size,
          ledger.totalBytes(),
          maxStoreBytes);
    }
  }

  private void writeReaders(Digest digest, BlobReaders readers) throws IOException {
    Path target = readersPathOf(digest);
    Files.createDirectories(target.getParent());
    Path temp = Files.createTempFile(tempDir, "readers-", ".tmp");
    try {
      Files.writeString(temp, readers.encode(), StandardCharsets.UTF_8);
      try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
        channel.force(true);
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      fsyncDirectory(target.getParent());
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  /** Action results now name these blobs: eviction leaves them alone. */
  void retain(Collection<Digest> digests) {
    if (remote != null) {
      return; // the local disk is a cache: anything in it may go, the shared store keeps it
    }
    synchronized (ledger) {
      ledger.retain(digests);
    }
  }

  void release(Collection<Digest> digests) {
    synchronized (ledger) {
      ledger.release(digests);
    }
  }

  /** Runs {@code work} while no blob is published, re-scoped or evicted. */
  <T> T locked(java.util.concurrent.Callable<T> work) throws Exception {
    synchronized (ledger) {
      return work.call();
    }
  }

  long totalBytes() {
    synchronized (ledger) {
      return ledger.totalBytes();
    }
  }

  long tenantBytes(String tenant) {
    synchronized (ledger) {
      return ledger.tenantBytes(tenant);
    }
  }

  /** Rebuilds the ledger from disk: sizes, readers, and least recently used first by mtime. */
  private void scan() throws IOException {
    record Found(Digest digest, long size, FileTime used) {}
    List<Found> found = new ArrayList<>();
    try (Stream<Path> shards = Files.list(blobRoot)) {
      for (Path shard : (Iterable<Path>) shards::iterator) {
        if (!SHARD.matcher(shard.getFileName().toString()).matches() || !Files.isDirectory(shard)) {
          continue;
        }
        try (Stream<Path> files = Files.list(shard)) {
          for (Path file : (Iterable<Path>) files::iterator) {
            String name = file.getFileName().toString();
            if (Digest.isHex(name)) {
              BasicFileAttributes attributes =
                  Files.readAttributes(file, BasicFileAttributes.class);
              found.add(
                  new Found(Digest.ofHex(name), attributes.size(), attributes.lastModifiedTime()));
            }
          }
        }
      }
    }
    found.sort(java.util.Comparator.comparing(Found::used));
    synchronized (ledger) {
      for (Found blob : found) {
        // With a shared store the local files are a cache: their readers live in the bucket.
        ledger.add(
            blob.digest(),
            blob.size(),
            remote == null ? readers(blob.digest()) : BlobReaders.PUBLIC);
      }
    }
  }

  /** Stores {@code content} (small, already in memory) through the same verified path. */
  Digest putBytes(byte[] content) throws IOException {
    Digest digest = Digest.compute(content);
    Path temp = newTempFile();
    Files.write(temp, content);
    commit(temp, digest, digest, BlobScope.PUBLIC);
    return digest;
  }

  /** Copies {@code source} over {@code target}, returning the digest of the bytes copied. */
  static Digest copyHashing(Path source, Path target) throws IOException {
    return copyHashing(source, target, Long.MAX_VALUE, null);
  }

  /**
   * Copies at most {@code maxBytes + 1} bytes of {@code source} over {@code target}, so a caller
   * expecting at most {@code maxBytes} sees a longer source without copying all of it.
   *
   * @param alsoHash fed the same bytes, or null
   * @return the digest of the bytes copied
   */
  static Digest copyHashing(Path source, Path target, long maxBytes, MessageDigest alsoHash)
      throws IOException {
    MessageDigest sha256 = Digest.newSha256();
    try (InputStream in = new DigestInputStream(Files.newInputStream(source), sha256);
        OutputStream out = Files.newOutputStream(target)) {
      byte[] buffer = new byte[64 * 1024];
      long left = maxBytes == Long.MAX_VALUE ? Long.MAX_VALUE : maxBytes + 1;
      for (int read;
          left > 0 && (read = in.read(buffer, 0, (int) Math.min(buffer.length, left))) != -1; ) {
        out.write(buffer, 0, read);
        if (alsoHash != null) {
          alsoHash.update(buffer, 0, read);
        }
        left -= read;
      }
    }
    return Digest.fromSha256(sha256);
  }

  /** Removes temp files a crashed process left behind; younger ones may still be in use. */
  int removeTempFilesOlderThan(Duration age) throws IOException {
    return removeFilesOlderThan(tempDir, age);
  }

  static int removeFilesOlderThan(Path directory, Duration age) throws IOException {
    Instant cutoff = Instant.now().minus(age);
    int removed = 0;
    try (Stream<Path> temps = Files.list(directory)) {
      for (Path temp : (Iterable<Path>) temps::iterator) {
        if (Files.getLastModifiedTime(temp).toInstant().isBefore(cutoff)
            && Files.deleteIfExists(temp)) {
          removed++;
        }
      }
    }
    return removed;
  }

  /**
   * A hard link fails if the target exists, so of two identical concurrent uploads exactly one
   * reports "created"; where links are unsupported an atomic rename gives the same bytes.
   */
  private static boolean linkOrMove(Path temp, Path target) throws IOException {
    try {
      Files.createLink(target, temp);
      return true;
    } catch (FileAlreadyExistsException e) {
      return false;
    } catch (UnsupportedOperationException | IOException linkUnsupported) {
      if (Files.exists(target)) {
        return false;
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
      return true;
    }
  }

  static void fsyncDirectory(Path directory) {
    try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
      channel.force(true);
    } catch (IOException e) {
      // Some file systems refuse to open directories; the blob itself is already durable.
    }
  }

  private void countEviction(long size) {
    evictedBlobs.increment();
    evictedBytes.add(size);
  }

  /** Blobs evicted since this store opened (from the local cache, with a shared store). */
  long evictedBlobs() {
    return evictedBlobs.sum();
  }

  /** Bytes evicted since this store opened. */
  long evictedBytes() {
    return evictedBytes.sum();
  }

  /** Bytes the blobs on this store's disk take now (the local cache, with a shared store). */
  long storedBytes() {
    synchronized (ledger) {
      return ledger.totalBytes();
    }
  }
}
