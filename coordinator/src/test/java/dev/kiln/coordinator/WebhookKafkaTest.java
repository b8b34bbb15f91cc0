package dev.kiln.coordinator;

import static dev.kiln.coordinator.CoordinatorKafkaTest.BUILD_TIMEOUT;
import static dev.kiln.coordinator.CoordinatorKafkaTest.QUIET;
import static dev.kiln.coordinator.WebhookRulesTest.GITEA_COMMIT;
import static dev.kiln.coordinator.WebhookRulesTest.GITEA_REPO;
import static dev.kiln.coordinator.WebhookRulesTest.GITHUB_COMMIT;
import static dev.kiln.coordinator.WebhookRulesTest.GITHUB_REPO;
import static dev.kiln.coordinator.WebhookRulesTest.GITLAB_COMMIT;
import static dev.kiln.coordinator.WebhookRulesTest.GITLAB_REPO;
import static dev.kiln.coordinator.WebhookRulesTest.fixture;
import static dev.kiln.coordinator.WebhookRulesTest.pushHeaders;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.events.AppLink.Forge;
import dev.kiln.events.BuildIds;
import dev.kiln.events.ImageReady;
import dev.kiln.events.PushEvent;
import dev.kiln.events.TaskKind;
import dev.kiln.events.Tenant;
import dev.kiln.events.security.Tokens;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Forge webhooks against a running coordinator on a real broker: the forges' recorded push
 * payloads, signed with the secrets Kiln generated, build the linked commit exactly once; every
 * attack on the endpoint and on the link API is refused and builds nothing.
 */
@ExtendWith(SharedKafka.class)
class WebhookKafkaTest {
  private static final Instant T0 = Instant.parse("2026-11-30T00:00:00Z");

  private Harness farm;
  private CoordinatorVerticle coordinator;
  private String deployment;
  private HttpJson operator;
  private HttpJson acme;
  private HttpJson globex;
  private HttpJson forge;

  @AfterEach
  void stop() {
    if (farm != null) {
      farm.close();
    }
  }

  /** acme may build from the three forges' example repositories; globex from its own only. */
  private void start() throws Exception {
    Tenant acmeTenant =
        new Tenant(
            "acme",
            List.of(new Tenant.TokenHash("tok-1", Tokens.sha256Hex(TestSecurity.ACME_TOKEN), T0)),
            List.of(
                "https://github.com/Codertocat/",
                "http://example.com/mike/",
                "http://localhost:3000/gitea/"),
            List.of(),
            null,
            T0,
            T0);
    Tenant globexTenant =
        new Tenant(
            "globex",
            List.of(new Tenant.TokenHash("tok-1", Tokens.sha256Hex(TestSecurity.GLOBEX_TOKEN), T0)),
            List.of("https://github.com/globex/"),
            List.of(),
            null,
            T0,
            T0);
    farm = new Harness(List.of(acmeTenant, globexTenant));
    farm.workers(ScriptedWorkers::succeedEverything);
    coordinator = new CoordinatorVerticle(farm.config());
    deployment = farm.deploy(coordinator);
    connect();
  }

  private void connect() {
    operator = new HttpJson(coordinator.actualHttpPort());
    acme = operator.as(TestSecurity.ACME_TOKEN);
    globex = operator.as(TestSecurity.GLOBEX_TOKEN);
    forge = operator.as(null);
  }

  /** Links an app as its tenant and returns the secret, shown this once. */
  private String link(HttpJson as, String tenant, String app, Forge f, String repo, String branch) {
    HttpJson.Response r =
        as.put(
            "/v1/tenants/" + tenant + "/apps/" + app + "/link",
            "{\"forge\":\""
                + f.id()
                + "\",\"repoUrl\":\""
                + repo
                + "\",\"branch\":\""
                + branch
                + "\"}");
    assertThat(r.status()).as(r.json().toString()).isEqualTo(201);
    assertThat(r.json().get("webhookPath").asText())
        .isEqualTo("/v1/webhooks/" + f.id() + "/" + tenant + "/" + app);
    String secret = r.json().get("secret").asText();
    assertThat(secret).startsWith("kiln_wh_");
    return secret;
  }

