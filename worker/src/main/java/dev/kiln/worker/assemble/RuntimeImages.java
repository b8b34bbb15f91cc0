package dev.kiln.worker.assemble;

import dev.kiln.worker.steps.StepFailure;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * The runtime base image for an exact Python version, looked up in the runtime catalog.
 *
 * <p>The catalog is passed as a function (e.g. {@code RuntimeCatalog::imageFor}) so this package
 * does not care where the catalog's data comes from.
 */
public final class RuntimeImages {
  /** Failure code when the catalog has no usable image for the build's Python. */
  public static final String BASE_IMAGE_UNAVAILABLE = "assemble::base-image-unavailable";

  private static final String CATALOG_FILE =
      "the runtime catalog (the JSON file given with --runtime-catalog or KILN_RUNTIME_CATALOG; "
          + "image references are tar:/abs/path.tar, docker:name:tag or registry:host[:port]/repo:tag;"
          + " see docs/images.md)";

  private final Function<String, Optional<String>> catalog;

  /**
   * @param catalog exact Python version (e.g. {@code 3.12.7}) → image reference, if it has one
   */
  public RuntimeImages(Function<String, Optional<String>> catalog) {
    this.catalog = Objects.requireNonNull(catalog, "catalog");
  }

  /**
   * The base image for {@code pythonVersion}.
   *
   * @throws StepFailure {@link #BASE_IMAGE_UNAVAILABLE} when the catalog has no entry, the entry is
   *     not a valid reference, or it names a tarball that is not there
   */
  public RuntimeImageReference forPython(String pythonVersion) throws StepFailure {
    if (pythonVersion == null || pythonVersion.isBlank()) {
      throw new StepFailure(
          BASE_IMAGE_UNAVAILABLE,
          "The build plan names no Python version, so no runtime image can be chosen. This is a "
              + "bug in the DETECT step; rebuild, and report it if it happens again.");
    }
    Optional<String> entry = catalog.apply(pythonVersion);
    if (entry.isEmpty()) {
      throw new StepFailure(
          BASE_IMAGE_UNAVAILABLE,
          "The runtime catalog has no image for Python "
              + pythonVersion
              + ". Add that version to "
              + CATALOG_FILE
              + ", or choose a Python version the catalog has in .python-version.");
    }
    RuntimeImageReference reference;
    try {
      reference = RuntimeImageReference.parse(entry.get());
    } catch (IllegalArgumentException e) {
      throw new StepFailure(
          BASE_IMAGE_UNAVAILABLE,
          "The runtime catalog entry for Python "
              + pythonVersion
              + " is not usable: "
              + e.getMessage()
              + ". Fix the entry in "
              + CATALOG_FILE
              + ".",
          e);
    }
    if (!reference.available()) {
      throw unavailable(reference, pythonVersion, "the file does not exist on this worker");
    }
    return reference;
  }

  /** The failure for a catalog image that could not be read when the build needed it. */
  static StepFailure unavailable(
      RuntimeImageReference reference, String pythonVersion, String reason) {
    return new StepFailure(
        BASE_IMAGE_UNAVAILABLE,
        "The runtime image for Python "
            + pythonVersion
            + ", "
            + reference
            + ", could not be read: "
            + reason
            + ". Make it available to the worker (push it to that registry, load it into"
            + " the Docker daemon, or create the tarball), or point the catalog entry for "
            + pythonVersion
            + " at an image that exists, in "
            + CATALOG_FILE
            + ".");
  }
}
