package dev.kiln.events;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.kiln.events.security.SecretBox;
import java.time.Instant;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * An app linked to one branch of a forge repository (App Platform's {@code deploy_on_push}): a
 * signed push webhook for that branch builds the pushed commit. Kept in the tenant's record in
 * {@code kiln.tenants}.
 *
 * @param app the app the pushes build
 * @param forge who sends the webhooks, which decides how they are authenticated and read
 * @param repoUrl the repository builds fetch from; one of the tenant's allowed sources
 * @param branch the branch whose pushes build, without {@code refs/heads/}
 * @param sealedSecret the webhook secret Kiln generated, sealed ({@code v1:…}, AAD {@link
 *     SecretBox#webhookSecretAad}); never the secret itself
 */
public record AppLink(
    String app,
    Forge forge,
    String repoUrl,
    String branch,
    String sealedSecret,
    Instant createdAt,
    Instant updatedAt) {

  /** The forges Kiln takes push webhooks from. Forgejo sends Gitea's webhooks. */
  public enum Forge {
    GITHUB,
    GITLAB,
    GITEA;

    /** The forge's name in URLs, records and the CLI. */
    @JsonValue
    public String id() {
      return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The forge of this name ({@code forgejo} is Gitea's), or null for none.
     *
     * @param id as in URLs: github, gitlab, gitea or forgejo
     */
    @JsonCreator
    public static Forge of(String id) {
      if (id == null) {
        return null;
      }
      return switch (id.toLowerCase(Locale.ROOT)) {
        case "github" -> GITHUB;
        case "gitlab" -> GITLAB;
        case "gitea", "forgejo" -> GITEA;
        default -> null;
      };
    }
  }

  /** What {@code git check-ref-format --branch} refuses, in one pattern. */
  private static final Pattern BAD_BRANCH =
      Pattern.compile(
          "^[-/.].*|.*[/.]$|.*\\.\\..*|.*//.*|.*@\\{.*|.*\\.lock$|.*/\\..*|^@$|.*[\\x00-\\x20\\x7f~^:?*\\[\\\\].*");

  public static final int MAX_BRANCH_LENGTH = 255;

  /** The full ref a push to {@link #branch} names. */
  public String ref() {
    return "refs/heads/" + branch;
  }

  /** Whether a branch name is one git would accept, without {@code refs/heads/}. */
  public static void checkBranch(String field, String branch) throws InvalidEventException {
    Check.text(field, branch);
    if (branch.length() > MAX_BRANCH_LENGTH
        || BAD_BRANCH.matcher(branch).matches()
        || branch.startsWith("refs/")) {
      throw new InvalidEventException(
          field,
          "'"
              + Quote.safe(branch, 80)
              + "' is not a branch name git accepts (give it without refs/heads/, e.g. main)");
    }
  }

  void validate(String field) throws InvalidEventException {
    Check.name(field + ".app", app);
    Check.present(field + ".forge", forge);
    Check.repositoryUrl(field + ".repoUrl", repoUrl);
    checkBranch(field + ".branch", branch);
    Check.text(field + ".sealedSecret", sealedSecret);
    if (!sealedSecret.startsWith(SecretBox.PREFIX)) {
      throw new InvalidEventException(
          field + ".sealedSecret",
          "is not sealed; webhook secrets are stored only as " + SecretBox.PREFIX + "… values");
    }
  }
}
