package dev.kiln.buildpack;

import java.nio.file.Path;
import java.util.Optional;

/**
 * What the app's own files require of Python ({@code requires-python} in {@code pyproject.toml} or
 * {@code uv.lock}, {@code python_version} in a {@code Pipfile}), checked against the version the
 * plan chose. The install engine reads those files and judges version specifiers; the planner only
 * asks, so it stays free of TOML and PEP 440.
 */
@FunctionalInterface
public interface PythonRequirements {
  /** Checks nothing. */
  PythonRequirements NONE = (sourceRoot, packageManager, python) -> Optional.empty();

  /**
   * The conflict between {@code python} (exact, such as 3.13.15) and what the files under {@code
   * sourceRoot} require for {@code packageManager}; empty when they agree or require nothing. A
   * file that cannot be read is not a conflict here: the install reports it.
   */
  Optional<Diagnostic> conflict(Path sourceRoot, String packageManager, String python);
}
