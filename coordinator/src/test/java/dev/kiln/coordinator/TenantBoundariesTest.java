package dev.kiln.coordinator;

import static dev.kiln.coordinator.CoordinatorKafkaTest.BUILD_TIMEOUT;
import static dev.kiln.coordinator.CoordinatorKafkaTest.QUIET;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.events.BuildFailed;
import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildState;
import dev.kiln.events.BuildTask;
import dev.kiln.events.EventCodec;
import dev.kiln.events.IndexRef;
import dev.kiln.events.PushEvent;
import dev.kiln.events.TaskKind;
import dev.kiln.events.TaskResult;
import dev.kiln.events.Tenant;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Attacks on the coordinator's tenant boundaries, against a running coordinator on a real broker.
 * Each test is named for the attack and fails if the attack works.
 */
@ExtendWith(SharedKafka.class)
class TenantBoundariesTest {
  private static final String TINY_TOKEN =
      dev.kiln.events.security.Tokens.newToken(dev.kiln.events.security.Tokens.Kind.TENANT);

  private Harness farm;
  private CoordinatorVerticle coordinator;
  private String deployment;
  private HttpJson operator;

  @AfterEach
  void stop() {
    if (farm != null) {
      farm.close();
    }
  }

  private void start(
      List<Tenant> tenants, java.util.function.Function<BuildTask, TaskResult> script)
      throws Exception {
    farm = new Harness(tenants);
    farm.workers(script);
    coordinator = new CoordinatorVerticle(farm.config());
    deployment = farm.deploy(coordinator);
    operator = new HttpJson(coordinator.actualHttpPort());
  }

  private void start() throws Exception {
    start(TestSecurity.standardTenants(), ScriptedWorkers::succeedEverything);
  }

  private static String json(Object body) {
    return new String(EventCodec.toJson(body), StandardCharsets.UTF_8);
  }

  private static String commit(int n) {
    return String.format("%040x", n);
  }

  private BuildSnapshot awaitState(HttpJson client, String buildId, BuildState state) {
    BuildSnapshot[] seen = new BuildSnapshot[1];
    await()
        .atMost(BUILD_TIMEOUT)
        .untilAsserted(
            () -> {
              HttpJson.Response r = client.get("/v1/builds/" + buildId);
              assertThat(r.status()).isEqualTo(200);
              seen[0] = EventCodec.mapper().treeToValue(r.json(), BuildSnapshot.class);
              assertThat(seen[0].state()).isEqualTo(state);
            });
    return seen[0];
  }

  @Test
  void aRequestWithoutATokenIsRefused() throws Exception {
    start();
    HttpJson anonymous = operator.as(null);
    HttpJson wrong = operator.as("kiln_t_" + "A".repeat(43));

    HttpJson.Response list = anonymous.get("/v1/builds?tenant=acme");
    HttpJson.Response push = anonymous.postJson("/v1/pushes", json(Fixtures.push()));
    HttpJson.Response tenants = anonymous.get("/v1/tenants");
    HttpJson.Response forged = wrong.get("/v1/builds?tenant=acme");
    for (HttpJson.Response r : List.of(list, push, tenants, forged)) {
      assertThat(r.status()).isEqualTo(401);
      assertThat(r.headers().firstValue("WWW-Authenticate"))
          .hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
      assertThat(r.json().get("error").asText()).contains("token");
    }
    assertThat(anonymous.get("/health").status()).isEqualTo(200);
    await().during(QUIET).atMost(QUIET.plusSeconds(5)).until(() -> farm.pushes.records().isEmpty());
  }

  @Test
  void aTenantCannotReadAnotherTenantsBuilds() throws Exception {
    start();
    PushEvent acmePush = Fixtures.push();
    HttpJson acme = operator.as(TestSecurity.ACME_TOKEN);
    HttpJson globex = operator.as(TestSecurity.GLOBEX_TOKEN);
    assertThat(acme.postJson("/v1/pushes", json(acmePush)).status()).isEqualTo(202);
    awaitState(acme, acmePush.buildId(), BuildState.SUCCEEDED);

    HttpJson.Response stolen = globex.get("/v1/builds/" + acmePush.buildId());
    HttpJson.Response unknown = globex.get("/v1/builds/b-00000000000000000000");

    assertThat(stolen.status()).isEqualTo(404);
    assertThat(stolen.json().toString()).doesNotContain("acme").doesNotContain(Fixtures.COMMIT);
    // Indistinguishable from a build that does not exist, apart from the id itself.
    assertThat(stolen.json().get("error").asText().replace(acmePush.buildId(), "ID"))
        .isEqualTo(unknown.json().get("error").asText().replace("b-00000000000000000000", "ID"));
    // And it cannot push as acme either.
    HttpJson.Response impersonated =
        globex.postJson("/v1/pushes", json(Fixtures.push("acme", "web", Fixtures.OTHER_COMMIT)));
    assertThat(impersonated.status()).isEqualTo(403);
  }