  private HttpJson.Response deliver(
      Forge f, String tenant, String app, byte[] body, Map<String, String> headers) {
    return forge.post("/v1/webhooks/" + f.id() + "/" + tenant + "/" + app, headers, body);
  }

  private long detectTasksOf(String buildId) {
    return farm.tasksSeen(TaskKind.DETECT).stream()
        .filter(t -> t.buildId().equals(buildId))
        .count();
  }

  private long imagesOf(String buildId) {
    return farm.imageReady.bodies(ImageReady.class).stream()
        .filter(i -> i.buildId().equals(buildId))
        .count();
  }

  private void assertNothingPushed() {
    await().during(QUIET).atMost(QUIET.plusSeconds(5)).until(() -> farm.pushes.records().isEmpty());
  }

  @Test
  void signedPushesOfEachForgeBuildTheLinkedCommitExactlyOnceRedeliveriesIncluded()
      throws Exception {
    start();
    record Case(Forge forge, String app, String repo, String branch, String commit) {}
    List<Case> cases =
        List.of(
            new Case(Forge.GITHUB, "hello", GITHUB_REPO, "master", GITHUB_COMMIT),
            new Case(Forge.GITLAB, "diaspora", GITLAB_REPO, "master", GITLAB_COMMIT),
            new Case(Forge.GITEA, "hooks", GITEA_REPO, "develop", GITEA_COMMIT));
    for (Case c : cases) {
      String secret = link(acme, "acme", c.app(), c.forge(), c.repo(), c.branch());
      byte[] body = fixture(c.forge().id() + "-push.json");
      String buildId = BuildIds.of("acme", c.app(), c.commit());
      Map<String, String> headers = pushHeaders(c.forge(), body, secret, "delivery-" + c.app());

      HttpJson.Response first = deliver(c.forge(), "acme", c.app(), body, headers);
      assertThat(first.status()).as(first.json().toString()).isEqualTo(202);
      assertThat(first.json().get("buildId").asText()).isEqualTo(buildId);
      assertThat(first.json().get("delivery").asText()).isEqualTo("delivery-" + c.app());

      // The forge redelivers the same delivery (a timeout on its side, "Redeliver" in its UI).
      HttpJson.Response redelivered = deliver(c.forge(), "acme", c.app(), body, headers);
      assertThat(redelivered.status()).isEqualTo(200);
      assertThat(redelivered.json().get("status").asText()).isEqualTo("duplicate");
      assertThat(redelivered.json().get("buildId").asText()).isEqualTo(buildId);

      await().atMost(BUILD_TIMEOUT).untilAsserted(() -> assertThat(imagesOf(buildId)).isEqualTo(1));
      // Past the fast path (another coordinator, a restart): the same commit is a known build.
      Map<String, String> again = pushHeaders(c.forge(), body, secret, "another-" + c.app());
      HttpJson.Response known = deliver(c.forge(), "acme", c.app(), body, again);
      assertThat(known.status()).isEqualTo(200);
      assertThat(known.json().get("status").asText()).isEqualTo("duplicate");
      assertThat(known.json().get("state").asText()).isEqualTo("SUCCEEDED");

      PushEvent pushed =
          farm.pushes.bodies(PushEvent.class).stream()
              .filter(p -> p.buildId().equals(buildId))
              .findFirst()
              .orElseThrow();
      assertThat(pushed.repoUrl()).isEqualTo(c.repo());
      assertThat(pushed.ref()).isEqualTo("refs/heads/" + c.branch());
      assertThat(pushed.commit()).isEqualTo(c.commit());
      assertThat(pushed.app()).isEqualTo(c.app());
    }
    await()
        .during(QUIET)
        .atMost(QUIET.plusSeconds(5))
        .untilAsserted(
            () -> {
              assertThat(farm.pushes.records()).hasSize(3);
              for (Case c : cases) {
                String buildId = BuildIds.of("acme", c.app(), c.commit());
                assertThat(detectTasksOf(buildId)).isEqualTo(1);
                assertThat(imagesOf(buildId)).isEqualTo(1);
              }
            });
  }

