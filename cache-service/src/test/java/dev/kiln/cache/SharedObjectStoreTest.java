package dev.kiln.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.events.Digest;
import dev.kiln.testkit.S3TestServer;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several cache-service replicas on one S3 bucket, against a real S3-API server (s3proxy, {@link
 * S3TestServer}): what one stores, the other serves; the local disk is only a bounded cache; limits
 * and verification leave nothing in the bucket; tenants stay apart across replicas; a failing store
 * is a 503, not a hang.
 */
class SharedObjectStoreTest {
  private static S3TestServer server;

  @TempDir Path temp;
  private final List<AutoCloseable> started = new ArrayList<>();
  private final String farmToken = RunningCacheService.newFarmToken();

  @BeforeAll
  static void startS3() throws Exception {
    server = new S3TestServer();
  }

  @AfterAll
  static void stopS3() throws Exception {
    server.close();
  }

  @AfterEach
  void stopReplicas() throws Exception {
    for (AutoCloseable closeable : started) {
      closeable.close();
    }
  }

  private CacheServiceConfig config(String name, ObjectStoreSettings store) {
    return CacheServiceConfig.of(temp.resolve(name), "https://pypi.org/simple/")
        .withObjectStore(store);
  }

  private RunningCacheService replica(CacheServiceConfig config) {
    RunningCacheService service = RunningCacheService.startWithToken(config, farmToken);
    started.add(service);
    return service;
  }

  private static byte[] bytes(String text, int size) {
    byte[] bytes = new byte[size];
    Arrays.fill(bytes, (byte) 'x');
    byte[] prefix = text.getBytes(StandardCharsets.UTF_8);
    System.arraycopy(prefix, 0, bytes, 0, prefix.length);
    return bytes;
  }

  private static Path cached(Path root, Digest digest) {
    return root.resolve("cas/v1").resolve(digest.hex().substring(0, 2)).resolve(digest.hex());
  }

  @Test
  void aBlobPutThroughOneReplicaIsServedByTheOther() {
    String bucket = server.newBucket();
    RunningCacheService a = replica(config("a", settings(server, bucket)));
    RunningCacheService b = replica(config("b", settings(server, bucket)));
    byte[] layer = "a dependency layer".getBytes(StandardCharsets.UTF_8);
    Digest digest = Digest.compute(layer);

    assertThat(a.put("/cas/" + digest.hex(), layer).statusCode()).isEqualTo(201);
    assertThat(b.put("/cas/" + digest.hex(), layer).statusCode()).isEqualTo(200);
    HttpResponse<byte[]> fromB = b.getBytes("/cas/" + digest.hex());

    assertThat(fromB.statusCode()).isEqualTo(200);
    assertThat(fromB.body()).isEqualTo(layer);
    assertThat(b.head("/cas/" + digest.hex()).headers().firstValue("content-length"))
        .hasValue(Integer.toString(layer.length));
    assertThat(server.keys(bucket))
        .contains(
            "farm/cas/v1/" + digest.hex().substring(0, 2) + "/" + digest.hex(),
            "farm/readers/v1/" + digest.hex().substring(0, 2) + "/" + digest.hex() + "/public");
    // B kept a verified copy in its local cache.
    assertThat(cached(temp.resolve("b"), digest)).hasBinaryContent(layer);
  }

  @Test
  void anActionResultWrittenThroughOneReplicaIsServedByTheOther() {
    String bucket = server.newBucket();
    RunningCacheService a = replica(config("a", settings(server, bucket)));
    RunningCacheService b = replica(config("b", settings(server, bucket)));
    byte[] layer = "layer of a dependency set".getBytes(StandardCharsets.UTF_8);
    Digest digest = Digest.compute(layer);
    String key = Digest.compute("requirements.txt".getBytes(StandardCharsets.UTF_8)).hex();
    String result = "{\"layer\":\"" + digest + "\",\"blobs\":[\"" + digest + "\"]}";
    Digest missing = Digest.compute("never uploaded".getBytes(StandardCharsets.UTF_8));

    assertThat(b.get("/ac/" + key).statusCode()).isEqualTo(404);
    assertThat(a.put("/cas/" + digest.hex(), layer).statusCode()).isEqualTo(201);
    assertThat(a.put("/ac/" + key, result).statusCode()).isEqualTo(201);
    HttpResponse<String> fromB = b.get("/ac/" + key);
    // Through B, a result naming a blob no replica has is still refused.
    HttpResponse<String> naming = b.put("/ac/" + key, "{\"blobs\":[\"" + missing + "\"]}");

    assertThat(fromB.statusCode()).isEqualTo(200);
    assertThat(fromB.body()).isEqualTo(result);
    assertThat(naming.statusCode()).isEqualTo(409);
    assertThat(a.get("/ac/" + key).body()).isEqualTo(result);
    // Replaced through B, seen through A at once.
    String newer = "{\"layer\":\"" + digest + "\",\"v\":2,\"blobs\":[\"" + digest + "\"]}";
    assertThat(b.put("/ac/" + key, newer).statusCode()).isEqualTo(200);
    assertThat(a.get("/ac/" + key).body()).isEqualTo(newer);
  }

