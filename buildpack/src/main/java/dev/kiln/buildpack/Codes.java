package dev.kiln.buildpack;

import java.util.List;

/**
 * Every stable code the buildpack rules produce. Codes never change meaning; new ones may be added.
 * {@code docs/buildpack.md} explains each one with an example that triggers it.
 */
public final class Codes {
  private Codes() {}

  // Source tree safety
  public static final String SOURCE_UNREADABLE = "source::unreadable";
  public static final String SOURCE_SYMLINK_OUTSIDE = "source::symlink-outside-repository";
  public static final String SOURCE_BROKEN_SYMLINK = "source::broken-symlink";
  public static final String SOURCE_FILE_TOO_LARGE = "source::file-too-large";
  public static final String SOURCE_HEROKU_PYTHON_DIR = "source::heroku-python-dir";
  public static final String SOURCE_VENV_DIR = "source::venv-dir";
  public static final String BUILDPACK_UNKNOWN_LEVEL = "buildpack::unknown-level";

  // §1 source directory
  public static final String SOURCE_DIR_OUTSIDE = "source-dir::outside-repository";
  public static final String SOURCE_DIR_NOT_FOUND = "source-dir::not-found";

  // §0 Dockerfile
  public static final String DOCKERFILE_OUTSIDE = "dockerfile::outside-repository";
  public static final String DOCKERFILE_NOT_FOUND = "dockerfile::not-found";
  public static final String DOCKERFILE_NO_BUILDER = "dockerfile::no-builder";

  // §1 detection
  public static final String DETECT_NO_PYTHON_FILES = "detect::no-python-files";

  // §3 package manager
  public static final String PM_NONE_FOUND = "package-manager::none-found";
  public static final String PM_MULTIPLE_FOUND = "package-manager::multiple-found";
  public static final String PM_PIPENV_MISSING_LOCKFILE =
      "package-manager::pipenv-missing-lockfile";
  public static final String PM_SETUP_PY_ONLY = "package-manager::setup-py-only";
  public static final String PM_MISSING_PYPROJECT = "package-manager::missing-pyproject";
  public static final String PM_PYLOCK_AMBIGUOUS = "package-manager::pylock-ambiguous";
  public static final String REQUIREMENTS_LOCAL_PROJECT_NOT_FOUND =
      "requirements::local-project-not-found";
  public static final String REQUIREMENTS_INCLUDE_NOT_FOUND = "requirements::include-not-found";
  public static final String REQUIREMENTS_INCLUDE_OUTSIDE =
      "requirements::include-outside-repository";

  // §2 Python version
  public static final String RUNTIME_TXT_INVALID_VERSION = "runtime-txt::invalid-version";
  public static final String RUNTIME_TXT_DEPRECATED = "runtime-txt::deprecated";
  public static final String RUNTIME_TXT_NOT_SUPPORTED = "runtime-txt::not-supported";
  public static final String PYTHON_VERSION_FILE_NO_VERSION = "python-version-file::no-version";
  public static final String PYTHON_VERSION_FILE_MULTIPLE =
      "python-version-file::multiple-versions";
  public static final String PYTHON_VERSION_FILE_INVALID = "python-version-file::invalid-version";
  public static final String PYTHON_VERSION_FILE_NOT_FOUND = "python-version-file::not-found";
  public static final String PYTHON_VERSION_FILE_MISSPELLED = "python-version-file::misspelled";
  public static final String PYTHON_VERSION_FILE_ENCODING =
      "python-version-file::unsupported-encoding";
  public static final String PIPFILE_LOCK_INVALID_JSON = "pipfile-lock::invalid-json";
  public static final String PIPFILE_LOCK_INVALID_VERSION = "pipfile-lock::invalid-version";
  public static final String PYTHON_VERSION_EOL = "python-version::eol";
  public static final String PYTHON_VERSION_UNKNOWN_MAJOR = "python-version::unknown-major";
  public static final String PYTHON_VERSION_NOT_AVAILABLE = "python-version::not-available";

  /** A version the chosen level knows, for which the farm has no runtime image. */
  public static final String PYTHON_VERSION_NOT_ON_FARM = "python-version::not-on-farm";