  @Test
  void aRedeliveryToANewCoordinatorAfterARestartBuildsNothingAndTheLinkSurvives() throws Exception {
    start();
    String secret = link(acme, "acme", "hello", Forge.GITHUB, GITHUB_REPO, "master");
    byte[] body = fixture("github-push.json");
    Map<String, String> headers = pushHeaders(Forge.GITHUB, body, secret, "before-restart");
    HttpJson.Response first = deliver(Forge.GITHUB, "acme", "hello", body, headers);
    assertThat(first.status()).isEqualTo(202);
    String buildId = first.json().get("buildId").asText();
    await().atMost(BUILD_TIMEOUT).untilAsserted(() -> assertThat(imagesOf(buildId)).isEqualTo(1));

    // The forge's delivery memory is gone with the old coordinator; the link and the build are not.
    farm.undeploy(deployment);
    coordinator = new CoordinatorVerticle(farm.config().withInstanceId("coordinator-b"));
    deployment = farm.deploy(coordinator);
    connect();
    HttpJson.Response redelivered = deliver(Forge.GITHUB, "acme", "hello", body, headers);
    assertThat(redelivered.status()).as(redelivered.json().toString()).isEqualTo(200);
    assertThat(redelivered.json().get("status").asText()).isEqualTo("duplicate");
    assertThat(redelivered.json().get("buildId").asText()).isEqualTo(buildId);
    await()
        .during(QUIET)
        .atMost(QUIET.plusSeconds(5))
        .untilAsserted(
            () -> {
              assertThat(farm.pushes.records()).hasSize(1);
              assertThat(imagesOf(buildId)).isEqualTo(1);
            });
  }

  @Test
  void forgedUnsignedAndOtherAppsSignaturesAreRefusedWith401AndBuildNothing() throws Exception {
    start();
    String secret = link(acme, "acme", "hello", Forge.GITHUB, GITHUB_REPO, "master");
    String otherAppsSecret = link(acme, "acme", "other", Forge.GITHUB, GITHUB_REPO, "master");
    String globexSecret =
        link(globex, "globex", "hello", Forge.GITHUB, "https://github.com/globex/x.git", "main");
    byte[] body = fixture("github-push.json");

    Map<String, String> forged = pushHeaders(Forge.GITHUB, body, "kiln_wh_guess", "d-1");
    Map<String, String> unsigned = pushHeaders(Forge.GITHUB, body, secret, "d-2");
    unsigned.remove("X-Hub-Signature-256");
    Map<String, String> otherApp = pushHeaders(Forge.GITHUB, body, otherAppsSecret, "d-3");
    Map<String, String> otherTenant = pushHeaders(Forge.GITHUB, body, globexSecret, "d-4");
    Map<String, String> sha1Only = pushHeaders(Forge.GITHUB, body, secret, "d-5");
    sha1Only.remove("X-Hub-Signature-256");
    sha1Only.put("X-Hub-Signature", "sha1=0000000000000000000000000000000000000000");
    for (Map<String, String> headers : List.of(forged, unsigned, otherApp, otherTenant, sha1Only)) {
      HttpJson.Response r = deliver(Forge.GITHUB, "acme", "hello", body, headers);
      assertThat(r.status()).as(headers.toString()).isEqualTo(401);
      assertThat(r.json().get("code").asText()).startsWith("webhook::");
      assertThat(r.json().toString()).doesNotContain(secret);
    }
    // GitLab's token and Gitea's signature the same way.
    String gitlabSecret = link(acme, "acme", "diaspora", Forge.GITLAB, GITLAB_REPO, "master");
    byte[] gitlab = fixture("gitlab-push.json");
    assertThat(
            deliver(
                    Forge.GITLAB,
                    "acme",
                    "diaspora",
                    gitlab,
                    pushHeaders(Forge.GITLAB, gitlab, gitlabSecret + "x", "u-1"))
                .status())
        .isEqualTo(401);
    link(acme, "acme", "hooks", Forge.GITEA, GITEA_REPO, "develop");
    byte[] gitea = fixture("gitea-push.json");
    assertThat(
            deliver(
                    Forge.GITEA,
                    "acme",
                    "hooks",
                    gitea,
                    pushHeaders(Forge.GITEA, gitea, otherAppsSecret, "g-1"))
                .status())
        .isEqualTo(401);
    // A refused delivery id is not remembered: the real one with the same id still builds.
    HttpJson.Response real =
        deliver(
            Forge.GITHUB, "acme", "hello", body, pushHeaders(Forge.GITHUB, body, secret, "d-1"));
    assertThat(real.status()).isEqualTo(202);
    await()
        .during(QUIET)
        .atMost(QUIET.plusSeconds(5))
        .untilAsserted(() -> assertThat(farm.pushes.records()).hasSize(1));
  }

