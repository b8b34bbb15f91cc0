package dev.kiln.buildpack;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Kiln's own fixture suite for the behaviour levels: one tree per fixture app of the classic Python
 * buildpack's test suite ({@code spec/fixtures} of heroku/heroku-buildpack-python at v351) whose
 * outcome a planner can decide from the files, rebuilt here from the facts that matter (file names,
 * versions, the contents that decide the outcome), each with the outcome that buildpack's own specs
 * expect at v351 and at v289, citing the spec ({@code spec/hatchet/…}).
 *
 * <p>Every tree also gets a Procfile: App Platform (unlike Heroku's build) needs a run command, and
 * it plays no part in anything the fixtures exercise. Fixtures whose outcome comes from running
 * something (Django, hooks, pip or uv's own lock checks, downloads) are listed in docs/buildpack.md
 * and not here.
 */
class ClassicBuildpackFixturesTest {
  @TempDir Path temp;

  /**
   * What a level's build of a fixture ends with: a Python version and package manager, or a code.
   */
  record Expect(String python, String packageManager, String failure) {
    static Expect ok(String python, String packageManager) {
      return new Expect(python, packageManager, null);
    }

    static Expect fails(String code) {
      return new Expect(null, null, code);
    }

    @Override
    public String toString() {
      return failure == null ? python + " with " + packageManager : "fails " + failure;
    }
  }

  record Fixture(String name, String spec, Map<String, String> files, Expect at351, Expect at289) {
    @Override
    public String toString() {
      return name;
    }
  }

  private static final String PIPFILE_LOCK_314 =
      "{\"_meta\": {\"requires\": {\"python_version\": \"3.14\"}, \"pipfile-spec\": 6},"
          + " \"default\": {}, \"develop\": {}}";
  private static final String PYPROJECT_314 =
      "[project]\nname = \"app\"\nversion = \"0\"\nrequires-python = \">=3.14\"\ndependencies ="
          + " [\"typing-extensions\"]\n";
  private static final String UNKNOWN = Codes.PYTHON_VERSION_UNKNOWN_MAJOR;
  private static final String EOL = Codes.PYTHON_VERSION_EOL;

  static Stream<Fixture> fixtures() {
    return Stream.of(
        fixture(
            "python_3.10",
            "python_version_spec.rb: when .python-version contains Python 3.10",
            files(
                ".python-version",
                "# Comments are supported\n3.10\n",
                "requirements.txt",
                "typing-extensions==4.15.0\n"),
            Expect.ok("3.10.21", "pip"),
            Expect.ok("3.10.18", "pip")),
        fixture(
            "python_3.11",
            "python_version_spec.rb: when .python-version contains Python 3.11",
            files(
                ".python-version",
                "# Comments are supported\n3.11\n",
                "requirements.txt",
                "typing-extensions==4.15.0\n"),
            Expect.ok("3.11.16", "pip"),
            Expect.ok("3.11.13", "pip")),
        fixture(
            "python_3.12",
            "python_version_spec.rb: when .python-version contains Python 3.12",
            files(
                ".python-version",
                "# Comments are supported\n3.12\n",
                "requirements.txt",
                "typing-extensions==4.15.0\n"),
            Expect.ok("3.12.14", "pip"),
            Expect.ok("3.12.11", "pip")),
        fixture(
            "python_3.13",
            "python_version_spec.rb: when .python-version contains Python 3.13",
            files(
                ".python-version",
                "# Comments are supported\n3.13\n",
                "requirements.txt",
                "typing-extensions==4.15.0\n"),
            Expect.ok("3.13.15", "pip"),
            Expect.ok("3.13.5", "pip")),
        fixture(
            "python_3.14",
            "python_version_spec.rb: when .python-version contains Python 3.14 (v289: 3.14 is newer than its newest minor, 3.13)",
            files(
                ".python-version",
                "# Comments are supported\n3.14\n",
                "requirements.txt",
                "typing-extensions==4.15.0\n"),
            Expect.ok("3.14.7", "pip"),
            Expect.fails(UNKNOWN)),
        fixture(
            "python_version_unspecified",
            "python_version_spec.rb: when no Python version is specified, with a new app",
            files("requirements.txt", "typing-extensions==4.15.0\n"),
            Expect.ok("3.14.7", "pip"),
            Expect.ok("3.13.5", "pip")),
        fixture(
            "python_version_outdated",
            "python_version_spec.rb: when .python-version contains an outdated Python patch version",
            files(".python-version", "3.14.0\n", "requirements.txt", ""),
            Expect.ok("3.14.0", "pip"),
            Expect.fails(UNKNOWN)),
        fixture(
            "python_version_eol",
            "python_version_spec.rb: when .python-version contains an EOL Python 3.x version (3.9 is still supported at v289)",
            files(
                ".python-version",
                "# Comment\n  # Indented comment\n\n   \n  3.9  \n",
                "requirements.txt",
                ""),
            Expect.fails(EOL),
            Expect.ok("3.9.23", "pip")),
        fixture(
            "python_version_file_unsupported_encoding",
            "python_version_spec.rb: when .python-version is saved using an unsupported file encoding"
                + " (v289 reads the byte-order-marked comment as a second version)",
            files(".python-version", "\uFEFF# A comment\r\n3.12\r\n", "requirements.txt", ""),
            Expect.fails(Codes.PYTHON_VERSION_FILE_ENCODING),
            Expect.fails(Codes.PYTHON_VERSION_FILE_MULTIPLE)),
        fixture(
            "python_version_file_invalid_version",
            "python_version_spec.rb: when .python-version contains an invalid Python version string",
            files(
                ".python-version",
                "# Comment\r\n\t# Indented comment\r\n# 2.7.18\r\n\u200Bpython -\t\u00A0 3.12.0\u001B[0m\r\n",
                "requirements.txt",
                ""),
            Expect.fails(Codes.PYTHON_VERSION_FILE_INVALID),
            Expect.fails(Codes.PYTHON_VERSION_FILE_INVALID)),
        fixture(
            "python_version_non_existent_major",
            "python_version_spec.rb: when .python-version contains a non-existent Python major version",
            files(".python-version", "3.999\n", "requirements.txt", ""),
            Expect.fails(UNKNOWN),
            Expect.fails(UNKNOWN)),
        fixture(
            "python_version_file_no_version",
            "python_version_spec.rb: when .python-version does not contain a Python version",
            files(".python-version", "", "requirements.txt", ""),
            Expect.fails(Codes.PYTHON_VERSION_FILE_NO_VERSION),
            Expect.fails(Codes.PYTHON_VERSION_FILE_NO_VERSION)),
        fixture(
            "python_version_file_multiple_versions",
            "python_version_spec.rb: when .python-version contains multiple Python versions",
            files(
                ".python-version",
                "# Valid comment\n3.12\n  \n  # Indented comment\n  2.7  \n",
                "requirements.txt",
                ""),
            Expect.fails(Codes.PYTHON_VERSION_FILE_MULTIPLE),
            Expect.fails(Codes.PYTHON_VERSION_FILE_MULTIPLE)),
        fixture(
            "python_version_file_misspelled",
            "python_version_spec.rb: when .python-version is misspelled (v289 has no such check: it reads .python-version, 3.14)",
            files(
                ".python-version",
                "3.14\n",
                ".python-version ",
                "# misspelled\n",
                "requirements.txt",
                ""),
            Expect.fails(Codes.PYTHON_VERSION_FILE_MISSPELLED),
            Expect.fails(UNKNOWN)),
        fixture(
            "runtime_txt_and_python_version_file",
            "python_version_spec.rb: when there is both a runtime.txt and .python-version file (comments in runtime.txt came in v318)",
            files(
                "runtime.txt", "# Comment\n  # Indented comment\n# 2.7.18\n  \n  python-3.13  \n",
                ".python-version", "# Comment\n3.9\n",
                "requirements.txt", ""),
            Expect.ok("3.13.15", "pip"),
            Expect.fails(Codes.RUNTIME_TXT_INVALID_VERSION)),
        fixture(
            "runtime_txt_eol_version",
            "python_version_spec.rb: when runtime.txt contains an EOL Python 2.x version",
            files("runtime.txt", "python-2.7.18\n", "requirements.txt", ""),
            Expect.fails(EOL),
            Expect.fails(EOL)),
        fixture(
            "pip_oldest_python",
            "pip_spec.rb: when using our oldest supported Python version",
            files(
                "runtime.txt",
                "python-3.10.0\n",
                "requirements.txt",
                "typing-extensions==4.15.0\n"),
            Expect.ok("3.10.0", "pip"),
            Expect.ok("3.10.0", "pip")),
        fixture(
            "pipenv_basic",
            "pipenv_spec.rb: with a Pipfile.lock that is unchanged since the last build",
            files(
                "Pipfile",
                "[packages]\ntyping-extensions = \"*\"\n\n[requires]\npython_version = \"3.14\"\n",
                "Pipfile.lock",
                PIPFILE_LOCK_314),
            Expect.ok("3.14.7", "pipenv"),
            Expect.fails(UNKNOWN)),
        fixture(
            "pipenv_no_lockfile",
            "pipenv_spec.rb: without a Pipfile.lock (v289: a warning, and the Pipfile's version is not read)",
            files(
                "Pipfile",
                "[packages]\ntyping-extensions = \"*\"\n\n[requires]\npython_version = \"3.14\"\n"),
            Expect.fails(Codes.PM_PIPENV_MISSING_LOCKFILE),
            Expect.ok("3.13.5", "pipenv")),
        fixture(
            "pipenv_python_full_version",
            "pipenv_spec.rb: with a Pipfile.lock containing python_full_version 3.10.0",
            files(
                "Pipfile",
                "[packages]\n",
                "Pipfile.lock",
                "{\"_meta\": {\"requires\": {\"python_full_version\": \"3.10.0\", \"python_version\":"
                    + " \"3.12\"}}, \"default\": {}, \"develop\": {}}"),
            Expect.ok("3.10.0", "pipenv"),
            Expect.ok("3.10.0", "pipenv")),
        fixture(
            "pipenv_python_version_eol",
            "pipenv_spec.rb: with a Pipfile.lock containing an EOL python_version",
            files(
                "Pipfile",
                "[packages]\n",
                "Pipfile.lock",
                "{\"_meta\": {\"requires\": {\"python_version\": \"3.8\"}}, \"default\": {},"
                    + " \"develop\": {}}"),
            Expect.fails(EOL),
            Expect.fails(EOL)),
        fixture(
            "pipenv_python_version_invalid",
            "pipenv_spec.rb: with a Pipfile.lock containing an invalid python_version",
            files(
                "Pipfile",
                "[packages]\n",
                "Pipfile.lock",
                "{\"_meta\": {\"requires\": {\"python_version\": \"^3.12\"}}, \"default\": {},"
                    + " \"develop\": {}}"),
            Expect.fails(Codes.PIPFILE_LOCK_INVALID_VERSION),
            Expect.fails(Codes.PIPFILE_LOCK_INVALID_VERSION)),
        fixture(
            "pipenv_lockfile_invalid_json",
            "pipenv_spec.rb: with a Pipfile.lock containing invalid JSON",
            files(
                "Pipfile",
                "[requires]\npython_version = \"3.12\"\n",
                "Pipfile.lock",
                "INVALID JSON\n"),
            Expect.fails(Codes.PIPFILE_LOCK_INVALID_JSON),
            Expect.fails(Codes.PIPFILE_LOCK_INVALID_JSON)),
        fixture(
            "pipenv_python_version_unspecified",
            "pipenv_spec.rb: with a Pipfile.lock but no Python version specified",
            files(
                "Pipfile",
                "[packages]\n",
                "Pipfile.lock",
                "{\"_meta\": {\"requires\": {}}, \"default\": {}, \"develop\": {}}"),
            Expect.ok("3.14.7", "pipenv"),
            Expect.ok("3.13.5", "pipenv")),
        fixture(
            "setup_py_only",
            "package_manager_spec.rb: when there is only a setup.py (v289 falls back to pip silently, then 3.14 is unknown)",
            files("setup.py", "", ".python-version", "3.14\n"),
            Expect.fails(Codes.PM_SETUP_PY_ONLY),
            Expect.fails(UNKNOWN)),
        fixture(
            "no_python_project_files",
            "detect_spec.rb: when there are no recognised Python project files",
            files(".example-dotfile", "", "README.md", "# Hello\n", "subdir/some-file", ""),
            Expect.fails(Codes.DETECT_NO_PYTHON_FILES),
            Expect.fails(Codes.DETECT_NO_PYTHON_FILES)),
        fixture(
            "python_in_app_source",
            "checks_spec.rb: when the app source contains a broken Python install (v289: a warning)",
            files(
                ".heroku/python/bin/python",
                "#!/bin/sh\n",
                ".python-version",
                "3.14\n",
                "requirements.txt",
                ""),
            Expect.fails(Codes.SOURCE_HEROKU_PYTHON_DIR),
            Expect.fails(UNKNOWN)),
        fixture(
            "venv_in_app_source",
            "checks_spec.rb: when the app source contains a venv directory (v289 has no such check)",
            files(
                ".venv/bin/python", "#!/bin/sh\n",
                ".venv/pyvenv.cfg", "home = /usr/bin\n",
                ".python-version", "3.14\n",
                "requirements.txt", ""),
            Expect.fails(Codes.SOURCE_VENV_DIR),
            Expect.fails(UNKNOWN)),
        fixture(
            "uv_basic",
            "uv_spec.rb: with a uv.lock",
            files(
                ".python-version",
                "3.14\n",
                "pyproject.toml",
                PYPROJECT_314,
                "uv.lock",
                "version = 1\nrequires-python = \">=3.14\"\n"),
            Expect.ok("3.14.7", "uv"),
            Expect.fails(UNKNOWN)),
        fixture(
            "uv_oldest_python",
            "uv_spec.rb: when using our oldest supported Python version",
            files(
                ".python-version", "3.10.0\n",
                "pyproject.toml",
                    "[project]\nname = \"app\"\nversion = \"0\"\nrequires-python = \"==3.10.*\"\n",
                "uv.lock", "version = 1\nrequires-python = \"==3.10.*\"\n"),
            Expect.ok("3.10.0", "uv"),
            Expect.ok("3.10.0", "uv")),
        fixture(
            "uv_runtime_txt",
            "uv_spec.rb: when there is a runtime.txt file",
            files(
                "runtime.txt", "python-3.11\n",
                ".python-version", "3.12\n",
                "pyproject.toml",
                    "[project]\nname = \"app\"\nversion = \"0\"\nrequires-python = \"==3.12.*\"\n",
                "uv.lock", "version = 1\nrequires-python = \"==3.12.*\"\n"),
            Expect.fails(Codes.RUNTIME_TXT_NOT_SUPPORTED),
            Expect.fails(Codes.RUNTIME_TXT_NOT_SUPPORTED)),
        fixture(
            "uv_no_python_version_file",
            "uv_spec.rb: when there is no .python-version file",
            files(
                "pyproject.toml",
                    "[project]\nname = \"app\"\nversion = \"0\"\nrequires-python = \"==3.12.*\"\n",
                "uv.lock", "version = 1\nrequires-python = \"==3.12.*\"\n"),
            Expect.fails(Codes.PYTHON_VERSION_FILE_NOT_FOUND),
            Expect.fails(Codes.PYTHON_VERSION_FILE_NOT_FOUND)),
        fixture(
            "poetry_basic",
            "poetry_spec.rb: with a poetry.lock",
            files(
                ".python-version", "3.14\n",
                "pyproject.toml", PYPROJECT_314 + "\n[tool.poetry]\npackage-mode = false\n",
                "poetry.lock",
                    "[metadata]\nlock-version = \"2.1\"\npython-versions = \">=3.14\"\n"),
            Expect.ok("3.14.7", "poetry"),
            Expect.fails(UNKNOWN)),
        fixture(
            "poetry_oldest_python",
            "poetry_spec.rb: when using our oldest supported Python version",
            files(
                ".python-version", "3.10.0\n",
                "pyproject.toml",
                    "[tool.poetry]\npackage-mode = false\n\n[tool.poetry.dependencies]\npython = \"^3.10\"\n",
                "poetry.lock", "[metadata]\nlock-version = \"2.1\"\npython-versions = \"^3.10\"\n"),
            Expect.ok("3.10.0", "poetry"),
            Expect.ok("3.10.0", "poetry")));
  }

  @ParameterizedTest(name = "{0} at v351: {3}")
  @MethodSource("fixtures")
  void atLevel351(Fixture fixture) throws Exception {
    assertOutcome(fixture, 351, fixture.at351());
  }

  @ParameterizedTest(name = "{0} at v289: {4}")
  @MethodSource("fixtures")
  void atLevel289(Fixture fixture) throws Exception {
    assertOutcome(fixture, 289, fixture.at289());
  }

  private void assertOutcome(Fixture fixture, int version, Expect expected) throws Exception {
    Path app = temp.resolve(fixture.name());
    Files.createDirectories(app);
    Map<String, String> files = new LinkedHashMap<>(fixture.files());
    files.putIfAbsent("Procfile", "web: python app.py\n");
    for (Map.Entry<String, String> file : files.entrySet()) {
      Path path = app.resolve(file.getKey());
      Files.createDirectories(path.getParent());
      Files.writeString(path, file.getValue());
    }
    BuildpackLevel level = BuildpackLevel.of(version);

    PlanResult plan =
        new BuildPlanner(level.catalog()).plan(app, BuildInputs.builder().level(level).build());

    String log = String.join("\n", plan.logLines());
    if (expected.failure() != null) {
      assertThat(plan.error())
          .as("%s at v%d (%s):\n%s", fixture.name(), version, fixture.spec(), log)
          .hasValueSatisfying(error -> assertThat(error.code()).isEqualTo(expected.failure()));
    } else {
      assertThat(plan.succeeded())
          .as("%s at v%d (%s):\n%s", fixture.name(), version, fixture.spec(), log)
          .isTrue();
      assertThat(plan.python().version()).as(log).isEqualTo(expected.python());
      assertThat(plan.packageManager()).as(log).isEqualTo(expected.packageManager());
    }
  }

  private static Fixture fixture(
      String name, String spec, Map<String, String> files, Expect at351, Expect at289) {
    return new Fixture(name, spec, files, at351, at289);
  }

  private static Map<String, String> files(String... namesAndContents) {
    Map<String, String> files = new LinkedHashMap<>();
    for (int i = 0; i < namesAndContents.length; i += 2) {
      files.put(namesAndContents[i], namesAndContents[i + 1]);
    }
    return files;
  }

  static List<String> names() {
    return fixtures().map(Fixture::name).toList();
  }
}