  public static final String PYTHON_VERSION_UNSPECIFIED = "python-version::unspecified";
  public static final String PYTHON_VERSION_DEPRECATED = "python-version::deprecated";
  public static final String PYTHON_VERSION_OUTDATED = "python-version::outdated";
  public static final String PYTHON_VERSION_REQUIRES_PYTHON_CONFLICT =
      "python-version::requires-python-conflict";

  // §6 run command
  public static final String RUN_COMMAND_NOT_FOUND = "run-command::not-found";
  public static final String PROCFILE_NO_WEB_PROCESS = "procfile::no-web-process";

  // §5 build steps (decided after the install; the worker runs them)
  public static final String NLTK_NO_NLTK_TXT = "nltk::no-nltk-txt";
  public static final String NLTK_INVALID_CORPUS_NAME = "nltk::invalid-corpus-name";
  public static final String COLLECTSTATIC_DISABLED_FILE_DEPRECATED =
      "collectstatic::disabled-file-deprecated";

  // Inputs given to the farm rather than found in the source
  public static final String APP_SPEC_INVALID = "app-spec::invalid";
  public static final String APP_SPEC_COMPONENT_NOT_FOUND = "app-spec::component-not-found";
  public static final String RUNTIME_CATALOG_INVALID = "runtime-catalog::invalid";
  public static final String RUNTIME_CATALOG_UNREADABLE = "runtime-catalog::unreadable";

  /** Codes a plan can carry as its failure. */
  public static final List<String> PLAN_FAILURES =
      List.of(
          SOURCE_UNREADABLE,
          SOURCE_SYMLINK_OUTSIDE,
          SOURCE_BROKEN_SYMLINK,
          SOURCE_FILE_TOO_LARGE,
          SOURCE_HEROKU_PYTHON_DIR,
          SOURCE_VENV_DIR,
          SOURCE_DIR_OUTSIDE,
          SOURCE_DIR_NOT_FOUND,
          DOCKERFILE_OUTSIDE,
          DOCKERFILE_NOT_FOUND,
          DOCKERFILE_NO_BUILDER,
          DETECT_NO_PYTHON_FILES,
          PM_NONE_FOUND,
          PM_MULTIPLE_FOUND,
          PM_PIPENV_MISSING_LOCKFILE,
          PM_SETUP_PY_ONLY,
          PM_MISSING_PYPROJECT,
          PM_PYLOCK_AMBIGUOUS,
          REQUIREMENTS_LOCAL_PROJECT_NOT_FOUND,
          REQUIREMENTS_INCLUDE_NOT_FOUND,
          REQUIREMENTS_INCLUDE_OUTSIDE,
          RUNTIME_TXT_INVALID_VERSION,
          RUNTIME_TXT_NOT_SUPPORTED,
          PYTHON_VERSION_FILE_NO_VERSION,
          PYTHON_VERSION_FILE_MULTIPLE,
          PYTHON_VERSION_FILE_INVALID,
          PYTHON_VERSION_FILE_NOT_FOUND,
          PYTHON_VERSION_FILE_MISSPELLED,
          PYTHON_VERSION_FILE_ENCODING,
          PIPFILE_LOCK_INVALID_JSON,
          PIPFILE_LOCK_INVALID_VERSION,
          PYTHON_VERSION_EOL,
          PYTHON_VERSION_UNKNOWN_MAJOR,
          PYTHON_VERSION_NOT_AVAILABLE,
          PYTHON_VERSION_NOT_ON_FARM,
          PYTHON_VERSION_REQUIRES_PYTHON_CONFLICT,
          RUN_COMMAND_NOT_FOUND);

  /** Codes a plan can carry as a warning. */
  public static final List<String> PLAN_WARNINGS =
      List.of(
          SOURCE_HEROKU_PYTHON_DIR,
          SOURCE_VENV_DIR,
          RUNTIME_TXT_DEPRECATED,
          PM_MULTIPLE_FOUND,
          PM_PIPENV_MISSING_LOCKFILE,
          PM_SETUP_PY_ONLY,
          PYTHON_VERSION_UNSPECIFIED,
          PYTHON_VERSION_DEPRECATED,
          PYTHON_VERSION_OUTDATED,
          PROCFILE_NO_WEB_PROCESS);
}