  @Test
  void unlinkedAppsUnknownTenantsAndTheWrongForgeAllAnswerTheSame404() throws Exception {
    start();
    String secret = link(acme, "acme", "hello", Forge.GITHUB, GITHUB_REPO, "master");
    byte[] body = fixture("github-push.json");
    Map<String, String> headers = pushHeaders(Forge.GITHUB, body, secret, "d");
    List<String> paths =
        List.of(
            "/v1/webhooks/github/acme/unlinked",
            "/v1/webhooks/github/nosuchtenant/hello",
            "/v1/webhooks/gitlab/acme/hello",
            "/v1/webhooks/bitbucket/acme/hello");
    for (String path : paths) {
      HttpJson.Response r = forge.post(path, headers, body);
      assertThat(r.status()).as(path).isEqualTo(404);
      assertThat(r.json().get("error").asText().replace(path, "PATH"))
          .isEqualTo(
              forge
                  .post(paths.get(0), headers, body)
                  .json()
                  .get("error")
                  .asText()
                  .replace(paths.get(0), "PATH"));
    }
    assertThat(acme.delete("/v1/tenants/acme/apps/hello/link").status()).isEqualTo(200);
    assertThat(deliver(Forge.GITHUB, "acme", "hello", body, headers).status()).isEqualTo(404);
    assertThat(acme.delete("/v1/tenants/acme/apps/hello/link").status()).isEqualTo(404);
    assertNothingPushed();
  }

  @Test
  void pingsOtherEventsOtherBranchesTagsAndDeletionsAnswer200AndBuildNothing() throws Exception {
    start();
    String secret = link(acme, "acme", "hello", Forge.GITHUB, GITHUB_REPO, "main");
    byte[] ping = fixture("github-ping.json");
    Map<String, String> pingHeaders = pushHeaders(Forge.GITHUB, ping, secret, "p-1");
    pingHeaders.put("X-GitHub-Event", "ping");
    HttpJson.Response pong = deliver(Forge.GITHUB, "acme", "hello", ping, pingHeaders);
    assertThat(pong.status()).isEqualTo(200);
    assertThat(pong.json().get("status").asText()).isEqualTo("ignored");

    pingHeaders.put("X-GitHub-Event", "pull_request");
    assertThat(deliver(Forge.GITHUB, "acme", "hello", ping, pingHeaders).status()).isEqualTo(200);

    byte[] master = fixture("github-push.json");
    HttpJson.Response otherBranch =
        deliver(
            Forge.GITHUB, "acme", "hello", master, pushHeaders(Forge.GITHUB, master, secret, "b"));
    assertThat(otherBranch.status()).isEqualTo(200);
    assertThat(otherBranch.json().get("reason").asText()).contains("branch master is ignored");

    byte[] tag = fixture("github-push-tag-deleted.json");
    assertThat(
            deliver(Forge.GITHUB, "acme", "hello", tag, pushHeaders(Forge.GITHUB, tag, secret, "t"))
                .json()
                .get("status")
                .asText())
        .isEqualTo("ignored");

    byte[] deletion =
        new String(master, StandardCharsets.UTF_8)
            .replace("refs/heads/master", "refs/heads/main")
            .replace("\"after\": \"" + GITHUB_COMMIT, "\"after\": \"" + "0".repeat(40))
            .getBytes(StandardCharsets.UTF_8);
    HttpJson.Response deleted =
        deliver(
            Forge.GITHUB,
            "acme",
            "hello",
            deletion,
            pushHeaders(Forge.GITHUB, deletion, secret, "x"));
    assertThat(deleted.status()).isEqualTo(200);
    assertThat(deleted.json().get("reason").asText()).contains("deleted");
    assertNothingPushed();
  }

