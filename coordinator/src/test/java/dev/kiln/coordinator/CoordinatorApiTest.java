package dev.kiln.coordinator;

import static dev.kiln.coordinator.Awaits.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildState;
import dev.kiln.events.EventCodec;
import dev.kiln.events.PushEvent;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The HTTP API on a real server, with builds and the push sink under the test's control. */
class CoordinatorApiTest {
  private final Vertx vertx = Vertx.vertx();
  private final KnownBuilds builds = new KnownBuilds();
  private final AtomicBoolean restored = new AtomicBoolean(true);
  private final java.util.concurrent.atomic.AtomicReference<String> halted =
      new java.util.concurrent.atomic.AtomicReference<>();
  private final AtomicBoolean kafkaDown = new AtomicBoolean(false);
  private final List<PushEvent> published = new CopyOnWriteArrayList<>();
  private final TenantRegistry tenants = new TenantRegistry();
  private HttpJson http;

  @BeforeEach
  void start() {
    TestSecurity.standardTenants().forEach(t -> tenants.apply(t.name(), t));
    TenantStore store =
        new TenantStore() {
          @Override
          public Future<Void> save(dev.kiln.events.Tenant tenant) {
            tenants.apply(tenant.name(), tenant);
            return Future.succeededFuture();
          }

          @Override
          public Future<Void> delete(String name) {
            tenants.apply(name, null);
            return Future.succeededFuture();
          }
        };
    SourcePolicy sources = new SourcePolicy(TestSecurity.SOURCE_ROOT);
    CoordinatorApi api =
        new CoordinatorApi(
            vertx,
            builds,
            restored::get,
            halted::get,
            push -> {
              if (kafkaDown.get()) {
                return Future.failedFuture("broker 127.0.0.1:9 unreachable");
              }
              published.add(push);
              return Future.succeededFuture();
            },
            new CoordinatorApi.Security(
                dev.kiln.events.security.Tokens.sha256Hex(TestSecurity.OPERATOR_TOKEN),
                tenants,
                new TenantsApi(
                    tenants,
                    store,
                    dev.kiln.events.security.SecretBox.fromBase64(TestSecurity.SECRET_KEY),
                    sources,
                    java.time.Clock.systemUTC()),
                sources,
                false));
    // The router reads KnownBuilds on the server's event loop, as in the verticle.
    HttpServer server =
        await(vertx.createHttpServer().requestHandler(api.router()).listen(0, "127.0.0.1"));
    http = new HttpJson(server.actualPort());
  }

  @AfterEach
  void stop() {
    await(vertx.close());
  }

  @Test
  void healthIsUnavailableWhileRestoringAndUpWithTheBuildCountAfterwards() {
    restored.set(false);
    HttpJson.Response restoring = http.get("/health");
    assertThat(restoring.status()).isEqualTo(503);
    assertThat(restoring.json().get("status").asText()).isEqualTo("RESTORING");
    HttpJson.Response push = http.postJson("/v1/pushes", pushJson());
    assertThat(push.status()).isEqualTo(503);
    assertThat(push.headers().firstValue("Retry-After")).contains("1");
    assertThat(push.json().get("error").asText()).contains("restoring");
    assertThat(http.get("/v1/builds?tenant=acme").status()).isEqualTo(503);
    assertThat(published).isEmpty();

    builds.put(snapshot(Fixtures.push(), BuildState.DETECTING, 1));
    restored.set(true);
    HttpJson.Response up = http.get("/health");
    assertThat(up.status()).isEqualTo(200);
    assertThat(up.json().get("status").asText()).isEqualTo("UP");
    assertThat(up.json().get("builds").asInt()).isEqualTo(1);
  }

  @Test
  void aCoordinatorWhoseLoopHaltedIsDownAndRefusesPushesInsteadOfAnsweringFromFrozenState() {
    builds.put(snapshot(Fixtures.push(), BuildState.DETECTING, 1));
    halted.set("KafkaException: could not read kiln.builds partitions [3]");

    HttpJson.Response health = http.get("/health");
    assertThat(health.status()).isEqualTo(503);
    assertThat(health.json().get("status").asText()).isEqualTo("DOWN");
    assertThat(health.json().get("reason").asText())
        .contains("could not read kiln.builds")
        .contains("restart");
    HttpJson.Response push = http.postJson("/v1/pushes", pushJson());
    assertThat(push.status()).isEqualTo(503);
    assertThat(push.json().get("error").asText()).contains("must be restarted");
    assertThat(http.get("/v1/builds?tenant=acme").status()).isEqualTo(503);
    assertThat(published).isEmpty();
  }

