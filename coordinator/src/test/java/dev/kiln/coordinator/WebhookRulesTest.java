package dev.kiln.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.events.AppLink;
import dev.kiln.events.AppLink.Forge;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * {@link ForgeWebhooks} and {@link RecentDeliveries} as plain Java, on the forges' own documented
 * payloads (see {@code src/test/resources/webhooks/README.md}).
 */
class WebhookRulesTest {
  static final String SECRET = "kiln_wh_" + "s".repeat(43);
  static final String GITHUB_REPO = "https://github.com/Codertocat/Hello-World.git";
  static final String GITHUB_COMMIT = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
  static final String GITLAB_REPO = "http://example.com/mike/diaspora.git";
  static final String GITLAB_COMMIT = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7";
  static final String GITEA_REPO = "http://localhost:3000/gitea/webhooks.git";
  static final String GITEA_COMMIT = "bffeb74224043ba2feb48d137756c8a9331c449a";

  static byte[] fixture(String name) {
    try (InputStream in = WebhookRulesTest.class.getResourceAsStream("/webhooks/" + name)) {
      if (in == null) {
        throw new IllegalStateException("no fixture " + name);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The headers a forge sends with a push signed with {@code secret}. */
  static Map<String, String> pushHeaders(Forge forge, byte[] body, String secret, String delivery) {
    Map<String, String> h = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    switch (forge) {
      case GITHUB -> {
        h.put("X-GitHub-Event", "push");
        h.put("X-GitHub-Delivery", delivery);
        h.put("X-Hub-Signature-256", "sha256=" + ForgeWebhooks.hmacSha256Hex(secret, body));
      }
      case GITLAB -> {
        h.put("X-Gitlab-Event", "Push Hook");
        h.put("X-Gitlab-Event-UUID", delivery);
        h.put("X-Gitlab-Token", secret);
      }
      case GITEA -> {
        h.put("X-Gitea-Event", "push");
        h.put("X-Gitea-Delivery", delivery);
        h.put("X-Gitea-Signature", ForgeWebhooks.hmacSha256Hex(secret, body));
      }
    }
    return h;
  }

  private static AppLink link(Forge forge, String repo, String branch) {
    return new AppLink("web", forge, repo, branch, "v1:sealed", null, null);
  }

  private static ForgeWebhooks.Verdict judge(
      Forge forge, Map<String, String> headers, byte[] body, AppLink link) {
    Function<String, String> header = headers::get;
    return ForgeWebhooks.judge(forge, header, body, link, SECRET);
  }

  @Test
  void aSignedGithubPushOfTheLinkedBranchIsThePushedCommit() {
    byte[] body = fixture("github-push.json");
    var verdict =
        judge(
            Forge.GITHUB,
            pushHeaders(Forge.GITHUB, body, SECRET, "d-1"),
            body,
            link(Forge.GITHUB, GITHUB_REPO, "master"));
    assertThat(verdict)
        .isEqualTo(new ForgeWebhooks.Push("refs/heads/master", GITHUB_COMMIT, "Codertocat", "d-1"));
  }

  @Test
  void aGitlabPushWithTheTokenIsThePushedCommit() {
    byte[] body = fixture("gitlab-push.json");
    var verdict =
        judge(
            Forge.GITLAB,
            pushHeaders(Forge.GITLAB, body, SECRET, "u-1"),
            body,
            link(Forge.GITLAB, GITLAB_REPO, "master"));
    assertThat(verdict)
        .isEqualTo(new ForgeWebhooks.Push("refs/heads/master", GITLAB_COMMIT, "jsmith", "u-1"));
  }

  @Test
  void aSignedGiteaPushIsThePushedCommitAndForgejoHeadersWorkToo() {
    byte[] body = fixture("gitea-push.json");
    AppLink link = link(Forge.GITEA, GITEA_REPO, "develop");
    assertThat(judge(Forge.GITEA, pushHeaders(Forge.GITEA, body, SECRET, "g-1"), body, link))
        .isEqualTo(new ForgeWebhooks.Push("refs/heads/develop", GITEA_COMMIT, "gitea", "g-1"));

    Map<String, String> forgejo = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    forgejo.put("X-Forgejo-Event", "push");
    forgejo.put("X-Forgejo-Delivery", "f-1");
    forgejo.put("X-Forgejo-Signature", ForgeWebhooks.hmacSha256Hex(SECRET, body));
    assertThat(judge(Forge.GITEA, forgejo, body, link))
        .isEqualTo(new ForgeWebhooks.Push("refs/heads/develop", GITEA_COMMIT, "gitea", "f-1"));
  }

  @Test
  void aForgedOrMissingSignatureIsRefusedWith401() {
    for (Forge forge : Forge.values()) {
      byte[] body = fixture(forge.id() + "-push.json");
      AppLink link = link(forge, "https://x/", "main");
      Map<String, String> forged = pushHeaders(forge, body, "kiln_wh_" + "x".repeat(43), "d");
      Map<String, String> unsigned = pushHeaders(forge, body, SECRET, "d");
      unsigned.remove(ForgeWebhooks.signatureHeaderName(forge));
      assertThat(judge(forge, forged, body, link))
          .isInstanceOfSatisfying(
              ForgeWebhooks.Refused.class,
              r -> {
                assertThat(r.status()).isEqualTo(401);
                assertThat(r.code()).isEqualTo(ForgeWebhooks.BAD_SIGNATURE);
              });
      assertThat(judge(forge, unsigned, body, link))
          .isInstanceOfSatisfying(
              ForgeWebhooks.Refused.class,
              r -> {
                assertThat(r.status()).isEqualTo(401);
                assertThat(r.code()).isEqualTo(ForgeWebhooks.UNSIGNED);
              });
    }
  }

  @Test
  void aSignatureOfAnotherBodyIsRefused() {
    byte[] body = fixture("github-push.json");
    Map<String, String> headers = pushHeaders(Forge.GITHUB, body, SECRET, "d");
    byte[] tampered =
        new String(body, StandardCharsets.UTF_8)
            .replace(GITHUB_COMMIT, "f".repeat(40))
            .getBytes(StandardCharsets.UTF_8);
    assertThat(judge(Forge.GITHUB, headers, tampered, link(Forge.GITHUB, GITHUB_REPO, "master")))
        .isInstanceOfSatisfying(
            ForgeWebhooks.Refused.class, r -> assertThat(r.status()).isEqualTo(401));
  }

  @Test
  void theSignatureIsCheckedBeforeTheBodyIsRead() {
    byte[] garbage = "{not json".getBytes(StandardCharsets.UTF_8);
    Map<String, String> headers =
        pushHeaders(Forge.GITHUB, "{}".getBytes(StandardCharsets.UTF_8), SECRET, "d");
    assertThat(judge(Forge.GITHUB, headers, garbage, link(Forge.GITHUB, GITHUB_REPO, "master")))
        .isInstanceOfSatisfying(
            ForgeWebhooks.Refused.class, r -> assertThat(r.status()).isEqualTo(401));
    Map<String, String> signed = pushHeaders(Forge.GITHUB, garbage, SECRET, "d");
    assertThat(judge(Forge.GITHUB, signed, garbage, link(Forge.GITHUB, GITHUB_REPO, "master")))
        .isInstanceOfSatisfying(
            ForgeWebhooks.Refused.class,
            r -> {
              assertThat(r.status()).isEqualTo(400);
              assertThat(r.code()).isEqualTo(ForgeWebhooks.MALFORMED);
            });
  }

  @Test
  void aPingAndOtherEventsAreIgnoredOnceAuthentic() {
    byte[] ping = fixture("github-ping.json");
    Map<String, String> headers = pushHeaders(Forge.GITHUB, ping, SECRET, "p");
    headers.put("X-GitHub-Event", "ping");
    assertThat(judge(Forge.GITHUB, headers, ping, link(Forge.GITHUB, GITHUB_REPO, "master")))
        .isInstanceOfSatisfying(
            ForgeWebhooks.Ignored.class, i -> assertThat(i.reason()).contains("ping"));
    headers.put("X-GitHub-Event", "issues");
    assertThat(judge(Forge.GITHUB, headers, ping, link(Forge.GITHUB, GITHUB_REPO, "master")))
        .isInstanceOfSatisfying(
            ForgeWebhooks.Ignored.class, i -> assertThat(i.reason()).contains("not a push"));
    headers.put("X-Hub-Signature-256", "sha256=" + "0".repeat(64));
    headers.put("X-GitHub-Event", "ping");
    assertThat(judge(Forge.GITHUB, headers, ping, link(Forge.GITHUB, GITHUB_REPO, "master")))
        .isInstanceOf(ForgeWebhooks.Refused.class);
  }

  @Test
  void anotherBranchATagAndADeletionAreIgnored() {
    byte[] body = fixture("github-push.json");
    Map<String, String> headers = pushHeaders(Forge.GITHUB, body, SECRET, "d");
    assertThat(judge(Forge.GITHUB, headers, body, link(Forge.GITHUB, GITHUB_REPO, "main")))
        .isInstanceOfSatisfying(
            ForgeWebhooks.Ignored.class,
            i -> assertThat(i.reason()).contains("branch master is ignored"));

    byte[] tag = fixture("github-push-tag-deleted.json");
    assertThat(
            judge(
                Forge.GITHUB,
                pushHeaders(Forge.GITHUB, tag, SECRET, "t"),
                tag,
                link(Forge.GITHUB, GITHUB_REPO, "master")))
        .isInstanceOfSatisfying(
            ForgeWebhooks.Ignored.class, i -> assertThat(i.reason()).contains("not a branch"));

    byte[] deleted =
        new String(body, StandardCharsets.UTF_8)
            .replace("\"after\": \"" + GITHUB_COMMIT, "\"after\": \"" + "0".repeat(40))
            .getBytes(StandardCharsets.UTF_8);
    assertThat(
            judge(
                Forge.GITHUB,
                pushHeaders(Forge.GITHUB, deleted, SECRET, "x"),
                deleted,
                link(Forge.GITHUB, GITHUB_REPO, "master")))
        .isInstanceOfSatisfying(
            ForgeWebhooks.Ignored.class, i -> assertThat(i.reason()).contains("deleted"));
  }

  @Test
  void aPushOfAnotherRepositoryIsRefusedButAnyOfTheForgesUrlsMatches() {
    byte[] body = fixture("gitlab-push.json");
    Map<String, String> headers = pushHeaders(Forge.GITLAB, body, SECRET, "d");
    assertThat(
            judge(
                Forge.GITLAB,
                headers,
                body,
                link(Forge.GITLAB, "http://example.com/mike/other.git", "master")))
        .isInstanceOfSatisfying(
            ForgeWebhooks.Refused.class,
            r -> assertThat(r.code()).isEqualTo(ForgeWebhooks.REPOSITORY_MISMATCH));
    for (String url :
        new String[] {
          "git@example.com:mike/diaspora.git",
          "http://example.com/mike/diaspora",
          "HTTP://EXAMPLE.COM/mike/diaspora.git/"
        }) {
      assertThat(judge(Forge.GITLAB, headers, body, link(Forge.GITLAB, url, "master")))
          .as(url)
          .isInstanceOf(ForgeWebhooks.Push.class);
    }
  }

  @Test
  void aPushWithoutACommitOrAnOddDeliveryIdIsMalformed() {
    byte[] body = "{\"ref\":\"refs/heads/main\",\"after\":\"HEAD\"}".getBytes();
    assertThat(
            judge(
                Forge.GITEA,
                pushHeaders(Forge.GITEA, body, SECRET, "d"),
                body,
                link(Forge.GITEA, GITEA_REPO, "main")))
        .isInstanceOfSatisfying(
            ForgeWebhooks.Refused.class, r -> assertThat(r.status()).isEqualTo(400));
    byte[] push = fixture("gitea-push.json");
    assertThat(
            judge(
                Forge.GITEA,
                pushHeaders(Forge.GITEA, push, SECRET, "x".repeat(500)),
                push,
                link(Forge.GITEA, GITEA_REPO, "develop")))
        .isInstanceOfSatisfying(
            ForgeWebhooks.Refused.class, r -> assertThat(r.status()).isEqualTo(400));
  }

  @Test
  void gitlabsIdempotencyKeyIsTheDeliveryIdWhenItIsSent() {
    byte[] body = fixture("gitlab-push.json");
    Map<String, String> headers = pushHeaders(Forge.GITLAB, body, SECRET, "event-uuid");
    AppLink link = link(Forge.GITLAB, GITLAB_REPO, "master");
    assertThat(((ForgeWebhooks.Push) judge(Forge.GITLAB, headers, body, link)).deliveryId())
        .isEqualTo("event-uuid");
    headers.put("Idempotency-Key", "retry-stable");
    assertThat(((ForgeWebhooks.Push) judge(Forge.GITLAB, headers, body, link)).deliveryId())
        .isEqualTo("retry-stable");
  }

  @Test
  void githubSignaturesAreCaseInsensitiveHex() {
    byte[] body = fixture("github-push.json");
    Map<String, String> headers = pushHeaders(Forge.GITHUB, body, SECRET, "d");
    headers.put(
        "X-Hub-Signature-256",
        "sha256=" + ForgeWebhooks.hmacSha256Hex(SECRET, body).toUpperCase(Locale.ROOT));
    assertThat(judge(Forge.GITHUB, headers, body, link(Forge.GITHUB, GITHUB_REPO, "master")))
        .isInstanceOf(ForgeWebhooks.Push.class);
  }

  @Test
  void recentDeliveriesRememberTheBuildAndForgetTheOldestAndTheRefused() {
    RecentDeliveries deliveries = new RecentDeliveries(2);
    assertThat(deliveries.claim("a")).isEmpty();
    assertThat(deliveries.claim("a")).contains(RecentDeliveries.PENDING);
    deliveries.settle("a", "b-1");
    assertThat(deliveries.claim("a")).contains("b-1");
    assertThat(deliveries.claim("b")).isEmpty();
    deliveries.forget("b");
    assertThat(deliveries.claim("b")).isEmpty();
    assertThat(deliveries.claim("c")).isEmpty();
    assertThat(deliveries.size()).isEqualTo(2);
    assertThat(deliveries.claim("a")).isEmpty(); // the oldest went first
    assertThatThrownBy(() -> new RecentDeliveries(0)).isInstanceOf(IllegalArgumentException.class);
  }
}