  @Test
  void theLocalCacheEvictsTheLeastRecentlyUsedAndStillServesFromTheBucket() {
    String bucket = server.newBucket();
    RunningCacheService writer = replica(config("writer", settings(server, bucket)));
    // Room for two 100-byte blobs.
    RunningCacheService reader =
        replica(config("reader", settings(server, bucket)).withMaxStoreBytes(250));
    Path cache = temp.resolve("reader");
    byte[] x = bytes("x", 100);
    byte[] y = bytes("y", 100);
    byte[] z = bytes("z", 100);
    for (byte[] blob : List.of(x, y, z)) {
      assertThat(writer.put("/cas/" + Digest.compute(blob).hex(), blob).statusCode())
          .isEqualTo(201);
    }
    Digest dx = Digest.compute(x);
    Digest dy = Digest.compute(y);
    Digest dz = Digest.compute(z);

    assertThat(reader.getBytes("/cas/" + dx.hex()).body()).isEqualTo(x);
    assertThat(reader.getBytes("/cas/" + dy.hex()).body()).isEqualTo(y);
    assertThat(reader.getBytes("/cas/" + dx.hex()).body()).isEqualTo(x); // x is now newer than y
    assertThat(reader.getBytes("/cas/" + dz.hex()).body()).isEqualTo(z);

    assertThat(cached(cache, dx)).exists();
    assertThat(cached(cache, dz)).exists();
    assertThat(cached(cache, dy)).doesNotExist(); // the least recently used went
    // Evicting locally lost nothing: y comes back from the bucket, verified.
    HttpResponse<byte[]> again = reader.getBytes("/cas/" + dy.hex());
    assertThat(again.statusCode()).isEqualTo(200);
    assertThat(again.body()).isEqualTo(y);
    assertThat(cached(cache, dy)).exists();
    assertThat(cached(cache, dx)).doesNotExist();
  }

  @Test
  void anOversizedBlobIsRefusedWith413AndNothingReachesTheBucket() {
    String bucket = server.newBucket();
    RunningCacheService service =
        replica(config("a", settings(server, bucket)).withMaxBlobBytes(64));
    byte[] big = bytes("big", 100);
    Digest digest = Digest.compute(big);

    HttpResponse<String> refused = service.put("/cas/" + digest.hex(), big);

    assertThat(refused.statusCode()).isEqualTo(413);
    assertThat(refused.body())
        .contains("100 bytes", "64 bytes", "maxBlobBytes", "nothing was stored");
    assertThat(server.keys(bucket)).isEmpty();
    assertThat(service.get("/cas/" + digest.hex()).statusCode()).isEqualTo(404);
  }

  @Test
  void aHashMismatchUploadLeavesNothingInTheBucket() throws Exception {
    String bucket = server.newBucket();
    RunningCacheService service = replica(config("a", settings(server, bucket)));
    Digest named = Digest.compute("the real bytes".getBytes(StandardCharsets.UTF_8));

    HttpResponse<String> refused =
        service.put("/cas/" + named.hex(), "other bytes".getBytes(StandardCharsets.UTF_8));

    assertThat(refused.statusCode()).isEqualTo(400);
    assertThat(refused.body()).contains("does not match", "nothing was stored");
    assertThat(server.keys(bucket)).isEmpty();
    try (var files = Files.walk(temp.resolve("a").resolve("cas/v1/tmp"))) {
      assertThat(files.filter(Files::isRegularFile)).isEmpty();
    }
  }