  @Test
  void aTenantCannotListAnotherTenantsBuilds() throws Exception {
    start();
    HttpJson acme = operator.as(TestSecurity.ACME_TOKEN);
    HttpJson globex = operator.as(TestSecurity.GLOBEX_TOKEN);
    PushEvent push = Fixtures.push();
    assertThat(acme.postJson("/v1/pushes", json(push)).status()).isEqualTo(202);
    awaitState(operator, push.buildId(), BuildState.SUCCEEDED);

    HttpJson.Response other = globex.get("/v1/builds?tenant=acme");
    HttpJson.Response own = globex.get("/v1/builds");
    HttpJson.Response otherSettings = globex.get("/v1/tenants/acme");
    HttpJson.Response allTenants = globex.get("/v1/tenants");

    assertThat(other.status()).isEqualTo(403);
    assertThat(other.json().toString()).doesNotContain(push.buildId());
    assertThat(own.status()).isEqualTo(200);
    assertThat(own.json().get("tenant").asText()).isEqualTo("globex");
    assertThat(own.json().get("builds")).isEmpty();
    assertThat(otherSettings.status()).isEqualTo(403);
    assertThat(allTenants.status()).isEqualTo(403);
    assertThat(acme.get("/v1/builds").json().get("builds")).hasSize(1);
    assertThat(operator.get("/v1/builds?tenant=acme").json().get("builds")).hasSize(1);
  }

  @Test
  void anIndexPasswordIsNeverInAnApiAnswer() throws Exception {
    start();
    String password = "hunter2-" + java.util.UUID.randomUUID();
    HttpJson acme = operator.as(TestSecurity.ACME_TOKEN);

    HttpJson.Response put =
        acme.put(
            "/v1/tenants/acme/indexes/private",
            "{\"url\": \"https://pypi.acme.example/simple/\", \"username\": \"ci\", \"password\": \""
                + password
                + "\"}");
    assertThat(put.status()).isEqualTo(200);
    assertThat(put.json().get("password").asText()).isEqualTo("****");

    // A push that carries a credential in its build variables, as the attack did.
    PushEvent push =
        new PushEvent(
            "acme",
            "web",
            "file:///srv/git/acme/web.git",
            "refs/heads/main",
            Fixtures.COMMIT,
            new dev.kiln.events.AppSpec(
                null,
                null,
                null,
                null,
                List.of(new dev.kiln.events.AppSpec.EnvVar("DB_PASSWORD", password, null))),
            Map.of("PIP_EXTRA_INDEX_URL", "https://ci:" + password + "@pypi.acme.example/simple/"),
            Instant.now());
    assertThat(acme.postJson("/v1/pushes", json(push)).status()).isEqualTo(202);
    BuildSnapshot built = awaitState(acme, push.buildId(), BuildState.SUCCEEDED);
    // Index credentials are dropped before the push is recorded: the cache-service holds them.
    assertThat(built.push().buildEnv().get("PIP_EXTRA_INDEX_URL"))
        .isEqualTo("https://pypi.acme.example/simple/");

    List<HttpJson.Response> answers =
        List.of(
            put,
            operator.get("/v1/tenants"),
            operator.get("/v1/tenants/acme"),
            acme.get("/v1/tenants/acme"),
            acme.get("/v1/builds/" + push.buildId()),
            acme.get("/v1/builds"),
            operator.get("/v1/builds?tenant=acme"));
    for (HttpJson.Response answer : answers) {
      assertThat(answer.status()).isEqualTo(200);
      assertThat(answer.json().toString()).doesNotContain(password);
    }
    assertThat(
            operator.get("/v1/tenants/acme").json().get("indexes").get(0).get("password").asText())
        .isEqualTo("****");
    // The worker still learns which index the tenant has, without the credentials.
    assertThat(farm.tasksSeen(TaskKind.DETECT).get(0).indexes())
        .containsExactly(new IndexRef("private", "https://pypi.acme.example/simple/"));
  }

