package dev.kiln.installer;

import java.util.List;

/** Every stable code the install engine produces. Codes never change meaning. */
public final class Codes {
  /**
   * No file of a locked distribution fits the target: no wheel for its Python, glibc or machine, no
   * sdist, or none with a hash the lock allows. The message lists every file and why it does not
   * fit.
   */
  public static final String NO_COMPATIBLE_FILE = "install::no-compatible-file";

  /** A distribution's Requires-Python does not admit the runtime's Python. */
  public static final String REQUIRES_PYTHON = "install::requires-python";

  /** A wheel's bytes (or size) are not what the lock or the index promised for that file. */
  public static final String HASH_MISMATCH = "install::hash-mismatch";

  /**
   * A file in a wheel differs from its RECORD line (hash or size), is missing from RECORD, or
   * RECORD names no hash or a weak one.
   */
  public static final String RECORD_MISMATCH = "install::record-mismatch";

  /**
   * A wheel would write outside the dependency root or over files that are not its own (absolute or
   * {@code ..} paths, symlinks, unknown {@code .data} schemes, a foreign {@code .dist-info},
   * duplicate entries, overlapping compressed data), or has more entries than allowed.
   */
  public static final String UNSAFE_WHEEL = "install::unsafe-wheel";

  /**
   * A wheel would unpack to more than the worker allows: a file or the whole wheel over its size
   * limit, a compression ratio no real file reaches, or an entry that inflates to more than the zip
   * declares (a zip bomb). Checked on the declared sizes before anything is inflated and on the
   * bytes actually inflated; nothing is left behind.
   */
  public static final String DECOMPRESSION_LIMIT = "install::decompression-limit";

  /**
   * A file is not a wheel that can be installed: not a zip, a malformed file name, no {@code
   * .dist-info} with WHEEL, RECORD and METADATA, or an entry point pip would also refuse.
   */
  public static final String INVALID_WHEEL = "install::invalid-wheel";

  /** A wheel's {@code Wheel-Version} major is not 1, so its layout cannot be known. */
  public static final String UNSUPPORTED_WHEEL_VERSION = "install::unsupported-wheel-version";

  /**
   * Warning: a wheel's {@code Wheel-Version} is a newer 1.x than this engine knows; it is unpacked
   * as 1.0, as the binary distribution format asks.
   */
  public static final String NEWER_WHEEL_VERSION = "install::newer-wheel-version";

  /**
   * A layer fragment is not a tar this engine can concatenate (bad header checksum, an entry type
   * it never writes, data after the end-of-archive marker, truncated).
   */
  public static final String INVALID_FRAGMENT = "install::invalid-fragment";

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

  // Pipfile.lock (with Pipfile)
  /** Pipfile.lock is not JSON (the same code the buildpack rules use). */
  public static final String PIPFILE_LOCK_INVALID_JSON = "pipfile-lock::invalid-json";

  /** Pipfile.lock lacks what every lock has, or the Pipfile is not TOML or is missing. */
  public static final String PIPFILE_LOCK_INVALID = "pipfile-lock::invalid";

  /** Pipfile.lock's {@code _meta.pipfile-spec} is not one this reader knows (it reads 6). */
  public static final String PIPFILE_LOCK_UNSUPPORTED_VERSION = "pipfile-lock::unsupported-version";

  /** Pipfile.lock's {@code _meta.hash} does not match the Pipfile; {@code --deploy} refuses it. */
  public static final String PIPFILE_LOCK_STALE = "pipfile-lock::stale";

  /** An entry comes from git or a file URL, or is not pinned with {@code ==}; not supported yet. */
  public static final String PIPFILE_LOCK_UNSUPPORTED_SOURCE = "pipfile-lock::unsupported-source";

  // pylock.toml (PEP 751)
  /** The lock is not TOML or breaks PEP 751 (a package without a source, two sources, …). */
  public static final String PYLOCK_INVALID = "pylock::invalid";

  /** The lock's major {@code lock-version} is not 1. */
  public static final String PYLOCK_UNSUPPORTED_VERSION = "pylock::unsupported-version";

  /** The target is outside the lock's {@code requires-python} or a chosen package's. */
  public static final String PYLOCK_PYTHON_INCOMPATIBLE = "pylock::python-incompatible";

  /** None of the lock's {@code environments} markers applies to the target. */
  public static final String PYLOCK_ENVIRONMENT_MISMATCH = "pylock::environment-mismatch";