  @Test
  void anOversizedBodyIs413AndAMalformedSignedBodyIs400AndNeitherBuilds() throws Exception {
    start();
    String secret = link(acme, "acme", "hello", Forge.GITHUB, GITHUB_REPO, "master");
    byte[] huge = new byte[(int) WebhooksApi.MAX_BODY_BYTES + 1];
    java.util.Arrays.fill(huge, (byte) ' ');
    HttpJson.Response tooLarge =
        deliver(Forge.GITHUB, "acme", "hello", huge, pushHeaders(Forge.GITHUB, huge, secret, "h"));
    assertThat(tooLarge.status()).isEqualTo(413);
    assertThat(tooLarge.json().get("code").asText()).isEqualTo("webhook::too-large");

    byte[] malformed = "{\"ref\": \"refs/heads/master\"".getBytes(StandardCharsets.UTF_8);
    HttpJson.Response bad =
        deliver(
            Forge.GITHUB,
            "acme",
            "hello",
            malformed,
            pushHeaders(Forge.GITHUB, malformed, secret, "m"));
    assertThat(bad.status()).isEqualTo(400);
    assertThat(bad.json().get("code").asText()).isEqualTo("webhook::malformed");
    assertNothingPushed();
  }

  @Test
  void aTenantCannotLinkShowOrUnlinkAnotherTenantsApp() throws Exception {
    start();
    link(acme, "acme", "hello", Forge.GITHUB, GITHUB_REPO, "master");
    String path = "/v1/tenants/acme/apps/hello/link";
    HttpJson.Response hijack =
        globex.put(
            path,
            "{\"forge\":\"github\",\"repoUrl\":\"https://github.com/globex/x.git\","
                + "\"branch\":\"main\",\"rotateSecret\":true}");
    assertThat(hijack.status()).isEqualTo(403);
    assertThat(hijack.json().toString()).doesNotContain("kiln_wh_");
    assertThat(globex.get(path).status()).isEqualTo(403);
    assertThat(globex.delete(path).status()).isEqualTo(403);
    assertThat(forge.get(path).status()).isEqualTo(401);
    HttpJson.Response unchanged = acme.get(path);
    assertThat(unchanged.status()).isEqualTo(200);
    assertThat(unchanged.json().get("repoUrl").asText()).isEqualTo(GITHUB_REPO);
  }

  @Test
  void aRepositoryOutsideTheTenantsSourcesOrABadBranchCannotBeLinkedAndLeavesNoLink()
      throws Exception {
    start();
    String path = "/v1/tenants/acme/apps/hello/link";
    HttpJson.Response foreign =
        acme.put(
            path,
            "{\"forge\":\"github\",\"repoUrl\":\"https://github.com/globex/x.git\","
                + "\"branch\":\"main\"}");
    assertThat(foreign.status()).isEqualTo(403);
    assertThat(foreign.json().get("error").asText()).contains("is not allowed");
    assertThat(foreign.json().get("code").asText()).isEqualTo("source::not-allowed");
    HttpJson.Response sneaky =
        acme.put(
            path,
            "{\"forge\":\"github\",\"repoUrl\":\"https://github.com/Codertocat/../globex/x.git\","
                + "\"branch\":\"main\"}");
    assertThat(sneaky.status()).isEqualTo(403);
    for (String body :
        List.of(
            "{\"forge\":\"github\",\"repoUrl\":\"" + GITHUB_REPO + "\",\"branch\":\"a..b\"}",
            "{\"forge\":\"svn\",\"repoUrl\":\"" + GITHUB_REPO + "\",\"branch\":\"main\"}",
            "{\"forge\":\"github\",\"repoUrl\":\"" + GITHUB_REPO + "\"}",
            "{\"forge\":\"github\",\"repoUrl\":\"" + GITHUB_REPO + "\",\"branch\":\"m\",\"x\":1}",
            "{\"forge\":\"github\",")) {
      assertThat(acme.put(path, body).status()).as(body).isEqualTo(400);
    }
    assertThat(acme.put("/v1/tenants/acme/apps/Bad_Name/link", "{}").status()).isEqualTo(400);
    assertThat(acme.get(path).status()).isEqualTo(404);
    assertThat(operator.get("/v1/tenants/acme").json().get("apps")).isEmpty();
  }

