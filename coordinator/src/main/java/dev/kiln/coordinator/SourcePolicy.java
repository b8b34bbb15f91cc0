package dev.kiln.coordinator;

import dev.kiln.events.CodedMessage;
import dev.kiln.events.Tenant;
import dev.kiln.events.security.SecretValues;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Which repositories a tenant's builds may fetch: URLs starting with one of the tenant's {@code
 * sources}, or, when it configured none, {@code file://<sourceRoot>/<tenant>/}.
 */
final class SourcePolicy {
  static final String NOT_ALLOWED = "source::not-allowed";
  static final String UNKNOWN_TENANT = "tenant::unknown";

  /** Path tricks that would make a prefix match a URL that leads elsewhere. */
  private static final Pattern ESCAPES =
      Pattern.compile("(^|.*[/\\\\])\\.\\.?([/\\\\].*|$)|.*%2e.*|.*%2f.*|.*%5c.*|.*[\\\\\\s].*");

  private final Path sourceRoot;

  /**
   * @param sourceRoot the farm's {@code file://} root; null: no default source
   */
  SourcePolicy(Path sourceRoot) {
    this.sourceRoot = sourceRoot == null ? null : sourceRoot.toAbsolutePath().normalize();
  }

  /** The prefixes a tenant's repositories must start with. */
  List<String> effectiveSources(Tenant tenant) {
    if (!tenant.sources().isEmpty()) {
      return tenant.sources();
    }
    return sourceRoot == null ? List.of() : List.of(defaultSource(tenant.name()));
  }

  String defaultSource(String tenant) {
    String root = sourceRoot.toUri().toString().replaceFirst("^file:/+", "file:///");
    return (root.endsWith("/") ? root : root + "/") + tenant + "/";
  }

  /** Why the tenant may not build {@code repoUrl}, or empty when it may. */
  Optional<CodedMessage> refusal(Tenant tenant, String repoUrl) {
    List<String> allowed = effectiveSources(tenant);
    boolean tricky = ESCAPES.matcher(repoUrl.toLowerCase(Locale.ROOT)).matches();
    if (!tricky && allowed.stream().anyMatch(repoUrl::startsWith)) {
      return Optional.empty();
    }
    String why =
        tricky
            ? "it contains '.'/'..' segments, encoded separators or spaces, which could lead"
                + " outside an allowed prefix"
            : allowed.isEmpty()
                ? "tenant "
                    + tenant.name()
                    + " has no allowed sources (the farm has no source root and the tenant"
                    + " configured none)"
                : "tenant " + tenant.name() + " may build only from " + String.join(", ", allowed);
    return Optional.of(
        new CodedMessage(
            NOT_ALLOWED,
            "Repository "
                + SecretValues.maskUrlPasswords(repoUrl)
                + " is not allowed: "
                + why
                + ". Push from an allowed repository, or ask the operator to add its prefix:"
                + " `kiln tenants update "
                + tenant.name()
                + " --source PREFIX` / PATCH /v1/tenants/"
                + tenant.name()
                + " {\"sources\": [...]}"));
  }

  static CodedMessage unknownTenant(String tenant) {
    return new CodedMessage(
        UNKNOWN_TENANT,
        "Tenant "
            + tenant
            + " does not exist on this farm. Ask the operator to create it (`kiln tenants create "
            + tenant
            + "`), then push again.");
  }
}
