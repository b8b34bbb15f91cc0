package dev.kiln.worker.install;

import dev.kiln.events.BuildTask;
import dev.kiln.events.IndexRef;
import dev.kiln.worker.sandbox.Sandbox;
import dev.kiln.worker.steps.StepFailure;
import java.util.List;
import java.util.Optional;

/**
 * The tenant's private index a build asks for with {@code PIP_EXTRA_INDEX_URL}. The build never
 * reaches it: it must be one of the indexes the tenant configured ({@code kiln tenants index …}),
 * and pip in the sandbox reads it through the cache-service's proxy for that tenant, which holds
 * the credentials and stores what it serves for that tenant only.
 */
public record PrivateIndex(IndexRef ref, String tenant) {
  public static final String EXTRA_INDEX_VARIABLE = "PIP_EXTRA_INDEX_URL";
  public static final String NOT_CONFIGURED = "requirements::index-option-not-allowed";

  /** The index the build names, if it names one; a failure when it is not the tenant's. */
  public static Optional<PrivateIndex> of(BuildTask task) throws StepFailure {
    String named = task.buildTimeEnv().get(EXTRA_INDEX_VARIABLE);
    if (named == null || named.isBlank()) {
      return Optional.empty();
    }
    List<String> urls = List.of(named.strip().split("\\s+"));
    if (urls.size() > 1) {
      throw new StepFailure(
          NOT_CONFIGURED,
          EXTRA_INDEX_VARIABLE
              + " names "
              + urls.size()
              + " indexes; Kiln proxies one private index per build. Keep one, and publish"
              + " the packages of the others to it.");
    }
    String wanted = normalized(urls.get(0));
    for (IndexRef ref : task.indexes()) {
      if (normalized(ref.url()).equals(wanted)) {
        return Optional.of(new PrivateIndex(ref, task.tenant()));
      }
    }
    throw new StepFailure(
        NOT_CONFIGURED,
        EXTRA_INDEX_VARIABLE
            + " names "
            + withoutCredentials(urls.get(0))
            + ", which is not an index of tenant "
            + task.tenant()
            + (task.indexes().isEmpty()
                ? " (it has none configured)"
                : " (its indexes: "
                    + String.join(
                        ", ", task.indexes().stream().map(r -> r.name() + " " + r.url()).toList())
                    + ")")
            + ". Builds reach no index directly. Configure it once with `kiln tenants index "
            + task.tenant()
            + " <name> --url "
            + withoutCredentials(urls.get(0))
            + " --username … --password-stdin`; the cache-service then proxies it for this"
            + " tenant only, and the variable may stay as it is.");
  }

  /** Where pip in the sandbox reads this index: the relay, for this tenant. */
  String sandboxUrl() {
    return "http://127.0.0.1:"
        + Sandbox.INDEX_PORT
        + "/tenants/"
        + tenant
        + "/indexes/"
        + ref.name()
        + "/simple/";
  }

  /** How the build log names it: its name and URL, never its credentials. */
  String shownAs() {
    return ref.name() + " (" + ref.url() + ")";
  }

  static String withoutCredentials(String url) {
    return url.replaceFirst("^([A-Za-z][A-Za-z0-9+.-]*://)[^/@]*@", "$1");
  }

  private static String normalized(String url) {
    String bare = withoutCredentials(url.strip());
    int scheme = bare.indexOf("://");
    if (scheme > 0) {
      int path = bare.indexOf('/', scheme + 3);
      String head = path < 0 ? bare : bare.substring(0, path);
      bare = head.toLowerCase(java.util.Locale.ROOT) + (path < 0 ? "" : bare.substring(path));
    }
    return bare.endsWith("/") ? bare : bare + "/";
  }
}
