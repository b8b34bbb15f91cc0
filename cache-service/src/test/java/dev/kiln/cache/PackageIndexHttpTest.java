package dev.kiln.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.events.Digest;
import dev.kiln.testkit.StaticIndexServer;
import dev.kiln.testkit.WheelBuilder;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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

class PackageIndexHttpTest {
  private static final String JSON = "application/vnd.pypi.simple.v1+json";
  private static final String PROJECT_PAGE = "/simple/demo-pkg/";

  @TempDir Path root;
  @TempDir Path wheels;
  private Path wheel;
  private Digest wheelDigest;
  private StaticIndexServer upstream;
  private final List<RunningCacheService> services = new ArrayList<>();

  @BeforeEach
  void startUpstream() throws Exception {
    wheel = WheelBuilder.wheel("Demo_Pkg", "1.0").requiresPython(">=3.9").writeTo(wheels);
    WheelBuilder.wheel("demo-pkg", "0.9").writeTo(wheels);
    wheelDigest = Digest.compute(wheel);
    upstream = StaticIndexServer.start(wheels);
  }

  @AfterEach
  void stopAll() throws Exception {
    for (RunningCacheService service : services) {
      service.close();
    }
    upstream.close();
  }

  @Test
  void htmlPageRewritesLinksToFilesAndKeepsRequiresPythonAndYanked() {
    upstream.yank("demo_pkg-0.9-py3-none-any.whl", "broken");
    RunningCacheService service = start(upstream.indexUrl());

    HttpResponse<String> page = service.get(PROJECT_PAGE);

    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("Content-Type"))
        .hasValueSatisfying(type -> assertThat(type).startsWith("text/html"));
    assertThat(page.body())
        .contains(
            "<a href=\"/files/"
                + wheelDigest.hex()
                + "/demo_pkg-1.0-py3-none-any.whl#sha256="
                + wheelDigest.hex()
                + "\" data-requires-python=\"&gt;=3.9\">")
        .contains("data-yanked=\"broken\">demo_pkg-0.9-py3-none-any.whl</a>")
        .doesNotContain(upstream.baseUrl());
  }

  @Test
  void jsonPageIsServedWhenAcceptAsksForPep691() {
    RunningCacheService service = start(upstream.indexUrl());

    HttpResponse<String> page = service.get(PROJECT_PAGE, "Accept", JSON);

    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("Content-Type")).contains(JSON);
    assertThat(page.headers().firstValue("Vary")).contains("Accept");
    JsonObject json = new JsonObject(page.body());
    assertThat(json.getString("name")).isEqualTo("demo-pkg");
    assertThat(json.getJsonArray("files")).hasSize(2);
    JsonObject file = json.getJsonArray("files").getJsonObject(1);
    assertThat(file.getString("filename")).isEqualTo("demo_pkg-1.0-py3-none-any.whl");
    assertThat(file.getString("url")).startsWith("/files/" + wheelDigest.hex() + "/");
    assertThat(file.getString("requires-python")).isEqualTo(">=3.9");
  }

  @Test
  void unsupportedAcceptIs406() {
    RunningCacheService service = start(upstream.indexUrl());

    HttpResponse<String> page = service.get(PROJECT_PAGE, "Accept", "application/xml");

    assertThat(page.statusCode()).isEqualTo(406);
    assertThat(page.body()).contains(JSON);
  }

  @Test
  void nonNormalizedNamesRedirectToTheNormalizedPage() {
    RunningCacheService service = start(upstream.indexUrl());

    HttpResponse<String> mixedCase = service.get("/simple/Demo_Pkg/");
    HttpResponse<String> noSlash = service.get("/simple/demo-pkg");

    assertThat(mixedCase.statusCode()).isEqualTo(301);
    assertThat(mixedCase.headers().firstValue("Location")).contains(PROJECT_PAGE);
    assertThat(noSlash.statusCode()).isEqualTo(301);
    assertThat(noSlash.headers().firstValue("Location")).contains(PROJECT_PAGE);
  }

  @Test
  void projectListCoversUpstreamInBothForms() {
    RunningCacheService service = start(upstream.indexUrl());

    assertThat(service.get("/simple/").body()).contains("<a href=\"demo-pkg/\">demo-pkg</a>");
    assertThat(
            new JsonObject(service.get("/simple/", "Accept", JSON).body())
                .getJsonArray("projects")
                .getJsonObject(0)
                .getString("name"))
        .isEqualTo("demo-pkg");
  }

  @Test
  void unknownProjectIs404() {
    RunningCacheService service = start(upstream.indexUrl());

    HttpResponse<String> page = service.get("/simple/no-such-project/");

    assertThat(page.statusCode()).isEqualTo(404);
    assertThat(page.body()).contains("no-such-project").contains(upstream.indexUrl());
  }

  @Test
  void upstreamDownIs502NamingTheUpstream() {
    String downUrl = upstream.indexUrl();
    upstream.close();
    RunningCacheService service = start(downUrl);

    HttpResponse<String> page = service.get(PROJECT_PAGE);

    assertThat(page.statusCode()).isEqualTo(502);
    assertThat(page.body()).contains("upstream index " + downUrl).contains("unreachable");
  }

  @Test
  void fileIsFetchedFromUpstreamOnceThenServedFromTheStore() throws Exception {
    RunningCacheService service = start(upstream.indexUrl());
    service.get(PROJECT_PAGE);
    String fileUrl = "/files/" + wheelDigest.hex() + "/demo_pkg-1.0-py3-none-any.whl";

    HttpResponse<byte[]> first = service.getBytes(fileUrl);
    HttpResponse<byte[]> second = service.getBytes(fileUrl);

    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(first.body()).isEqualTo(Files.readAllBytes(wheel));
    assertThat(second.body()).isEqualTo(first.body());
    assertThat(upstream.requestCount(StaticIndexServer.filePath(wheel.getFileName().toString())))
        .isEqualTo(1);
    assertThat(service.getBytes("/cas/" + wheelDigest.hex()).body()).isEqualTo(first.body());
  }

  @Test
  void concurrentRequestsForAnUncachedFileShareOneUpstreamFetch() throws Exception {
    RunningCacheService service = start(upstream.indexUrl());
    service.get(PROJECT_PAGE);
    String fileUrl = "/files/" + wheelDigest.hex() + "/demo_pkg-1.0-py3-none-any.whl";
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Callable<Integer>> fetches = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        fetches.add(() -> service.getBytes(fileUrl).statusCode());
      }
      for (Future<Integer> fetch : pool.invokeAll(fetches)) {
        assertThat(fetch.get()).isEqualTo(200);
      }
    } finally {
      pool.shutdownNow();
    }

    assertThat(upstream.fileRequestCount()).isEqualTo(1);
  }

  @Test
  void storedFileIsServedAfterRestartWithoutAskingUpstream() throws Exception {
    String fileUrl = "/files/" + wheelDigest.hex() + "/demo_pkg-1.0-py3-none-any.whl";
    RunningCacheService first = start(upstream.indexUrl());
    first.get(PROJECT_PAGE);
    assertThat(first.getBytes(fileUrl).statusCode()).isEqualTo(200);
    first.close();
    services.remove(first);

    RunningCacheService restarted = start(upstream.indexUrl());
    HttpResponse<byte[]> again = restarted.getBytes(fileUrl);

    assertThat(again.statusCode()).isEqualTo(200);
    assertThat(upstream.fileRequestCount()).isEqualTo(1);
    assertThat(upstream.requestCount(PROJECT_PAGE)).isEqualTo(1);
  }

  @Test
  void fileRequestedBeforeItsPageIsFoundThroughTheProjectNamedInItsFilename() {
    RunningCacheService service = start(upstream.indexUrl());

    HttpResponse<byte[]> file =
        service.getBytes("/files/" + wheelDigest.hex() + "/demo_pkg-1.0-py3-none-any.whl");

    assertThat(file.statusCode()).isEqualTo(200);
    assertThat(upstream.requestCount(PROJECT_PAGE)).isEqualTo(1);
  }

  @Test
  void fileTheUpstreamDoesNotListIs404() {
    RunningCacheService service = start(upstream.indexUrl());

    HttpResponse<String> file =
        service.get("/files/" + "e".repeat(64) + "/demo_pkg-1.0-py3-none-any.whl");

    assertThat(file.statusCode()).isEqualTo(404);
    assertThat(file.body()).contains("lists no file with sha256 " + "e".repeat(64));
  }

  @Test
  void upstreamServingOtherBytesThanItsPagePromisedIs502AndStoresNothing() throws Exception {
    RunningCacheService service = start(upstream.indexUrl());
    service.get(PROJECT_PAGE);
    Files.writeString(wheel, "tampered after the page was rendered");

    HttpResponse<String> file =
        service.get("/files/" + wheelDigest.hex() + "/demo_pkg-1.0-py3-none-any.whl");

    assertThat(file.statusCode()).isEqualTo(502);
    assertThat(file.body()).contains("promises " + wheelDigest.hex()).contains("not stored");
    assertThat(service.head("/cas/" + wheelDigest.hex()).statusCode()).isEqualTo(404);
  }

  @Test
  void projectPagesAreReusedWithinTheTtl() {
    RunningCacheService service = start(upstream.indexUrl());

    service.get(PROJECT_PAGE);
    service.get(PROJECT_PAGE, "Accept", JSON);

    assertThat(upstream.requestCount(PROJECT_PAGE)).isEqualTo(1);
  }

  @Test
  void zeroTtlFetchesEveryProjectPageAgain() {
    RunningCacheService service =
        start(CacheServiceConfig.of(root, upstream.indexUrl()).withProjectPageTtl(Duration.ZERO));

    service.get(PROJECT_PAGE);
    service.get(PROJECT_PAGE);

    assertThat(upstream.requestCount(PROJECT_PAGE)).isEqualTo(2);
  }

  @Test
  void flatDirectoryOfWheelsWorksAsAFileUpstream() throws Exception {
    RunningCacheService service = start(wheels.toUri().toString());

    HttpResponse<String> page = service.get(PROJECT_PAGE);
    HttpResponse<byte[]> file =
        service.getBytes("/files/" + wheelDigest.hex() + "/demo_pkg-1.0-py3-none-any.whl");

    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body())
        .contains(wheelDigest.hex())
        .contains("data-requires-python=\"&gt;=3.9\"");
    assertThat(file.body()).isEqualTo(Files.readAllBytes(wheel));
    assertThat(service.get("/simple/").body()).contains("demo-pkg");
    assertThat(service.get("/simple/other/").statusCode()).isEqualTo(404);
  }

  private RunningCacheService start(String upstreamUrl) {
    return start(CacheServiceConfig.of(root, upstreamUrl));
  }

  private RunningCacheService start(CacheServiceConfig config) {
    RunningCacheService service = RunningCacheService.start(config);
    services.add(service);
    return service;
  }
}