  @Test
  void theSecretIsShownOnceStoredSealedAndARotatedSecretReplacesTheOldOne() throws Exception {
    start();
    TopicRecorder tenantsTopic =
        TopicRecorder.start(farm.vertx, farm.bootstrapServers, farm.topics.tenants());
    String secret = link(acme, "acme", "hello", Forge.GITHUB, GITHUB_REPO, "master");
    String path = "/v1/tenants/acme/apps/hello/link";

    HttpJson.Response shown = acme.get(path);
    assertThat(shown.json().get("secret").asText()).isEqualTo("****");
    assertThat(operator.get("/v1/tenants/acme").json().get("apps").get(0).get("secret").asText())
        .isEqualTo("****");
    // Changing the branch keeps the secret and does not show it.
    HttpJson.Response moved = acme.put(path, "{\"branch\":\"main\"}");
    assertThat(moved.status()).isEqualTo(200);
    assertThat(moved.json().get("secret").asText()).isEqualTo("****");
    assertThat(moved.json().get("repoUrl").asText()).isEqualTo(GITHUB_REPO);

    HttpJson.Response rotated = acme.put(path, "{\"rotateSecret\":true,\"branch\":\"master\"}");
    assertThat(rotated.status()).isEqualTo(200);
    String newSecret = rotated.json().get("secret").asText();
    assertThat(newSecret).startsWith("kiln_wh_").isNotEqualTo(secret);

    byte[] body = fixture("github-push.json");
    assertThat(
            deliver(
                    Forge.GITHUB,
                    "acme",
                    "hello",
                    body,
                    pushHeaders(Forge.GITHUB, body, secret, "old"))
                .status())
        .isEqualTo(401);
    assertThat(
            deliver(
                    Forge.GITHUB,
                    "acme",
                    "hello",
                    body,
                    pushHeaders(Forge.GITHUB, body, newSecret, "new"))
                .status())
        .isEqualTo(202);

    await()
        .atMost(BUILD_TIMEOUT)
        .untilAsserted(() -> assertThat(tenantsTopic.records().size()).isGreaterThanOrEqualTo(5));
    for (TopicRecorder.Recorded r : tenantsTopic.records()) {
      String raw = r.value() == null ? "" : new String(r.value(), StandardCharsets.UTF_8);
      assertThat(raw).doesNotContain(secret).doesNotContain(newSecret);
    }
    assertThat(tenantsTopic.records())
        .anySatisfy(
            r ->
                assertThat(new String(r.value(), StandardCharsets.UTF_8))
                    .contains("\"sealedSecret\":\"v1:"));
    tenantsTopic.close();
  }

  @Test
  void aReplayedDeliveryIsADuplicateAndPushesNothingNew() throws Exception {
    // A replayer with a captured delivery cannot change the body without the secret, so a replay
    // is at most the same commit again: the same delivery id is answered from memory.
    start();
    String secret = link(acme, "acme", "hello", Forge.GITHUB, GITHUB_REPO, "master");
    byte[] body = fixture("github-push.json");
    String id = UUID.randomUUID().toString();
    assertThat(
            deliver(
                    Forge.GITHUB,
                    "acme",
                    "hello",
                    body,
                    pushHeaders(Forge.GITHUB, body, secret, id))
                .status())
        .isEqualTo(202);
    HttpJson.Response replay =
        deliver(Forge.GITHUB, "acme", "hello", body, pushHeaders(Forge.GITHUB, body, secret, id));
    assertThat(replay.status()).isEqualTo(200);
    assertThat(replay.json().get("delivery").asText()).isEqualTo(id);
    await()
        .during(QUIET)
        .atMost(QUIET.plusSeconds(5))
        .untilAsserted(() -> assertThat(farm.pushes.records()).hasSize(1));
  }
}