  @Test
  void aValidPushIsPublishedAndAcceptedWithItsBuildId() {
    HttpJson.Response response = http.postJson("/v1/pushes", pushJson());

    assertThat(response.status()).isEqualTo(202);
    String buildId = Fixtures.push().buildId();
    assertThat(response.json().get("buildId").asText()).isEqualTo(buildId);
    assertThat(response.json().get("status").asText()).isEqualTo("accepted");
    assertThat(response.headers().firstValue("Location")).contains("/v1/builds/" + buildId);
    assertThat(published).containsExactly(Fixtures.push());
  }

  @Test
  void aPushOfAKnownBuildIsADuplicateAndIsNotPublishedAgain() {
    builds.put(snapshot(Fixtures.push(), BuildState.INSTALLING, 1));

    HttpJson.Response response = http.postJson("/v1/pushes", pushJson());

    assertThat(response.status()).isEqualTo(200);
    assertThat(response.json().get("status").asText()).isEqualTo("duplicate");
    assertThat(response.json().get("state").asText()).isEqualTo("INSTALLING");
    assertThat(published).isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "bad commit     | commit  | not-a-sha                    | is not a full git commit id",
        "missing tenant | tenant  |                              | is missing",
        "upper-case app | app     | Web                          | is not a valid name",
        "bad repo URL   | repoUrl | /srv/git/web                 | is not a git URL",
      })
  void anInvalidPushIsRejectedNamingTheBadField(
      String caseName, String field, String value, String why) {
    ObjectNode push = EventCodec.mapper().valueToTree(Fixtures.push());
    if (value == null) {
      push.remove(field);
    } else {
      push.put(field, value);
    }

    HttpJson.Response response = http.postJson("/v1/pushes", push.toString());

    assertThat(response.status()).isEqualTo(400);
    assertThat(response.json().get("field").asText()).isEqualTo(field);
    assertThat(response.json().get("error").asText()).contains(why);
    assertThat(published).isEmpty();
  }

  @Test
  void aPushThatIsNotJsonIsRejectedNamingTheBody() {
    HttpJson.Response broken = http.postJson("/v1/pushes", "{\"tenant\": ");
    HttpJson.Response empty = http.postJson("/v1/pushes", "");
    HttpJson.Response wrongType = http.postJson("/v1/pushes", "{\"buildEnv\": [1, 2]}");

    assertThat(broken.status()).isEqualTo(400);
    assertThat(broken.json().get("field").asText()).isEqualTo("body");
    assertThat(empty.status()).isEqualTo(400);
    assertThat(empty.json().get("field").asText()).isEqualTo("body");
    assertThat(wrongType.status()).isEqualTo(400);
    assertThat(wrongType.json().get("field").asText()).isEqualTo("buildEnv");
    assertThat(published).isEmpty();
  }

  @Test
  void aPushInAnotherMediaTypeOrTooLargeIsRefused() {
    HttpJson.Response form =
        http.post(
            "/v1/pushes",
            "application/x-www-form-urlencoded",
            "tenant=acme".getBytes(StandardCharsets.UTF_8));
    HttpJson.Response huge =
        http.post(
            "/v1/pushes", "application/json", new byte[(int) CoordinatorApi.MAX_PUSH_BYTES + 1]);

    assertThat(form.status()).isEqualTo(415);
    assertThat(form.json().get("field").asText()).isEqualTo("Content-Type");
    assertThat(huge.status()).isEqualTo(413);
    assertThat(huge.json().get("error").asText()).contains("larger than");
    assertThat(published).isEmpty();
  }

  @Test
  void aPushThatCannotBeWrittenToKafkaIsNotAccepted() {
    kafkaDown.set(true);

    HttpJson.Response response = http.postJson("/v1/pushes", pushJson());

    assertThat(response.status()).isEqualTo(503);
    assertThat(response.json().get("error").asText())
        .contains("could not be written")
        .contains("send it again");
  }

  @Test
  void aBuildIsShownAsItsSnapshotAndAnUnknownOneIsNotFound() {
    BuildSnapshot snapshot = snapshot(Fixtures.push(), BuildState.ASSEMBLING, 5);
    builds.put(snapshot);

    HttpJson.Response found = http.get("/v1/builds/" + snapshot.buildId());
    HttpJson.Response unknown = http.get("/v1/builds/b-00000000000000000000");
    HttpJson.Response malformed = http.get("/v1/builds/latest");

    assertThat(found.status()).isEqualTo(200);
    assertThat(found.json()).isEqualTo(EventCodec.mapper().valueToTree(snapshot));
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.json().get("error").asText()).contains("b-00000000000000000000 is unknown");
    assertThat(malformed.status()).isEqualTo(400);
    assertThat(malformed.json().get("field").asText()).isEqualTo("id");
  }

  @Test
  void buildsAreListedPerTenantNewestFirstAndOptionallyPerApp() {
    BuildSnapshot old =
        snapshot(Fixtures.push("acme", "web", Fixtures.COMMIT), BuildState.SUCCEEDED, 1);
    BuildSnapshot api =
        snapshot(Fixtures.push("acme", "api", Fixtures.COMMIT), BuildState.FAILED, 2);
    BuildSnapshot newest =
        snapshot(Fixtures.push("acme", "web", Fixtures.OTHER_COMMIT), BuildState.DETECTING, 3);
    BuildSnapshot other =
        snapshot(Fixtures.push("globex", "web", Fixtures.COMMIT), BuildState.DETECTING, 4);
    List.of(old, api, newest, other).forEach(builds::put);

    assertThat(ids(http.get("/v1/builds?tenant=acme")))
        .containsExactly(newest.buildId(), api.buildId(), old.buildId());
    assertThat(ids(http.get("/v1/builds?tenant=acme&app=web")))
        .containsExactly(newest.buildId(), old.buildId());
    assertThat(ids(http.get("/v1/builds?tenant=acme&limit=1"))).containsExactly(newest.buildId());
    assertThat(ids(http.get("/v1/builds?tenant=initech"))).isEmpty();
  }

  @Test
  void listingWithoutATenantOrWithABadLimitIsABadRequest() {
    HttpJson.Response noTenant = http.get("/v1/builds");
    HttpJson.Response badLimit = http.get("/v1/builds?tenant=acme&limit=0");

    assertThat(noTenant.status()).isEqualTo(400);
    assertThat(noTenant.json().get("field").asText()).isEqualTo("tenant");
    assertThat(badLimit.status()).isEqualTo(400);
    assertThat(badLimit.json().get("field").asText()).isEqualTo("limit");
  }

  @Test
  void unknownRoutesAndMethodsAnswerJsonErrors() {
    HttpJson.Response unknown = http.get("/v2/whatever");
    HttpJson.Response wrongMethod = http.delete("/v1/pushes");

    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.json().get("error").asText())
        .contains("no such endpoint")
        .contains("POST /v1/pushes");
    assertThat(wrongMethod.status()).isEqualTo(405);
    assertThat(wrongMethod.json().get("error").asText()).contains("DELETE");
  }

  private static List<String> ids(HttpJson.Response response) {
    assertThat(response.status()).isEqualTo(200);
    List<String> ids = new java.util.ArrayList<>();
    for (JsonNode build : response.json().get("builds")) {
      ids.add(build.get("buildId").asText());
    }
    return ids;
  }

  private static String pushJson() {
    return new String(EventCodec.toJson(Fixtures.push()), StandardCharsets.UTF_8);
  }

  @Test
  void dashboardPageIsServedWithoutATokenUnderAStrictContentSecurityPolicy() throws Exception {
    java.net.http.HttpClient client = java.net.http.HttpClient.newHttpClient();
    String base = "http://127.0.0.1:" + http.port();
    for (String[] asset :
        new String[][] {
          {"/dashboard", "text/html"},
          {"/dashboard/dashboard.js", "text/javascript"},
          {"/dashboard/dashboard.css", "text/css"}
        }) {
      java.net.http.HttpResponse<String> page =
          client.send(
              java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + asset[0])).build(),
              java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(page.statusCode()).as(asset[0]).isEqualTo(200);
      assertThat(page.headers().firstValue("Content-Type").orElseThrow()).startsWith(asset[1]);
      assertThat(page.headers().firstValue("Content-Security-Policy").orElseThrow())
          .contains("script-src 'self'", "default-src 'none'")
          .doesNotContain("unsafe-inline", "unsafe-eval");
      assertThat(page.headers().firstValue("Cache-Control")).contains("no-cache");
      assertThat(page.headers().firstValue("X-Content-Type-Options")).contains("nosniff");
    }
    String html =
        client
            .send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/dashboard"))
                    .build(),
                java.net.http.HttpResponse.BodyHandlers.ofString())
            .body();
    // No inline script: the policy would block it anyway, and the page must work under it.
    assertThat(html).contains("<script src=\"/dashboard/dashboard.js\"").doesNotContain("<script>");

    java.net.http.HttpResponse<Void> root =
        client.send(
            java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/")).build(),
            java.net.http.HttpResponse.BodyHandlers.discarding());
    assertThat(root.statusCode()).isEqualTo(302);
    assertThat(root.headers().firstValue("Location")).contains("/dashboard");
    assertThat(http.get("/dashboard/nothing-here.js").status()).isEqualTo(404);
  }

  @Test
  void farmBuildsAndSummaryShowTheWholeFarmToTheOperatorAndItsOwnBuildsToATenant() {
    Instant now = Instant.now();
    BuildSnapshot acmeDone =
        snapshot(Fixtures.push("acme", "web", Fixtures.COMMIT), BuildState.SUCCEEDED, 1).toBuilder()
            .outcomePublished(true)
            .plan(Fixtures.plan("pip"))
            .steps(
                List.of(dev.kiln.events.StepTiming.skipped(dev.kiln.events.TaskKind.INSTALL, "t")))
            .createdAt(now.minusSeconds(30))
            .updatedAt(now.minusSeconds(10))
            .build();
    BuildSnapshot globexRunning =
        snapshot(Fixtures.push("globex", "api", Fixtures.OTHER_COMMIT), BuildState.INSTALLING, 2)
            .toBuilder()
            .createdAt(now.minusSeconds(5))
            .build();
    builds.put(acmeDone);
    builds.put(globexRunning);

    HttpJson.Response all = http.get("/v1/farm/builds");
    assertThat(all.status()).isEqualTo(200);
    assertThat(all.json().get("scope").asText()).isEqualTo("farm");
    assertThat(all.json().get("running").findValuesAsText("buildId"))
        .containsExactly(globexRunning.buildId());
    assertThat(all.json().get("recent").findValuesAsText("buildId"))
        .containsExactly(globexRunning.buildId(), acmeDone.buildId());
    HttpJson.Response farm = http.get("/v1/farm/summary");
    assertThat(farm.json().get("finished").asInt()).isEqualTo(1);
    assertThat(farm.json().get("running").asInt()).isEqualTo(1);
    assertThat(farm.json().get("cacheHitRatio").asDouble()).isEqualTo(1.0);

    HttpJson acme = http.as(TestSecurity.ACME_TOKEN);
    HttpJson.Response own = acme.get("/v1/farm/builds");
    assertThat(own.json().get("scope").asText()).isEqualTo("acme");
    assertThat(own.json().get("running")).isEmpty();
    assertThat(own.json().get("recent").findValuesAsText("buildId"))
        .containsExactly(acmeDone.buildId());
    HttpJson.Response globexSummary = http.as(TestSecurity.GLOBEX_TOKEN).get("/v1/farm/summary");
    assertThat(globexSummary.json().get("finished").asInt()).isZero();
    assertThat(globexSummary.json().get("running").asInt()).isEqualTo(1);

    assertThat(http.as(null).get("/v1/farm/summary").status()).isEqualTo(401);
    assertThat(http.get("/v1/farm/builds?limit=0").status()).isEqualTo(400);
  }

  private static BuildSnapshot snapshot(PushEvent push, BuildState state, long second) {
    Instant at = Instant.ofEpochSecond(1_700_000_000L + second);
    return BuildSnapshot.builder()
        .buildId(push.buildId())
        .state(state)
        .push(push)
        .attempt(1)
        .createdAt(at)
        .updatedAt(at)
        .build();
  }
}
