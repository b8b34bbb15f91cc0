package dev.kiln.cache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.cache.CacheServiceConfig;
import dev.kiln.cache.CacheServiceVerticle;
import dev.kiln.events.Digest;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CacheServiceClientTest {
  @TempDir Path root;
  @TempDir Path work;
  private Vertx vertx;
  private CacheServiceClient client;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    String farmToken = "kiln_farm_" + "t".repeat(43);
    CacheServiceVerticle verticle =
        new CacheServiceVerticle(
            CacheServiceConfig.of(root, work.toUri().toString())
                .withFarmTokenSha256(CacheServiceConfig.sha256Hex(farmToken)));
    vertx.deployVerticle(verticle).await(30, TimeUnit.SECONDS);
    client = new CacheServiceClient(verticle.baseUrl(), farmToken).forTenant("acme");
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().await(30, TimeUnit.SECONDS);
  }

  @Test
  void blobRoundTripsThroughTheStore() throws Exception {
    Path file = Files.writeString(work.resolve("layer.tar"), "layer content");

    Digest digest = client.putBlob(file);
    Optional<Path> downloaded = client.getBlob(digest, work.resolve("out/copy.tar"));

    assertThat(digest).isEqualTo(Digest.compute(file));
    assertThat(client.hasBlob(digest)).isTrue();
    assertThat(downloaded).contains(work.resolve("out/copy.tar"));
    assertThat(Files.readString(work.resolve("out/copy.tar"))).isEqualTo("layer content");
  }

  @Test
  void indexFilesAreListedWithTheirHashesAndFetchedByHash() throws Exception {
    Path wheel =
        dev.kiln.testkit.WheelBuilder.wheel("Demo_Pkg", "1.0")
            .requiresPython(">=3.9")
            .writeTo(work);
    Digest sha256 = Digest.compute(work.resolve(wheel.getFileName()));

    java.util.List<CacheServiceClient.IndexFile> files = client.projectFiles("demo.pkg");
    Optional<Path> fetched =
        client.getIndexFile(sha256, wheel.getFileName().toString(), work.resolve("out/demo.whl"));

    assertThat(files)
        .containsExactly(
            new CacheServiceClient.IndexFile(
                wheel.getFileName().toString(), sha256, ">=3.9", false));
    assertThat(fetched).contains(work.resolve("out/demo.whl"));
    assertThat(Digest.compute(work.resolve("out/demo.whl"))).isEqualTo(sha256);
    assertThat(client.projectFiles("not-there")).isEmpty();
  }

  @Test
  void absentBlobIsEmptyAndLeavesNoFile() {
    Digest absent = Digest.ofHex("0".repeat(64));

    assertThat(client.hasBlob(absent)).isFalse();
    assertThat(client.getBlob(absent, work.resolve("never"))).isEmpty();
    assertThat(work.resolve("never")).doesNotExist();
  }

  @Test
  void actionResultRoundTripsAndMissingBlobsAreExplained() throws Exception {
    Digest layer = client.putBlob(Files.writeString(work.resolve("l"), "l"));
    String key = "c".repeat(64);
    String json = "{\"blobs\":[\"" + layer + "\"]}";

    client.putAction(key, json);

    assertThat(client.getAction(key)).contains(json);
    assertThat(client.getAction("d".repeat(64))).isEmpty();
    assertThatThrownBy(
            () -> client.putAction(key, "{\"blobs\":[\"sha256:" + "e".repeat(64) + "\"]}"))
        .isInstanceOf(CacheServiceClientException.class)
        .hasMessageContaining("409")
        .hasMessageContaining("does not have");
  }

  @Test
  void indexUrlIsTheSimpleRoot() {
    assertThat(client.indexUrl()).endsWith("/simple/").startsWith("http://127.0.0.1:");
  }

  @Test
  void unreachableServiceIsNamedInTheError() throws Exception {
    vertx.close().await(30, TimeUnit.SECONDS);
    vertx = Vertx.vertx();

    assertThatThrownBy(() -> client.hasBlob(Digest.compute("x".getBytes(StandardCharsets.UTF_8))))
        .isInstanceOf(CacheServiceClientException.class)
        .hasMessageContaining("unreachable")
        .hasMessageContaining(client.baseUrl());
  }
}