  @Test
  void attackATenantsPrivateBlobIsNotReadableForAnotherTenantThroughTheOtherReplica() {
    String bucket = server.newBucket();
    RunningCacheService acmeOnA = replica(config("a", settings(server, bucket)));
    RunningCacheService b = replica(config("b", settings(server, bucket)));
    RunningCacheService bobOnB = b.forTenant("bob");
    byte[] privateLayer = "acme's private app layer".getBytes(StandardCharsets.UTF_8);
    Digest digest = Digest.compute(privateLayer);
    Digest absent = Digest.compute("never stored".getBytes(StandardCharsets.UTF_8));
    String key = Digest.compute("acme's lockfile".getBytes(StandardCharsets.UTF_8)).hex();
    assertThat(acmeOnA.putForTenant("/cas/" + digest.hex(), privateLayer).statusCode())
        .isEqualTo(201);
    assertThat(acmeOnA.putForTenant("/ac/" + key, "{\"blobs\":[\"" + digest + "\"]}").statusCode())
        .isEqualTo(201);

    HttpResponse<String> asBob = bobOnB.get("/cas/" + digest.hex());
    HttpResponse<String> absentAsBob = bobOnB.get("/cas/" + absent.hex());

    assertThat(asBob.statusCode()).isEqualTo(404);
    assertThat(asBob.body()).isEqualTo(absentAsBob.body().replace(absent.hex(), digest.hex()));
    assertThat(bobOnB.head("/cas/" + digest.hex()).statusCode()).isEqualTo(404);
    assertThat(bobOnB.get("/ac/" + key).statusCode()).isEqualTo(404);
    // Bob cannot gain access by re-uploading a hash he has not got the bytes for.
    assertThat(bobOnB.putForTenant("/cas/" + digest.hex(), "guess").statusCode()).isEqualTo(400);
    assertThat(bobOnB.get("/cas/" + digest.hex()).statusCode()).isEqualTo(404);
    // Nor can a public result name the private blob, through either replica.
    assertThat(b.put("/ac/" + key, "{\"blobs\":[\"" + digest + "\"]}").statusCode()).isEqualTo(409);
    // Acme itself reads both through B.
    assertThat(b.getBytes("/cas/" + digest.hex()).body()).isEqualTo(privateLayer);
    assertThat(b.get("/ac/" + key).statusCode()).isEqualTo(200);
    // And once B has the bytes in its local cache, bob still cannot read them.
    assertThat(bobOnB.get("/cas/" + digest.hex()).statusCode()).isEqualTo(404);
  }

  @Test
  void aScopeAddedThroughOneReplicaCountsAtOnceOnTheOther() {
    String bucket = server.newBucket();
    RunningCacheService a = replica(config("a", settings(server, bucket)));
    RunningCacheService b = replica(config("b", settings(server, bucket)));
    byte[] wheel =
        "a wheel acme built privately, later found public".getBytes(StandardCharsets.UTF_8);
    Digest digest = Digest.compute(wheel);
    assertThat(a.putForTenant("/cas/" + digest.hex(), wheel).statusCode()).isEqualTo(201);
    // B caches it for acme; bob cannot read it yet.
    assertThat(b.getBytes("/cas/" + digest.hex()).body()).isEqualTo(wheel);
    assertThat(b.forTenant("bob").get("/cas/" + digest.hex()).statusCode()).isEqualTo(404);

    // The same bytes uploaded as public through B (whoever has them may add a scope) ...
    assertThat(b.put("/cas/" + digest.hex(), wheel).statusCode()).isEqualTo(200);

    // ... make them readable for bob through A at once.
    assertThat(a.forTenant("bob").getBytes("/cas/" + digest.hex()).body()).isEqualTo(wheel);
  }

  @Test
  void anObjectStoreThatIsDownOrSilentIsA503NotAHang() throws Exception {
    S3TestServer own = new S3TestServer();
    String bucket = own.newBucket();
    int port = own.port();
    RunningCacheService service;
    try {
      service =
          replica(
              config(
                  "a",
                  settings(own, bucket)
                      .withTimeouts(Duration.ofSeconds(2), Duration.ofMillis(500))));
    } finally {
      own.close();
    }
    Digest digest = Digest.compute("anything".getBytes(StandardCharsets.UTF_8));

    HttpResponse<String> down = service.get("/cas/" + digest.hex());

    assertThat(down.statusCode()).isEqualTo(503);
    assertThat(down.body()).contains("object store s3://" + bucket + "/farm at " + own.endpoint());

    // A store that accepts connections and never answers: the read timeout ends the request.
    try (ServerSocket silent =
        new ServerSocket(port, 50, java.net.InetAddress.getLoopbackAddress())) {
      List<Socket> held = new ArrayList<>();
      Thread acceptor =
          new Thread(
              () -> {
                try {
                  while (true) {
                    held.add(silent.accept());
                  }
                } catch (Exception closed) {
                  // the test is over
                }
              });
      acceptor.setDaemon(true);
      acceptor.start();
      try {
        HttpResponse<String> silentAnswer = service.get("/ac/" + digest.hex());
        assertThat(silentAnswer.statusCode()).isEqualTo(503);
        assertThat(silentAnswer.body()).contains("object store s3://" + bucket, "failed GET");
      } finally {
        silent.close();
        acceptor.join();
        for (Socket socket : held) {
          socket.close();
        }
      }
    }
  }

