package dev.kiln.buildpack;

/**
 * The Python version of a plan.
 *
 * @param version the exact version to install ({@code X.Y.Z}); null when the requested version
 *     could not be resolved (the plan then carries the error)
 * @param requested what the source asked for, as written ({@code 3.12}, {@code 3.12.7})
 * @param origin where the request came from: {@code runtime.txt}, {@code .python-version}, {@code
 *     Pipfile.lock}, {@code previous-build} or {@code default}
 */
public record PythonSelection(String version, String requested, String origin) {
  public static final String ORIGIN_RUNTIME_TXT = "runtime.txt";
  public static final String ORIGIN_PYTHON_VERSION_FILE = ".python-version";
  public static final String ORIGIN_PIPFILE_LOCK = "Pipfile.lock";
  public static final String ORIGIN_PREVIOUS_BUILD = "previous-build";
  public static final String ORIGIN_DEFAULT = "default";

  /** True when the version came from a file in the app rather than from the farm. */
  public boolean explicit() {
    return !ORIGIN_PREVIOUS_BUILD.equals(origin) && !ORIGIN_DEFAULT.equals(origin);
  }
}