  @Test
  void tokensAndPasswordsAreStoredOnlyAsHashesAndSealed() throws Exception {
    start();
    TopicRecorder tenantsTopic =
        TopicRecorder.start(farm.vertx, farm.bootstrapServers, farm.topics.tenants());
    HttpJson.Response created =
        operator.postJson(
            "/v1/tenants",
            "{\"name\": \"initech\", \"sources\": [\"https://git.initech.example/\"],"
                + " \"quotas\": {\"concurrentBuilds\": 2}}");
    assertThat(created.status()).isEqualTo(201);
    String token = created.json().get("token").asText();
    assertThat(token).startsWith("kiln_t_");
    String password = "pw-" + java.util.UUID.randomUUID();
    HttpJson initech = operator.as(token);
    assertThat(
            initech
                .put(
                    "/v1/tenants/initech/indexes/main",
                    "{\"url\": \"https://pypi.initech.example/simple/\", \"password\": \""
                        + password
                        + "\"}")
                .status())
        .isEqualTo(200);
    HttpJson.Response rotated = operator.postJson("/v1/tenants/initech/tokens", "");
    assertThat(rotated.status()).isEqualTo(201);
    String second = rotated.json().get("token").asText();
    assertThat(initech.get("/v1/tenants/initech").json().get("tokens")).hasSize(2);

    await().atMost(BUILD_TIMEOUT).until(() -> tenantsTopic.records().size() >= 3);
    for (TopicRecorder.Recorded record : tenantsTopic.records()) {
      String raw = new String(record.value(), StandardCharsets.UTF_8) + record.headers().toString();
      assertThat(raw).doesNotContain(token).doesNotContain(second).doesNotContain(password);
      assertThat(raw).doesNotContain(token.substring("kiln_t_".length()));
    }
    Tenant stored =
        EventCodec.fromJson(
            tenantsTopic.records().get(tenantsTopic.records().size() - 1).value(), Tenant.class);
    assertThat(stored.tokens())
        .extracting(Tenant.TokenHash::sha256)
        .contains(dev.kiln.events.security.Tokens.sha256Hex(token));
    assertThat(stored.index("main").orElseThrow().sealedPassword()).startsWith("v1:");

    // Revoking the first token locks it out; the second still works.
    String firstId = created.json().get("tokenId").asText();
    assertThat(operator.delete("/v1/tenants/initech/tokens/" + firstId).status()).isEqualTo(200);
    assertThat(initech.get("/v1/tenants/initech").status()).isEqualTo(401);
    assertThat(operator.as(second).get("/v1/tenants/initech").status()).isEqualTo(200);
    // A tenant cannot make itself more tenants or tokens.
    assertThat(operator.as(second).postJson("/v1/tenants", "{\"name\": \"evil\"}").status())
        .isEqualTo(403);
    assertThat(operator.as(second).postJson("/v1/tenants/initech/tokens", "").status())
        .isEqualTo(403);
  }

  @Test
  void tenantsCreatedThroughTheApiSurviveACoordinatorRestart() throws Exception {
    start();
    HttpJson.Response created = operator.postJson("/v1/tenants", "{\"name\": \"hooli\"}");
    assertThat(created.status()).isEqualTo(201);
    String token = created.json().get("token").asText();
    farm.undeploy(deployment);

    CoordinatorVerticle next =
        new CoordinatorVerticle(farm.config().withInstanceId("coordinator-b"));
    farm.deploy(next);
    HttpJson hooli = new HttpJson(next.actualHttpPort(), token);
    assertThat(hooli.get("/v1/tenants/hooli").status()).isEqualTo(200);
    assertThat(hooli.get("/v1/builds").status()).isEqualTo(200);
  }

