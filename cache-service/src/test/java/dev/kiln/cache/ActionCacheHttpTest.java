package dev.kiln.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.events.Digest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ActionCacheHttpTest {
  private static final String KEY = "5".repeat(64);

  @TempDir Path root;
  @TempDir Path emptyUpstream;
  private RunningCacheService service;

  @BeforeEach
  void start() {
    service =
        RunningCacheService.start(CacheServiceConfig.of(root, emptyUpstream.toUri().toString()));
  }

  @AfterEach
  void stop() throws Exception {
    service.close();
  }

  @Test
  void storedResultComesBackWhileItsBlobsArePresent() {
    Digest layer = storeBlob("layer");
    String result = "{\"blobs\":[\"" + layer + "\"],\"layerDigest\":\"" + layer + "\"}";

    HttpResponse<String> put = service.put("/ac/" + KEY, result);
    HttpResponse<String> get = service.get("/ac/" + KEY);

    assertThat(put.statusCode()).isEqualTo(201);
    assertThat(get.statusCode()).isEqualTo(200);
    assertThat(get.body()).isEqualTo(result);
    assertThat(get.headers().firstValue("Content-Type")).contains("application/json");
  }

  @Test
  void replacingAResultAnswers200() {
    assertThat(service.put("/ac/" + KEY, "{\"n\":1}").statusCode()).isEqualTo(201);
    assertThat(service.put("/ac/" + KEY, "{\"n\":2}").statusCode()).isEqualTo(200);
    assertThat(service.get("/ac/" + KEY).body()).isEqualTo("{\"n\":2}");
  }

  @Test
  void resultIs404OnceABlobItNamesIsGone() throws Exception {
    Digest layer = storeBlob("layer that will vanish");
    service.put("/ac/" + KEY, "{\"blobs\":[\"" + layer + "\"]}");
    Files.delete(root.resolve("cas/v1").resolve(layer.hex().substring(0, 2)).resolve(layer.hex()));

    HttpResponse<String> get = service.get("/ac/" + KEY);

    assertThat(get.statusCode()).isEqualTo(404);
    assertThat(get.body()).contains("stale").contains(layer.toString());
  }

  @Test
  void resultNamingAMissingBlobIsRefusedAndNotStored() {
    String missing = "sha256:" + "9".repeat(64);

    HttpResponse<String> put = service.put("/ac/" + KEY, "{\"blobs\":[\"" + missing + "\"]}");

    assertThat(put.statusCode()).isEqualTo(409);
    assertThat(put.body()).contains(missing).contains("PUT /cas/");
    assertThat(service.get("/ac/" + KEY).statusCode()).isEqualTo(404);
  }

  @Test
  void unknownKeyIs404() {
    HttpResponse<String> get = service.get("/ac/" + "7".repeat(64));

    assertThat(get.statusCode()).isEqualTo(404);
    assertThat(get.body()).contains("no action result");
  }

  @Test
  void malformedKeyIs400() {
    HttpResponse<String> get = service.get("/ac/not-a-key");
    HttpResponse<String> put = service.put("/ac/not-a-key", "{}");

    assertThat(get.statusCode()).isEqualTo(400);
    assertThat(put.statusCode()).isEqualTo(400);
    assertThat(get.body())
        .contains("malformed action key 'not-a-key'")
        .contains("64 lowercase hex");
  }

  @Test
  void bodiesThatAreNotResultObjectsAre400NamingTheProblem() {
    assertThat(service.put("/ac/" + KEY, "{not json").body()).contains("not valid JSON");
    assertThat(service.put("/ac/" + KEY, "[1,2]").body()).contains("must be a JSON object");
    assertThat(service.put("/ac/" + KEY, "{\"blobs\":\"x\"}").body())
        .contains("field 'blobs' must be an array");
    HttpResponse<String> badEntry =
        service.put("/ac/" + KEY, "{\"blobs\":[\"sha256:" + "1".repeat(64) + "\",\"md5:abc\"]}");
    assertThat(badEntry.statusCode()).isEqualTo(400);
    assertThat(badEntry.body()).contains("field 'blobs[1]'").contains("md5:abc");
    HttpResponse<String> bareHex =
        service.put("/ac/" + KEY, "{\"blobs\":[\"" + "1".repeat(64) + "\"]}");
    assertThat(bareHex.statusCode()).isEqualTo(400);
    assertThat(bareHex.body())
        .contains("field 'blobs[0]'")
        .contains("expected 'sha256:' followed by 64 lowercase hex");
    assertThat(service.get("/ac/" + KEY).statusCode()).isEqualTo(404);
  }

  @Test
  void aTenantSeesItsOwnResultBeforeThePublicOneAndOthersSeeThePublicOne() {
    Digest shared = storeBlob("public layer");
    service.put("/ac/" + KEY, "{\"blobs\":[\"" + shared + "\"],\"n\":\"public\"}");
    HttpResponse<String> own =
        service.putForTenant("/ac/" + KEY, "{\"blobs\":[\"" + shared + "\"],\"n\":\"acme\"}");

    assertThat(own.statusCode()).isEqualTo(201);
    assertThat(own.body()).contains("stored (tenant 'acme')");
    assertThat(service.get("/ac/" + KEY).body()).contains("\"n\":\"acme\"");
    assertThat(service.forTenant("bob").get("/ac/" + KEY).body()).contains("\"n\":\"public\"");
  }

  @Test
  void writesWithoutAScopeAndReadsWithoutATenantAre400SayingWhatToSend() {
    HttpResponse<String> put = service.put("/ac/" + KEY, "{}", "X-Kiln-Scope", "everyone");
    HttpResponse<String> get = service.as("X-Kiln-Tenant", null).get("/ac/" + KEY);
    HttpResponse<String> badTenant = service.as("X-Kiln-Tenant", "../acme").get("/ac/" + KEY);

    assertThat(put.statusCode()).isEqualTo(400);
    assertThat(put.body()).contains("needs X-Kiln-Scope: public").contains("got 'everyone'");
    assertThat(get.statusCode()).isEqualTo(400);
    assertThat(get.body()).contains("needs X-Kiln-Tenant");
    assertThat(badTenant.statusCode()).isEqualTo(400);
    assertThat(badTenant.body()).contains("is not a tenant name");
  }

  private Digest storeBlob(String text) {
    byte[] content = text.getBytes(StandardCharsets.UTF_8);
    Digest digest = Digest.compute(content);
    assertThat(service.put("/cas/" + digest.hex(), content).statusCode()).isIn(200, 201);
    return digest;
  }
}
