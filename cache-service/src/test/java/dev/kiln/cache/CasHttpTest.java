package dev.kiln.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.events.Digest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CasHttpTest {
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
  void putStoresNewBlobWith201AndAgainWith200() {
    byte[] content = "layer bytes".getBytes(StandardCharsets.UTF_8);
    Digest digest = Digest.compute(content);

    HttpResponse<String> first = service.put("/cas/" + digest.hex(), content);
    HttpResponse<String> second = service.put("/cas/" + digest.hex(), content);

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(second.statusCode()).isEqualTo(200);
    assertThat(first.headers().firstValue("ETag")).contains("\"" + digest.hex() + "\"");
  }

  @Test
  void getStreamsTheBlobWithLengthAndEtag() {
    byte[] content = "some wheel".getBytes(StandardCharsets.UTF_8);
    Digest digest = Digest.compute(content);
    service.put("/cas/" + digest.hex(), content);

    HttpResponse<byte[]> response = service.getBytes("/cas/" + digest.hex());

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo(content);
    assertThat(response.headers().firstValue("Content-Length")).contains("10");
    assertThat(response.headers().firstValue("ETag")).contains("\"" + digest.hex() + "\"");
  }

  @Test
  void headAnswersWithLengthAndNoBody() {
    byte[] content = "twelve bytes".getBytes(StandardCharsets.UTF_8);
    Digest digest = Digest.compute(content);
    service.put("/cas/" + digest.hex(), content);

    HttpResponse<String> present = service.head("/cas/" + digest.hex());
    HttpResponse<String> absent = service.head("/cas/" + "0".repeat(64));

    assertThat(present.statusCode()).isEqualTo(200);
    assertThat(present.headers().firstValue("Content-Length")).contains("12");
    assertThat(present.body()).isEmpty();
    assertThat(absent.statusCode()).isEqualTo(404);
  }

  @Test
  void absentBlobIs404() {
    HttpResponse<String> response = service.get("/cas/" + "a".repeat(64));

    assertThat(response.statusCode()).isEqualTo(404);
    assertThat(response.body()).contains("sha256:" + "a".repeat(64)).contains("not in the store");
  }

  @Test
  void malformedDigestsAre400WithTheExpectedForm() {
    for (String malformed :
        List.of(
            "abc", "A".repeat(64), "g".repeat(64), "a".repeat(65), "sha256:" + "a".repeat(64))) {
      HttpResponse<String> get = service.get("/cas/" + malformed);
      HttpResponse<String> put = service.put("/cas/" + malformed, "x");

      assertThat(get.statusCode()).as(malformed).isEqualTo(400);
      assertThat(put.statusCode()).as(malformed).isEqualTo(400);
      assertThat(get.body())
          .contains("malformed sha256 '" + malformed + "'")
          .contains("64 lowercase hex characters");
    }
  }

  @Test
  void hashMismatchIs400AndLeavesNothingBehind() throws Exception {
    Digest claimed = Digest.compute("expected".getBytes(StandardCharsets.UTF_8));

    HttpResponse<String> response = service.put("/cas/" + claimed.hex(), "something else");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(response.body())
        .contains("does not match")
        .contains(claimed.hex())
        .contains(Digest.compute("something else".getBytes(StandardCharsets.UTF_8)).hex());
    assertThat(service.get("/cas/" + claimed.hex()).statusCode()).isEqualTo(404);
    try (var temps = Files.list(root.resolve("cas/v1/tmp"))) {
      assertThat(temps).isEmpty();
    }
    try (var shards = Files.list(root.resolve("cas/v1"))) {
      assertThat(shards).extracting(path -> path.getFileName().toString()).containsExactly("tmp");
    }
  }

  @Test
  void concurrentIdenticalPutsAllSucceedAndCreateOnce() throws Exception {
    byte[] content = new byte[512 * 1024];
    for (int i = 0; i < content.length; i++) {
      content[i] = (byte) (i % 251);
    }
    Digest digest = Digest.compute(content);
    int uploaders = 6;
    ExecutorService pool = Executors.newFixedThreadPool(uploaders);
    List<Integer> statuses = new ArrayList<>();
    try {
      List<Callable<Integer>> puts = new ArrayList<>();
      for (int i = 0; i < uploaders; i++) {
        puts.add(() -> service.put("/cas/" + digest.hex(), content).statusCode());
      }
      for (Future<Integer> put : pool.invokeAll(puts)) {
        statuses.add(put.get());
      }
    } finally {
      pool.shutdownNow();
    }

    assertThat(statuses).containsOnly(200, 201).containsOnlyOnce(201);
    assertThat(service.getBytes("/cas/" + digest.hex()).body()).isEqualTo(content);
    try (var temps = Files.list(root.resolve("cas/v1/tmp"))) {
      assertThat(temps).isEmpty();
    }
  }

  @Test
  void unknownEndpointSaysWhatIsServed() {
    HttpResponse<String> response = service.get("/nope");

    assertThat(response.statusCode()).isEqualTo(404);
    assertThat(response.body()).contains("/cas/{sha256}").contains("/simple/");
  }

  @Test
  void healthIsUp() {
    HttpResponse<String> response = service.get("/health");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).contains("\"status\":\"UP\"");
  }
}
