package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.events.BuildFailed;
import dev.kiln.events.Digest;
import dev.kiln.events.EventCodec;
import dev.kiln.events.PushEvent;
import dev.kiln.testkit.GitRepo;
import dev.kiln.testkit.PythonBuildTools;
import dev.kiln.testkit.StaticIndexServer;
import dev.kiln.testkit.WheelBuilder;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The issue's attacks, each against a running farm ({@code kiln up}: embedded broker, coordinator,
 * cache-service, a worker with the sandbox) with two tenants, acme and globex, created through the
 * admin API. Each test names the attack and fails if it works. (The forged Kafka result from a
 * non-worker principal needs a SASL broker with ACLs: {@code SecuredKafkaEndToEndTest} and {@code
 * KafkaAclsTest}.)
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TrustBoundariesEndToEndTest {
  private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(10);
  private static final String PASSWORD = "s3cret-index-password";

  @TempDir static Path temp;
  private StaticIndexServer publicIndex;
  private StaticIndexServer privateIndex;
  private Farm farm;
  private FarmSettings settings;
  private String operator;
  private String acme;
  private String globex;
  private String greetSha;
  private String bombSha;
  private final StringWriter farmLog = new StringWriter();
  private final HttpClient http =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  /** What earlier tests built, for the later ones to attack. */
  private JsonNode acmeBuild;

  private JsonNode privateBuild;

  @BeforeAll
  void startFarm() throws Exception {
    Path wheels = Files.createDirectories(temp.resolve("wheels"));
    PythonBuildTools.copyTo(wheels);
    Path samples = Path.of("..", "samples", "index", "files").toAbsolutePath().normalize();
    Files.copy(
        samples.resolve("gunicorn-26.2.0-py3-none-any.whl"),
        wheels.resolve("gunicorn-26.2.0-py3-none-any.whl"));
    greetSha =
        Digest.compute(
                WheelBuilder.wheel("greet-lib", "1.0")
                    .module("greet_lib/__init__.py", "WHO = 'public'\n")
                    .writeTo(wheels))
            .hex();
    // The issue's zip bomb: about 1 MB on the index, 1 GiB once unpacked.
    WheelBuilder bomb =
        WheelBuilder.wheel("bomb-lib", "1.0").module("bomb_lib/__init__.py", "X = 1\n");
    byte[] mebibyte = new byte[1 << 20];
    for (int i = 0; i < 1024; i++) {
      bomb.file("bomb_lib/zeros" + i + ".bin", mebibyte);
    }
    bombSha = Digest.compute(bomb.writeTo(wheels)).hex();
    publicIndex = StaticIndexServer.start(wheels);

    Path corp = Files.createDirectories(temp.resolve("corp"));
    WheelBuilder.wheel("corp-lib", "1.0")
        .module("corp_lib/__init__.py", "WHO = 'acme only'\n")
        .writeTo(corp);
    privateIndex = StaticIndexServer.start(corp);

    settings = FarmSettings.local(temp.resolve("home"), publicIndex.indexUrl(), null, 1, "offline");
    farm = Farm.start(settings, farmLog::append);
    operator = FarmSecrets.loadOrCreate(settings.home()).operatorToken();
    acme = createTenant("acme");
    globex = createTenant("globex");
  }

  @AfterAll
  void stopFarm() {
    if (farm != null) {
      farm.close();
    }
    for (StaticIndexServer index : new StaticIndexServer[] {publicIndex, privateIndex}) {
      if (index != null) {
        index.close();
      }
    }
  }

  @Test
  @Order(1)
  void twoTenantsBuildingFromTheSamePublicDependenciesShareOneLayer() throws Exception {
    String requirements = "greet-lib==1.0 --hash=sha256:" + greetSha + "\n";

    acmeBuild = succeeds("acme", acme, "shop", requirements, Map.of());
    JsonNode globexBuild = succeeds("globex", globex, "blog", requirements, Map.of());

    assertThat(globexBuild.path("layer").path("blob").asText())
        .isEqualTo(acmeBuild.path("layer").path("blob").asText())
        .isNotEmpty();
  }

  @Test
  @Order(2)
  void theSameAppWithAPrivateIndexGetsALayerOnlyItsTenantCanRead() throws Exception {
    String url = privateIndex.indexUrl();
    String withPassword = url.replace("http://", "http://acme-user:" + PASSWORD + "@");
    HttpResponse<String> configured =
        call(
            "PUT",
            "/v1/tenants/acme/indexes/corp",
            acme,
            "{\"url\":\""
                + url
                + "\",\"username\":\"acme-user\",\"password\":\""
                + PASSWORD
                + "\"}");
    assertThat(configured.statusCode()).as(configured.body()).isBetween(200, 204);

    privateBuild =
        succeeds(
            "acme",
            acme,
            "corp-app",
            "greet-lib==1.0\ncorp-lib==1.0\n",
            Map.of("PIP_EXTRA_INDEX_URL", withPassword));
    String blob = privateBuild.path("layer").path("blob").asText();

    assertThat(blob).isNotEqualTo(acmeBuild.path("layer").path("blob").asText());
    assertThat(storeRead("/cas/" + hex(blob), "acme").statusCode()).isEqualTo(200);
    assertThat(storeRead("/cas/" + hex(blob), "globex").statusCode()).isEqualTo(404);
  }

  @Test
  @Order(3)
  void actionCachePoisoningIsRefused() throws Exception {
    String key = acmeBuild.path("dependencyKey").asText();
    String evil = "{\"key\":\"" + key + "\",\"blob\":\"sha256:" + "e".repeat(64) + "\",\"size\":1}";
    String before = storeRead("/ac/" + key, "globex").body();

    for (String token : new String[] {null, operator, acme, globex}) {
      HttpResponse<String> answer = cacheCall("PUT", "/ac/" + key, token, evil);
      assertThat(answer.statusCode()).as("PUT /ac with %s", token).isIn(401, 403);
      HttpResponse<String> blob = cacheCall("PUT", "/cas/" + "e".repeat(64), token, "evil");
      assertThat(blob.statusCode()).isIn(401, 403);
    }

    assertThat(storeRead("/ac/" + key, "globex").body()).isEqualTo(before);
  }

  @Test
  @Order(4)
  void aTenantCannotBuildAnotherTenantsSource() throws Exception {
    String acmeRepo = acmeBuild.path("push").path("repoUrl").asText();
    PushEvent stolen =
        new PushEvent(
            "globex",
            "stolen",
            acmeRepo,
            "main",
            acmeBuild.path("push").path("commit").asText(),
            null,
            Map.of(),
            Instant.now());

    HttpResponse<String> answer =
        call("POST", "/v1/pushes", globex, new String(EventCodec.toJson(stolen)));

    assertThat(answer.statusCode()).isEqualTo(403);
    assertThat(answer.body()).contains("source::not-allowed");
    assertThat(call("GET", "/v1/builds?tenant=globex", globex, null).body())
        .doesNotContain("stolen");
  }

  @Test
  @Order(5)
  void aTenantCannotReadAnotherTenantsBuildsBlobsOrCredentials() throws Exception {
    String buildId = acmeBuild.path("buildId").asText();
    String blob = hex(privateBuild.path("layer").path("blob").asText());

    assertThat(call("GET", "/v1/builds/" + buildId, globex, null).statusCode()).isEqualTo(404);
    assertThat(call("GET", "/v1/builds?tenant=acme", globex, null).statusCode()).isEqualTo(403);
    assertThat(call("GET", "/v1/builds?tenant=acme", null, null).statusCode()).isEqualTo(401);
    assertThat(call("GET", "/v1/tenants/acme", globex, null).statusCode()).isEqualTo(403);
    assertThat(cacheCall("GET", "/cas/" + blob, null, null).statusCode()).isEqualTo(401);
    assertThat(cacheCall("GET", "/cas/" + blob, globex, null).statusCode()).isEqualTo(403);
    assertThat(cacheCall("GET", "/cas/" + blob, acme, null).statusCode()).isEqualTo(403);

    List<String> answers = new ArrayList<>();
    answers.add(call("GET", "/v1/tenants/acme", acme, null).body());
    answers.add(call("GET", "/v1/tenants/acme", operator, null).body());
    answers.add(call("GET", "/v1/builds?tenant=acme", acme, null).body());
    answers.add(
        call("GET", "/v1/builds/" + privateBuild.path("buildId").asText(), operator, null).body());
    assertThat(answers).allSatisfy(body -> assertThat(body).doesNotContain(PASSWORD));
    assertThat(answers.get(0)).contains("****");
  }

  @Test
  @Order(6)
  void pipOptionsThatBypassTheCacheServiceAreRefused() throws Exception {
    Path links = Files.createDirectories(temp.resolve("links"));
    for (String option :
        new String[] {
          "--find-links " + links,
          "--index-url http://127.0.0.1:9/simple/",
          "--extra-index-url http://127.0.0.1:9/simple/",
          "--trusted-host pypi.evil.example"
        }) {
      BuildFailed failed = fails("acme", acme, "bypass", option + "\ngreet-lib==1.0\n", Map.of());

      assertThat(failed.code()).as(option).isEqualTo("requirements::index-option-not-allowed");
      assertThat(failed.message()).contains(option.substring(0, option.indexOf(' ')));
    }
  }

  @Test
  @Order(7)
  void aZipBombWheelFailsTheBuildAndLeavesNothing() throws Exception {
    BuildFailed failed =
        fails("acme", acme, "bomb", "bomb-lib==1.0 --hash=sha256:" + bombSha + "\n", Map.of());

    assertThat(failed.code()).isEqualTo("install::decompression-limit");
    assertThat(failed.message()).contains("bomb-lib");
    try (var files = Files.walk(settings.home().resolve("workers"))) {
      assertThat(files.filter(f -> f.toString().contains("bomb_lib/zeros")).toList()).isEmpty();
    }
  }

  @Test
  @Order(8)
  void aBlackHoleRepositoryFailsInSecondsNotMinutes() throws Exception {
    try (ServerSocket blackHole = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      List<Socket> held = new ArrayList<>();
      Thread acceptor =
          new Thread(
              () -> {
                while (!blackHole.isClosed()) {
                  try {
                    held.add(blackHole.accept()); // accepted, never answered
                  } catch (Exception closed) {
                    return;
                  }
                }
              });
      acceptor.setDaemon(true);
      acceptor.start();
      String prefix = "http://127.0.0.1:" + blackHole.getLocalPort() + "/";
      HttpResponse<String> created =
          call(
              "POST",
              "/v1/tenants",
              operator,
              "{\"name\":\"holes\",\"sources\":[\"" + prefix + "\"]}");
      assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
      String holes = EventCodec.mapper().readTree(created.body()).path("token").asText();
      PushEvent push =
          new PushEvent(
              "holes",
              "silent",
              prefix + "app.git",
              "main",
              "a".repeat(40),
              null,
              Map.of(),
              Instant.now());
      HttpResponse<String> accepted =
          call("POST", "/v1/pushes", holes, new String(EventCodec.toJson(push)));
      assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);

      JsonNode failed =
          await()
              .atMost(Duration.ofMinutes(3))
              .pollInterval(Duration.ofSeconds(1))
              .until(
                  () ->
                      EventCodec.mapper()
                          .readTree(
                              call("GET", "/v1/builds/" + push.buildId(), holes, null).body()),
                  build -> "FAILED".equals(build.path("state").asText()));

      assertThat(failed.path("failure").path("code").asText()).isEqualTo("source::timeout");
      for (Socket socket : held) {
        socket.close();
      }
    }
  }

  // ------------------------------------------------------------------ helpers

  private String createTenant(String name) throws Exception {
    HttpResponse<String> created =
        call("POST", "/v1/tenants", operator, "{\"name\":\"" + name + "\"}");
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    return EventCodec.mapper().readTree(created.body()).path("token").asText();
  }

  /** Builds an app of {@code tenant} with its own token; the build's record as the API shows it. */
  private JsonNode succeeds(
      String tenant, String token, String app, String requirements, Map<String, String> env)
      throws Exception {
    StringWriter log = new StringWriter();
    PushCommand.Result result = push(tenant, token, app, requirements, env, log);
    assertThat(result.exitCode()).as(log + "\nfarm:\n" + farmLog).isZero();
    JsonNode list =
        EventCodec.mapper()
            .readTree(
                call("GET", "/v1/builds?tenant=" + tenant + "&app=" + app, token, null).body());
    return list.path("builds").get(0);
  }

  private BuildFailed fails(
      String tenant, String token, String app, String requirements, Map<String, String> env)
      throws Exception {
    StringWriter log = new StringWriter();
    PushCommand.Result result = push(tenant, token, app, requirements, env, log);
    assertThat(result.exitCode()).as(log.toString()).isEqualTo(1);
    return result.outcome().buildFailed();
  }

  private PushCommand.Result push(
      String tenant,
      String token,
      String app,
      String requirements,
      Map<String, String> env,
      StringWriter log)
      throws Exception {
    GitRepo repo = GitRepo.init(temp.resolve("work").resolve(tenant).resolve(app));
    repo.commit(
        Map.of(
            "requirements.txt", requirements,
            ".python-version", "3.11\n",
            "app.py", "def app(environ, start_response):\n    return []\n",
            "Procfile", "web: python3 -c 'import app'\n"),
        "app of " + tenant);
    return PushCommand.push(
        farm.endpoints(),
        settings.home(),
        repo.dir().toString(),
        tenant,
        app,
        null,
        null,
        env,
        BUILD_TIMEOUT,
        new PrintWriter(log, true),
        token);
  }

  private HttpResponse<String> call(String method, String path, String token, String body)
      throws Exception {
    return send(farm.endpoints().coordinatorUrl() + path, method, token, null, body);
  }

  private HttpResponse<String> cacheCall(String method, String path, String token, String body)
      throws Exception {
    return send(farm.endpoints().cacheUrl() + path, method, token, null, body);
  }

  /** A read of the store as a worker makes it: the farm token, on behalf of {@code tenant}. */
  private HttpResponse<String> storeRead(String path, String tenant) throws Exception {
    return send(
        farm.endpoints().cacheUrl() + path,
        "GET",
        FarmSecrets.loadOrCreate(settings.home()).farmToken(),
        tenant,
        null);
  }

  private HttpResponse<String> send(
      String url, String method, String token, String tenant, String body) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(url))
            .timeout(Duration.ofSeconds(30))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      request.header("Content-Type", "application/json");
      request.header("X-Kiln-Scope", "public");
    }
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    if (tenant != null) {
      request.header("X-Kiln-Tenant", tenant);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String hex(String digest) {
    return digest.startsWith("sha256:") ? digest.substring("sha256:".length()) : digest;
  }
}
