package dev.kiln.installer;

import java.util.List;

/** Every stable code the install engine produces. Codes never change meaning. */
public final class Codes {
  private Codes() {}

  // uv.lock (with pyproject.toml)
  /** uv.lock or pyproject.toml is not TOML, or uv.lock lacks what every uv.lock has. */
  public static final String UV_LOCK_INVALID = "uv-lock::invalid";

  /** uv.lock's {@code version} is not one this reader knows (it reads version 1). */
  public static final String UV_LOCK_UNSUPPORTED_VERSION = "uv-lock::unsupported-version";

  /** uv.lock no longer matches pyproject.toml; {@code uv sync --locked} refuses it. */
  public static final String UV_LOCK_STALE = "uv-lock::stale";

  /** The target Python is outside the project's {@code requires-python}. */
  public static final String UV_LOCK_PYTHON_INCOMPATIBLE = "uv-lock::python-incompatible";

  /** A package to install comes from git, a URL or a local archive; not supported yet. */
  public static final String UV_LOCK_UNSUPPORTED_SOURCE = "uv-lock::unsupported-source";

  // poetry.lock (with pyproject.toml)
  /** poetry.lock or pyproject.toml is not TOML, or poetry.lock lacks what every lock has. */
  public static final String POETRY_LOCK_INVALID = "poetry-lock::invalid";

  /** poetry.lock's {@code lock-version} is not one this reader knows (1.1, 2.0, 2.1). */
  public static final String POETRY_LOCK_UNSUPPORTED_VERSION = "poetry-lock::unsupported-version";

  /** poetry.lock's {@code content-hash} does not match pyproject.toml. */
  public static final String POETRY_LOCK_STALE = "poetry-lock::stale";

  /** The target Python is outside the project's Python constraint. */
  public static final String POETRY_LOCK_PYTHON_INCOMPATIBLE = "poetry-lock::python-incompatible";

  /** A package to install comes from git, a URL or a local archive; not supported yet. */
  public static final String POETRY_LOCK_UNSUPPORTED_SOURCE = "poetry-lock::unsupported-source";

  /** Every code above, for documentation checks. */
  public static final List<String> ALL =
      List.of(
          UV_LOCK_INVALID,
          UV_LOCK_UNSUPPORTED_VERSION,
          UV_LOCK_STALE,
          UV_LOCK_PYTHON_INCOMPATIBLE,
          UV_LOCK_UNSUPPORTED_SOURCE,
          POETRY_LOCK_INVALID,
          POETRY_LOCK_UNSUPPORTED_VERSION,
          POETRY_LOCK_STALE,
          POETRY_LOCK_PYTHON_INCOMPATIBLE,
          POETRY_LOCK_UNSUPPORTED_SOURCE);
}