  @Test
  void aBlobLeftOnLocalDiskFromBeforeTheSharedStoreIsNotServedAsIfItWereInTheBucket()
      throws Exception {
    Path root = temp.resolve("was-local");
    byte[] layer = "stored while the store was local".getBytes(StandardCharsets.UTF_8);
    Digest digest = Digest.compute(layer);
    try (RunningCacheService local =
        RunningCacheService.startWithToken(
            CacheServiceConfig.of(root, "https://pypi.org/simple/"), farmToken)) {
      assertThat(local.put("/cas/" + digest.hex(), layer).statusCode()).isEqualTo(201);
    }
    String bucket = server.newBucket();
    RunningCacheService shared = replica(config("was-local", settings(server, bucket)));
    String key = Digest.compute("a lockfile".getBytes(StandardCharsets.UTF_8)).hex();

    // The bucket is the store: the old local file is neither served nor good enough for a result.
    assertThat(shared.get("/cas/" + digest.hex()).statusCode()).isEqualTo(404);
    assertThat(shared.put("/ac/" + key, "{\"blobs\":[\"" + digest + "\"]}").statusCode())
        .isEqualTo(409);
    // Uploading it again puts it in the bucket, for every replica.
    assertThat(shared.put("/cas/" + digest.hex(), layer).statusCode()).isEqualTo(201);
    assertThat(shared.getBytes("/cas/" + digest.hex()).body()).isEqualTo(layer);
  }

  @Test
  void attackATenantSpreadingUploadsOverReplicasStillMeetsItsStoreQuota() throws Exception {
    String bucket = server.newBucket();
    InMemoryTenantDirectory tenants = new InMemoryTenantDirectory().setStoreQuota("acme", 1500);
    RunningCacheService a =
        replica(config("a", settings(server, bucket)).withTenantDirectory(tenants));
    RunningCacheService b =
        replica(config("b", settings(server, bucket)).withTenantDirectory(tenants));
    byte[] first = bytes("acme's first layer", 1000);
    byte[] second = bytes("acme's second layer", 1000);
    Digest firstDigest = Digest.compute(first);
    Digest secondDigest = Digest.compute(second);
    assertThat(a.putForTenant("/cas/" + firstDigest.hex(), first).statusCode()).isEqualTo(201);
    // The same blob again through the other replica is already acme's: not charged twice.
    assertThat(b.putForTenant("/cas/" + firstDigest.hex(), first).statusCode()).isLessThan(300);

    // Replica b, which stored nothing new for acme, knows what a charged: the bucket says.
    HttpResponse<String> over = b.putForTenant("/cas/" + secondDigest.hex(), second);

    assertThat(over.statusCode()).isEqualTo(507);
    assertThat(over.body())
        .contains("tenant 'acme' is over its store quota")
        .contains("its own blobs take 1000 bytes")
        .contains("1500 bytes");
    assertThat(server.keys(bucket)).noneMatch(key -> key.contains(secondDigest.hex()));
    assertThat(a.putForTenant("/cas/" + secondDigest.hex(), second).statusCode()).isEqualTo(507);
    // Public blobs count for no tenant; other tenants have quotas of their own.
    assertThat(b.forTenant("bob").putForTenant("/cas/" + secondDigest.hex(), second).statusCode())
        .isEqualTo(201);
    assertThat(a.put("/cas/" + secondDigest.hex(), second).statusCode()).isLessThan(300);
  }

  @Test
  void aMissingBucketFailsTheStartSayingHowToCreateIt() {
    assertThatThrownBy(() -> replica(config("a", settings(server, "no-such-bucket"))))
        .hasMessageContaining("bucket 'no-such-bucket' does not exist")
        .hasMessageContaining("s3 mb s3://no-such-bucket");
  }

  /** Settings for the cache-service: {@code server}, {@code bucket}, prefix {@code farm}. */
  private static ObjectStoreSettings settings(S3TestServer server, String bucket) {
    return ObjectStoreSettings.parse("s3://" + bucket + "/farm")
        .withEndpoint(server.endpoint())
        .withCredentials(S3TestServer.ACCESS_KEY, S3TestServer.SECRET_KEY);
  }
}