  @Test
  void aForgedResultWithAGuessedTaskIdChangesNothing() throws Exception {
    start(TestSecurity.standardTenants(), task -> null); // workers that never answer
    PushEvent push = Fixtures.push();
    assertThat(operator.postJson("/v1/pushes", json(push)).status()).isEqualTo(202);
    await().atMost(BUILD_TIMEOUT).until(() -> farm.tasksSeen(TaskKind.DETECT).size() == 1);
    BuildTask issued = farm.tasksSeen(TaskKind.DETECT).get(0);
    String buildId = push.buildId();

    // What an attacker can know: the build id and the id scheme, not the random part.
    List<String> guesses =
        List.of(
            buildId + "/detect/1",
            buildId + "/detect/1/0000000000000000",
            BuildTask.taskId(buildId, TaskKind.DETECT, 1));
    ScriptedWorkers forger =
        ScriptedWorkers.start(farm.vertx, farm.bootstrapServers, farm.topics, t -> null);
    for (String guess : guesses) {
      Awaits.await(
          forger.publish(
              new TaskResult(
                  buildId,
                  guess,
                  TaskKind.DETECT,
                  1,
                  TaskResult.Outcome.FAILED,
                  new dev.kiln.events.CodedMessage("forged::failure", "pwned"),
                  null,
                  null,
                  null,
                  null,
                  null,
                  "evil",
                  1)));
    }
    await().atMost(BUILD_TIMEOUT).until(() -> coordinator.ignoredResults() >= guesses.size());
    await()
        .during(QUIET)
        .atMost(QUIET.plusSeconds(5))
        .until(() -> farm.buildFailed.records().isEmpty());
    assertThat(awaitState(operator, buildId, BuildState.DETECTING).failure()).isNull();

    // The real worker's answer for the issued id still counts.
    Awaits.await(forger.publish(Fixtures.failed(issued, "detect::no-app", "no app")));
    await().atMost(BUILD_TIMEOUT).until(() -> !farm.buildFailed.records().isEmpty());
    assertThat(farm.buildFailed.bodies(BuildFailed.class).get(0).code())
        .isEqualTo("detect::no-app");
    Awaits.await(forger.close());
  }

  @Test
  void aPushFromAnotherTenantsRepositoryIsRefused() throws Exception {
    start();
    HttpJson acme = operator.as(TestSecurity.ACME_TOKEN);
    List<String> stolen =
        List.of(
            "file:///srv/git/globex/web.git",
            "file:///srv/git/acme/../globex/web.git",
            "file:///srv/git/acme/%2e%2e/globex/web.git",
            "file:///srv/git/acme-evil/web.git",
            "https://git.example.com/globex/web.git");
    for (String repoUrl : stolen) {
      PushEvent push =
          new PushEvent(
              "acme",
              "web",
              repoUrl,
              "refs/heads/main",
              commit(repoUrl.hashCode() & 0xffff),
              null,
              null,
              Instant.now());
      HttpJson.Response refused = acme.postJson("/v1/pushes", json(push));
      assertThat(refused.status()).as(repoUrl).isEqualTo(403);
      assertThat(refused.json().get("code").asText()).isEqualTo("source::not-allowed");
      // The operator is held to the tenant's allow-list too.
      assertThat(operator.postJson("/v1/pushes", json(push)).status()).isEqualTo(403);
    }

    // Straight to kiln.push (a pusher that does not check): the build fails, no task is sent.
    PushEvent viaKafka =
        new PushEvent(
            "acme",
            "web",
            "file:///srv/git/globex/web.git",
            "refs/heads/main",
            Fixtures.OTHER_COMMIT,
            null,
            null,
            Instant.now());
    Awaits.await(farm.publisher.publish(farm.topics.push(), viaKafka.buildId(), viaKafka));
    await().atMost(BUILD_TIMEOUT).until(() -> !farm.buildFailed.records().isEmpty());
    assertThat(farm.buildFailed.bodies(BuildFailed.class).get(0).code())
        .isEqualTo("source::not-allowed");
    PushEvent unknownTenant = Fixtures.push("nobody", "web", Fixtures.COMMIT);
    Awaits.await(
        farm.publisher.publish(farm.topics.push(), unknownTenant.buildId(), unknownTenant));
    await().atMost(BUILD_TIMEOUT).until(() -> farm.buildFailed.records().size() == 2);
    assertThat(farm.buildFailed.bodies(BuildFailed.class))
        .extracting(BuildFailed::code)
        .contains("tenant::unknown");
    assertThat(farm.tasksSeen(TaskKind.DETECT)).isEmpty();
  }

