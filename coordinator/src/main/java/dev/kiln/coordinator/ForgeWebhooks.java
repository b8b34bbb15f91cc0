package dev.kiln.coordinator;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.events.AppLink;
import dev.kiln.events.AppLink.Forge;
import dev.kiln.events.EventCodec;
import dev.kiln.events.Quote;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * What one forge webhook delivery means for a linked app, as plain Java (no Vert.x, no Kafka):
 * authenticate it with the link's secret, tell pushes from pings and other events, read the pushed
 * branch and commit from the forge's own payload, and check it against the link.
 *
 * <p>Authentication comes first and covers every event, pings included: nothing of an
 * unauthenticated body is read. GitHub signs the body ({@code X-Hub-Signature-256: sha256=<hex
 * HMAC-SHA256>}), Gitea and Forgejo too ({@code X-Gitea-Signature} / {@code X-Forgejo-Signature}:
 * the bare hex HMAC); GitLab sends the secret itself ({@code X-Gitlab-Token}). Both are compared in
 * constant time.
 */
final class ForgeWebhooks {
  /** Webhook ids are UUIDs; anything longer is not a forge's. */
  private static final Pattern DELIVERY_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

  private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}|[0-9a-f]{64}");
  private static final Pattern ZEROS = Pattern.compile("0+");
  private static final String BRANCH_PREFIX = "refs/heads/";

  private ForgeWebhooks() {}

  /** The outcome of one delivery. */
  sealed interface Verdict {}

  /** Refused: nothing is built; answered with this status. */
  record Refused(int status, String code, String message, String field) implements Verdict {}

  /** Authentic, but nothing to build (a ping, another event, another branch, a deletion). */
  record Ignored(String event, String reason) implements Verdict {}

  /**
   * An authentic push of the linked branch.
   *
   * @param deliveryId the forge's id of this delivery, the same on a redelivery; null if none sent
   * @param pusher who pushed, as the forge names them (for the log only)
   */
  record Push(String ref, String commit, String pusher, String deliveryId) implements Verdict {}

  static final String UNSIGNED = "webhook::unsigned";
  static final String BAD_SIGNATURE = "webhook::bad-signature";
  static final String MALFORMED = "webhook::malformed";
  static final String REPOSITORY_MISMATCH = "webhook::repository-mismatch";

  /**
   * Judges one delivery.
   *
   * @param header the request's header of a name (case-insensitive), or null
   * @param secret the link's webhook secret, opened
   */
  static Verdict judge(
      Forge forge, Function<String, String> header, byte[] body, AppLink link, String secret) {
    Refused unauthentic = authenticate(forge, header, body, secret);
    if (unauthentic != null) {
      return unauthentic;
    }
    String deliveryId = deliveryId(forge, header);
    if (deliveryId != null && !DELIVERY_ID.matcher(deliveryId).matches()) {
      return new Refused(
          400,
          MALFORMED,
          "the delivery id is not a forge's (expected a UUID-like id of at most 128 characters)",
          deliveryHeader(forge));
    }
    String event = eventHeader(forge, header);
    if (event == null) {
      return new Refused(
          400,
          MALFORMED,
          "the "
              + eventHeaderName(forge)
              + " header is missing; is this a "
              + forge.id()
              + " hook?",
          eventHeaderName(forge));
    }
    if (!isPush(forge, event)) {
      return new Ignored(
          event,
          "ping".equals(event)
              ? "ping received; this hook is set up, pushes to " + link.branch() + " will build"
              : "the " + Quote.safe(event, 60) + " event is not a push; only pushes build");
    }
    JsonNode payload;
    try {
      payload = EventCodec.mapper().readTree(body);
    } catch (java.io.IOException | RuntimeException e) {
      return new Refused(
          400,
          MALFORMED,
          "the body is not JSON; set the webhook's content type to application/json",
          "body");
    }
    if (payload == null || !payload.isObject()) {
      return new Refused(400, MALFORMED, "the body is not a JSON object", "body");
    }
    String ref = text(payload, "ref");
    String after = text(payload, "after");
    if (ref == null || after == null || !COMMIT.matcher(after).matches()) {
      return new Refused(
          400,
          MALFORMED,
          "the push payload has no ref or no 40/64-hex 'after' commit; send the forge's own push"
              + " payload",
          ref == null ? "ref" : "after");
    }
    List<String> repositoryUrls = repositoryUrls(forge, payload);
    String linked = normalized(link.repoUrl());
    if (repositoryUrls.stream().map(ForgeWebhooks::normalized).noneMatch(linked::equals)) {
      return new Refused(
          400,
          REPOSITORY_MISMATCH,
          "this push is for "
              + (repositoryUrls.isEmpty()
                  ? "no repository the payload names"
                  : Quote.safe(repositoryUrls.get(0), 200))
              + ", but the app is linked to "
              + link.repoUrl()
              + "; link the app to the repository whose hook this is",
          "repository");
    }
    if (!ref.startsWith(BRANCH_PREFIX)) {
      return new Ignored(
          event,
          Quote.safe(ref, 120) + " is not a branch; only pushes to " + link.ref() + " build");
    }
    String branch = ref.substring(BRANCH_PREFIX.length());
    if (!branch.equals(link.branch())) {
      return new Ignored(
          event,
          "a push to branch "
              + Quote.safe(branch, 120)
              + " is ignored; the app builds pushes to "
              + link.branch());
    }
    if (ZEROS.matcher(after).matches()) {
      return new Ignored(event, "branch " + link.branch() + " was deleted; nothing to build");
    }
    return new Push(ref, after, pusher(forge, payload), deliveryId);
  }

  /** Null when the delivery carries the link's secret (GitLab) or its signature (the others). */
  private static Refused authenticate(
      Forge forge, Function<String, String> header, byte[] body, String secret) {
    String presented =
        switch (forge) {
          case GITHUB -> header.apply("X-Hub-Signature-256");
          case GITLAB -> header.apply("X-Gitlab-Token");
          case GITEA ->
              header.apply("X-Gitea-Signature") != null
                  ? header.apply("X-Gitea-Signature")
                  : header.apply("X-Forgejo-Signature");
        };
    if (presented == null || presented.isBlank()) {
      return new Refused(
          401,
          UNSIGNED,
          "the delivery is not signed ("
              + signatureHeaderName(forge)
              + " is missing); set the webhook's secret to the one `kiln apps link` printed",
          signatureHeaderName(forge));
    }
    boolean authentic =
        switch (forge) {
          case GITLAB -> constantTimeEquals(presented.strip(), secret);
          case GITHUB -> {
            String value = presented.strip();
            yield value.regionMatches(true, 0, "sha256=", 0, 7)
                && constantTimeEquals(
                    value.substring(7).toLowerCase(Locale.ROOT), hmacSha256Hex(secret, body));
          }
          case GITEA ->
              constantTimeEquals(
                  presented.strip().toLowerCase(Locale.ROOT), hmacSha256Hex(secret, body));
        };
    if (!authentic) {
      return new Refused(
          401,
          BAD_SIGNATURE,
          "the delivery's "
              + signatureHeaderName(forge)
              + " does not match this app's webhook secret; set the webhook's secret to the one"
              + " `kiln apps link` printed (or rotate it with `kiln apps link --rotate-secret`)",
          signatureHeaderName(forge));
    }
    return null;
  }

  /** Lowercase hex HMAC-SHA256 of {@code body} with {@code secret}, as GitHub and Gitea sign. */
  static String hmacSha256Hex(String secret, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return HexFormat.of().formatHex(mac.doFinal(body));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK has no HmacSHA256", e);
    }
  }

  /** Equality whose time does not depend on where the strings differ. */
  private static boolean constantTimeEquals(String presented, String expected) {
    return MessageDigest.isEqual(
        expected.getBytes(StandardCharsets.UTF_8), presented.getBytes(StandardCharsets.UTF_8));
  }

  static String signatureHeaderName(Forge forge) {
    return switch (forge) {
      case GITHUB -> "X-Hub-Signature-256";
      case GITLAB -> "X-Gitlab-Token";
      case GITEA -> "X-Gitea-Signature";
    };
  }

  private static String eventHeaderName(Forge forge) {
    return switch (forge) {
      case GITHUB -> "X-GitHub-Event";
      case GITLAB -> "X-Gitlab-Event";
      case GITEA -> "X-Gitea-Event";
    };
  }

  private static String deliveryHeader(Forge forge) {
    return switch (forge) {
      case GITHUB -> "X-GitHub-Delivery";
      case GITLAB -> "X-Gitlab-Event-UUID";
      case GITEA -> "X-Gitea-Delivery";
    };
  }

  private static String eventHeader(Forge forge, Function<String, String> header) {
    String event = header.apply(eventHeaderName(forge));
    if (event == null && forge == Forge.GITEA) {
      event = header.apply("X-Forgejo-Event");
    }
    return event == null ? null : event.strip();
  }

  /**
   * The forge's id of this delivery, which it sends again on a redelivery. GitLab 17.4+ sends
   * {@code Idempotency-Key}, the same on every retry of one event; older GitLabs only {@code
   * X-Gitlab-Event-UUID}.
   */
  static String deliveryId(Forge forge, Function<String, String> header) {
    String id =
        forge == Forge.GITLAB && header.apply("Idempotency-Key") != null
            ? header.apply("Idempotency-Key")
            : header.apply(deliveryHeader(forge));
    if (id == null && forge == Forge.GITEA) {
      id = header.apply("X-Forgejo-Delivery");
    }
    return id == null || id.isBlank() ? null : id.strip();
  }

  private static boolean isPush(Forge forge, String event) {
    return switch (forge) {
      case GITHUB, GITEA -> event.equals("push");
      case GITLAB -> event.equals("Push Hook");
    };
  }

  /** Every URL the payload gives for its repository; the link's must be one of them. */
  private static List<String> repositoryUrls(Forge forge, JsonNode payload) {
    List<String> urls = new ArrayList<>();
    JsonNode repository = payload.path("repository");
    for (String field : List.of("clone_url", "ssh_url", "git_url", "html_url", "url")) {
      addText(urls, repository, field);
    }
    if (forge == Forge.GITLAB) {
      JsonNode project = payload.path("project");
      for (String field :
          List.of("git_http_url", "git_ssh_url", "http_url", "ssh_url", "web_url", "url")) {
        addText(urls, project, field);
      }
      for (String field : List.of("git_http_url", "git_ssh_url", "homepage")) {
        addText(urls, repository, field);
      }
    }
    return urls;
  }

  private static void addText(List<String> urls, JsonNode node, String field) {
    String value = text(node, field);
    if (value != null && !value.isBlank()) {
      urls.add(value);
    }
  }

  private static String pusher(Forge forge, JsonNode payload) {
    String name =
        switch (forge) {
          case GITHUB -> text(payload.path("pusher"), "name");
          case GITLAB -> text(payload, "user_username");
          case GITEA -> text(payload.path("pusher"), "login");
        };
    return name == null ? "someone" : Quote.safe(name, 80);
  }

  private static String text(JsonNode node, String field) {
    JsonNode value = node.get(field);
    return value != null && value.isTextual() ? value.asText() : null;
  }

  /**
   * A repository URL as compared with the link's: case, a trailing slash and {@code .git} do not
   * matter (forges answer to both).
   */
  static String normalized(String url) {
    String u = url.strip().toLowerCase(Locale.ROOT);
    while (u.endsWith("/")) {
      u = u.substring(0, u.length() - 1);
    }
    if (u.endsWith(".git")) {
      u = u.substring(0, u.length() - 4);
    }
    return u;
  }
}
