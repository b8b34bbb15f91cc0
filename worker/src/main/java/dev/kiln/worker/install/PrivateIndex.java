package dev.kiln.worker.install;

import dev.kiln.events.BuildTask;
import dev.kiln.events.IndexRef;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.resolve.RequirementIndexOptions;
import dev.kiln.worker.sandbox.Sandbox;
import dev.kiln.worker.steps.StepFailure;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The tenant's private index a build asks for with {@code PIP_EXTRA_INDEX_URL}. The build never
 * reaches it: it must be one of the indexes the tenant configured ({@code kiln tenants index …}),
 * and pip in the sandbox reads it through the cache-service's proxy for that tenant, which holds
 * the credentials and stores what it serves for that tenant only.
 */
public record PrivateIndex(IndexRef ref, String tenant) {
  public static final String EXTRA_INDEX_VARIABLE = "PIP_EXTRA_INDEX_URL";
  public static final String NOT_CONFIGURED = RequirementIndexOptions.CODE;

  /**
   * The private index the build names (in {@code PIP_EXTRA_INDEX_URL} or an index option of its
   * requirement files), if any. Any index, links page or trusted host that is not one of the
   * tenant's configured indexes fails the build with {@value #NOT_CONFIGURED}, before anything is
   * looked up or installed, so a cached layer can never hide a refused option.
   *
   * @param files the app's install inputs, paths relative to its source directory
   */
  public static Optional<PrivateIndex> of(BuildTask task, Map<String, byte[]> files)
      throws StepFailure {
    RequirementIndexOptions.Result options =
        RequirementIndexOptions.checkInputs(
            files,
            task.buildTimeEnv(),
            task.indexes().stream()
                .map(ref -> new RequirementIndexOptions.AllowedIndex(ref.name(), ref.url()))
                .toList());
    try {
      options.requireAllowed();
    } catch (InstallerException e) {
      throw new StepFailure(e.code(), e.getMessage(), e);
    }
    List<String> used = options.indexesUsed();
    if (used.isEmpty()) {
      return Optional.empty();
    }
    if (used.size() > 1) {
      throw new StepFailure(
          NOT_CONFIGURED,
          "The app names "
              + used.size()
              + " of the tenant's private indexes ("
              + String.join(", ", used)
              + "); Kiln proxies one private index per build. Keep one, and publish the packages"
              + " of the others to it.");
    }
    IndexRef ref =
        task.indexes().stream().filter(r -> r.name().equals(used.get(0))).findFirst().orElseThrow();
    return Optional.of(new PrivateIndex(ref, task.tenant()));
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
}