  @Test
  void aTenantOverItsQueuedQuotaGets429() throws Exception {
    start(
        List.of(TestSecurity.tenant("tiny", TINY_TOKEN, new Tenant.Quotas(1, 1, 1L << 30))),
        task -> null);
    HttpJson tiny = operator.as(TINY_TOKEN);
    PushEvent first = Fixtures.push("tiny", "web", commit(1));
    PushEvent second = Fixtures.push("tiny", "web", commit(2));
    PushEvent third = Fixtures.push("tiny", "web", commit(3));

    assertThat(tiny.postJson("/v1/pushes", json(first)).status()).isEqualTo(202);
    awaitState(tiny, first.buildId(), BuildState.DETECTING);
    assertThat(tiny.postJson("/v1/pushes", json(second)).status()).isEqualTo(202);
    BuildSnapshot waiting = awaitState(tiny, second.buildId(), BuildState.QUEUED);
    assertThat(waiting.queuedReason()).contains("quota of 1 concurrent builds");

    HttpJson.Response refused = tiny.postJson("/v1/pushes", json(third));
    assertThat(refused.status()).isEqualTo(429);
    assertThat(refused.json().get("code").asText()).isEqualTo("quota::queued-builds");
    assertThat(refused.json().get("error").asText()).contains("queuedBuilds");

    // The same push through Kafka fails with the code instead.
    Awaits.await(farm.publisher.publish(farm.topics.push(), third.buildId(), third));
    await().atMost(BUILD_TIMEOUT).until(() -> !farm.buildFailed.records().isEmpty());
    assertThat(farm.buildFailed.bodies(BuildFailed.class).get(0).code())
        .isEqualTo("quota::queued-builds");
    assertThat(farm.tasksSeen(TaskKind.DETECT)).hasSize(1);
  }

  @Test
  void oneTenantsBurstDoesNotDelayAnother() throws Exception {
    String burstToken =
        dev.kiln.events.security.Tokens.newToken(dev.kiln.events.security.Tokens.Kind.TENANT);
    start(
        List.of(
            TestSecurity.tenant("burst", burstToken, new Tenant.Quotas(2, 50, 1L << 30)),
            TestSecurity.tenant("calm", TestSecurity.ACME_TOKEN, Tenant.Quotas.DEFAULTS)),
        task -> null);
    HttpJson burst = operator.as(burstToken);
    List<PushEvent> burstPushes = new ArrayList<>();
    for (int i = 1; i <= 6; i++) {
      // Six apps: pushes to one app's branch would supersede each other (a test of its own).
      PushEvent p = Fixtures.push("burst", "web-" + i, commit(i));
      burstPushes.add(p);
      assertThat(burst.postJson("/v1/pushes", json(p)).status()).isEqualTo(202);
      // One after another, so "oldest first" has a defined meaning.
      awaitState(burst, p.buildId(), i <= 2 ? BuildState.DETECTING : BuildState.QUEUED);
    }
    PushEvent calm = Fixtures.push("calm", "web", commit(100));
    assertThat(operator.as(TestSecurity.ACME_TOKEN).postJson("/v1/pushes", json(calm)).status())
        .isEqualTo(202);
    await()
        .atMost(BUILD_TIMEOUT)
        .until(
            () ->
                farm.tasksSeen(TaskKind.DETECT).stream().anyMatch(t -> t.tenant().equals("calm")));
    // calm started while burst still waits with four builds: it did not queue behind them.
    assertThat(detectStarts("burst"))
        .containsExactly(burstPushes.get(0).buildId(), burstPushes.get(1).buildId());

    // As burst's builds finish, its waiting builds start oldest first, two at a time at most.
    for (int finished = 0; finished < 4; finished++) {
      BuildTask running = taskOf(burstPushes.get(finished).buildId());
      Awaits.await(
          farm.publisher.publish(
              farm.topics.results(),
              running.buildId(),
              Fixtures.failed(running, "detect::no-app", "done")));
      int expected = finished + 3;
      await().atMost(BUILD_TIMEOUT).until(() -> detectStarts("burst").size() == expected);
    }
    assertThat(detectStarts("burst"))
        .containsExactlyElementsOf(burstPushes.stream().map(PushEvent::buildId).toList());
    await()
        .during(QUIET)
        .atMost(QUIET.plusSeconds(5))
        .until(() -> detectStarts("burst").size() == 6);
  }

  private List<String> detectStarts(String tenant) {
    return farm.tasksSeen(TaskKind.DETECT).stream()
        .filter(t -> t.tenant().equals(tenant))
        .map(BuildTask::buildId)
        .toList();
  }

  private BuildTask taskOf(String buildId) {
    return farm.tasksSeen(TaskKind.DETECT).stream()
        .filter(t -> t.buildId().equals(buildId))
        .findFirst()
        .orElseThrow();
  }
}