  /** Two entries of one package apply to the target. */
  public static final String PYLOCK_AMBIGUOUS_PACKAGE = "pylock::ambiguous-package";

  /** A package to install comes from git ({@code vcs}) or an {@code archive}; not supported yet. */
  public static final String PYLOCK_UNSUPPORTED_SOURCE = "pylock::unsupported-source";

  // requirements.txt with --hash pins
  /** A line Kiln cannot read as a requirement or a known option. */
  public static final String REQUIREMENTS_INVALID_LINE = "requirements::invalid-line";

  /** An option such as {@code --index-url} that would change Kiln's fixed package index. */
  public static final String REQUIREMENTS_UNSUPPORTED_OPTION = "requirements::unsupported-option";

  /**
   * A requirement file or the build environment names a package source of its own ({@code
   * --index-url}, {@code --extra-index-url}, {@code --find-links}, {@code --trusted-host}, {@code
   * --no-index}, a {@code -r} URL, {@code PIP_INDEX_URL}, …) that is not one of the tenant's
   * configured indexes: pip would bypass the cache-service.
   */
  public static final String REQUIREMENTS_INDEX_OPTION_NOT_ALLOWED =
      "requirements::index-option-not-allowed";

  /** A {@code -r}/{@code -c} file that does not exist (or is a URL or absolute path). */
  public static final String REQUIREMENTS_INCLUDE_NOT_FOUND = "requirements::include-not-found";

  /** Files that include each other in a loop. */
  public static final String REQUIREMENTS_INCLUDE_CYCLE = "requirements::include-cycle";

  /** Two pins of one package that cannot both hold. */
  public static final String REQUIREMENTS_CONFLICTING_PINS = "requirements::conflicting-pins";

  /**
   * A requirement names something Kiln cannot fetch from its index: a version-control checkout, a
   * URL, a directory outside the app's source.
   */
  public static final String UNSUPPORTED_REQUIREMENT = "install::unsupported-requirement";

  /** pip's resolution report could not be read (a fault of the worker's pip, not of the app). */
  public static final String RESOLUTION_UNREADABLE = "install::resolution-unreadable";

  /**
   * A CI build that pip must resolve (the app uses a private index) needs test groups that are not
   * PEP 735 {@code [dependency-groups]}, which is all pip can install.
   */
  public static final String CI_GROUPS_OUTSIDE_DEPENDENCY_GROUPS =
      "install::ci-groups-outside-dependency-groups";

  /** An unlocked Pipfile is not valid TOML or names something that is not a package. */
  public static final String PIPFILE_INVALID = "pipfile::invalid";

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
          POETRY_LOCK_UNSUPPORTED_SOURCE,
          PIPFILE_LOCK_INVALID_JSON,
          PIPFILE_LOCK_INVALID,
          PIPFILE_LOCK_UNSUPPORTED_VERSION,
          PIPFILE_LOCK_STALE,
          PIPFILE_LOCK_UNSUPPORTED_SOURCE,
          PYLOCK_INVALID,
          PYLOCK_UNSUPPORTED_VERSION,
          PYLOCK_PYTHON_INCOMPATIBLE,
          PYLOCK_ENVIRONMENT_MISMATCH,
          PYLOCK_AMBIGUOUS_PACKAGE,
          PYLOCK_UNSUPPORTED_SOURCE,
          REQUIREMENTS_INVALID_LINE,
          REQUIREMENTS_UNSUPPORTED_OPTION,
          REQUIREMENTS_INDEX_OPTION_NOT_ALLOWED,
          REQUIREMENTS_INCLUDE_NOT_FOUND,
          REQUIREMENTS_INCLUDE_CYCLE,
          REQUIREMENTS_CONFLICTING_PINS,
          NO_COMPATIBLE_FILE,
          REQUIRES_PYTHON,
          HASH_MISMATCH,
          RECORD_MISMATCH,
          UNSAFE_WHEEL,
          DECOMPRESSION_LIMIT,
          INVALID_WHEEL,
          UNSUPPORTED_WHEEL_VERSION,
          NEWER_WHEEL_VERSION,
          INVALID_FRAGMENT,
          UNSUPPORTED_REQUIREMENT,
          RESOLUTION_UNREADABLE,
          CI_GROUPS_OUTSIDE_DEPENDENCY_GROUPS,
          PIPFILE_INVALID);
}
