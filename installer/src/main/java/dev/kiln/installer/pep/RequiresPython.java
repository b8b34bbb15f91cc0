package dev.kiln.installer.pep;

import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.TargetEnvironment;
import java.util.Objects;

/**
 * A distribution's {@code Requires-Python} (core metadata, an index's {@code data-requires-python},
 * a lock's or {@code pyproject.toml}'s {@code requires-python}), checked against the target's exact
 * interpreter version as pip checks it: pre-releases count, so {@code >=3.12} admits {@code
 * 3.13.0rc1}.
 */
public final class RequiresPython {
  private final VersionSpecifier specifier;

  private RequiresPython(VersionSpecifier specifier) {
    this.specifier = specifier;
  }

  /**
   * Reads a {@code Requires-Python} value; blank means any Python.
   *
   * @throws IllegalArgumentException when it is not a version specifier set
   */
  public static RequiresPython parse(String value) {
    Objects.requireNonNull(value, "value");
    try {
      return new RequiresPython(VersionSpecifier.parse(value));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "Requires-Python '" + PythonStrings.quote(value) + "' is not valid: " + e.getMessage(),
          e);
    }
  }

  public VersionSpecifier specifier() {
    return specifier;
  }

  /** Whether {@code python} (the full version, such as 3.12.7) is admitted. */
  public boolean admits(Pep440Version python) {
    return specifier.contains(python, true);
  }

  /** Whether the target's interpreter is admitted. */
  public boolean admits(TargetEnvironment target) {
    return admits(Pep440Version.of(target.pythonVersion()));
  }

  /**
   * Fails unless the target's interpreter is admitted.
   *
   * @param what the distribution and version that requires it ({@code flask 3.1.0}), for the
   *     message
   * @throws InstallerException {@link Codes#REQUIRES_PYTHON} saying what requires which Python and
   *     what to change
   */
  public void check(String what, TargetEnvironment target) throws InstallerException {
    if (!admits(target)) {
      throw new InstallerException(
          Codes.REQUIRES_PYTHON,
          what
              + " requires Python "
              + specifier
              + " (Requires-Python), but the runtime is CPython "
              + target.pythonVersion()
              + ". Choose a runtime Python that satisfies "
              + specifier
              + ", or lock a version of "
              + what.split(" ", 2)[0]
              + " that supports Python "
              + target.pythonMinor()
              + ".");
    }
  }

  /** Reads {@code value} and checks the target against it in one step. */
  public static void check(String value, String what, TargetEnvironment target)
      throws InstallerException {
    parse(value).check(what, target);
  }

  @Override
  public String toString() {
    return specifier.toString();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RequiresPython other && specifier.equals(other.specifier);
  }

  @Override
  public int hashCode() {
    return specifier.hashCode();
  }
}
