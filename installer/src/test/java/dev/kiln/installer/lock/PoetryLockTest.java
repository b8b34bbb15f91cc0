package dev.kiln.installer.lock;

import static dev.kiln.installer.lock.Fixtures.bytes;
import static dev.kiln.installer.lock.Fixtures.distribution;
import static dev.kiln.installer.lock.Fixtures.text;
import static dev.kiln.installer.lock.Fixtures.utf8;
import static dev.kiln.installer.lock.Fixtures.versions;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.installer.ArtifactFile;
import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.LocalProject;
import dev.kiln.installer.LockedSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real fixtures (copied unchanged; see each directory's SOURCE.txt):
 *
 * <ul>
 *   <li>poetry/django-training-worklogger: jezozobrado/django-training-worklogger @
 *       aad044e63bcc6a405d1d0a513427228b5bddcee0 (Poetry 1 pyproject, lock-version 2.0)
 *   <li>poetry/restful-apis-example: jfernandz/restful-apis-example @
 *       dda269bbad117eb43f434a4899c34fdeaaf1bcca (lock-version 1.1, [metadata.files], empty
 *       dev-dependencies table)
 *   <li>poetry/hello-world-cli: jfdelafuente/hello-world-cli @
 *       b15f9f21adeb635a13186aabb654e4717bcaa2bb (Poetry 1.7.0, lock 2.0, test and lint groups)
 *   <li>poetry/resume-roast: jfang324/resume-roast @ 9ae3c7409edd82f43706756d94a8be8c64382415
 *       (Poetry 2.3.4, [project] and [dependency-groups], lock 2.1 with groups and markers)
 * </ul>
 */
class PoetryLockTest {
  private static LockedSet read(String dir, String python) throws InstallerException {
    return PoetryLock.read(
        bytes("poetry/" + dir + "/poetry.lock"),
        bytes("poetry/" + dir + "/pyproject.toml"),
        FakeMarkers.linux(python),
        new FakePython(python));
  }

  private static LockedSet read(String dir, String lock, String pyproject, String python)
      throws InstallerException {
    return PoetryLock.read(
        utf8(lock), utf8(pyproject), FakeMarkers.linux(python), new FakePython(python));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "django-training-worklogger",
        "restful-apis-example",
        "hello-world-cli",
        "resume-roast"
      })
  void realLockHashEqualsTheHashComputedFromPyproject(String dir) throws Exception {
    var pyproject =
        Documents.toml(
            bytes("poetry/" + dir + "/pyproject.toml"),
            "pyproject.toml",
            Codes.POETRY_LOCK_INVALID,
            "");
    String lock = text("poetry/" + dir + "/poetry.lock");

    assertThat(lock)
        .contains("content-hash = \"" + PoetryContentHash.compute(pyproject, true) + "\"");
    assertThat(read(dir, "3.12.7").distributions()).isNotEmpty();
  }

  @Test
  void poetryOneProjectInstallsMainDependenciesAndItself() throws Exception {
    LockedSet set = read("django-training-worklogger", "3.11.9");

    assertThat(versions(set))
        .containsExactly(
            java.util.Map.entry("asgiref", "3.6.0"),
            java.util.Map.entry("django", "4.1.6"),
            java.util.Map.entry("sqlparse", "0.4.3"));
    // tzdata only for sys_platform == "win32"
    assertThat(set.localProjects()).containsExactly(new LocalProject(".", false));
    assertThat(distribution(set, "django").files())
        .extracting(ArtifactFile::filename)
        .containsExactly("Django-4.1.6-py3-none-any.whl", "Django-4.1.6.tar.gz");
  }

  @Test
  void lockVersionOneOneTakesFilesFromMetadata() throws Exception {
    LockedSet set = read("restful-apis-example", "3.9.20");

    assertThat(versions(set).keySet())
        .containsExactly(
            "click",
            "flask",
            "flask-marshmallow",
            "flask-sqlalchemy",
            "greenlet",
            "itsdangerous",
            "jinja2",
            "markupsafe",
            "marshmallow",
            "marshmallow-sqlalchemy",
            "six",
            "sqlalchemy",
            "werkzeug");
    assertThat(distribution(set, "click").files())
        .extracting(ArtifactFile::filename)
        .containsExactly("click-7.1.2-py2.py3-none-any.whl", "click-7.1.2.tar.gz");
  }

  @Test
  void otherGroupsAreLeftOut() throws Exception {
    LockedSet set = read("hello-world-cli", "3.12.7");

    assertThat(versions(set).keySet())
        .containsExactly("certifi", "charset-normalizer", "idna", "requests", "urllib3");
  }

  @Test
  void lockTwoOneUsesRecordedGroupsAndMarkers() throws Exception {
    LockedSet set = read("resume-roast", "3.12.7");

    assertThat(versions(set)).containsKeys("typer", "openai", "rich", "mammoth", "pymupdf4llm");
    // colorama: main only when platform_system == "Windows"; pytest, ruff: dev only
    assertThat(versions(set)).doesNotContainKeys("colorama", "pytest", "ruff", "pre-commit");
    assertThat(set.localProjects()).containsExactly(new LocalProject(".", false));
  }

  @Test
  void changedDependencyInPyprojectMakesTheRealLockStale() {
    String dir = "django-training-worklogger";
    String pyproject = text("poetry/" + dir + "/pyproject.toml").replace("^4.1.6", "^4.1.7");

    assertThatThrownBy(() -> read(dir, text("poetry/" + dir + "/poetry.lock"), pyproject, "3.11.9"))
        .isInstanceOf(InstallerException.class)
        .hasFieldOrPropertyWithValue("code", Codes.POETRY_LOCK_STALE)
        .hasMessageContaining("poetry.lock")
        .hasMessageContaining("poetry lock");
  }

  @Test
  void changedProjectDependencyOrGroupMakesTheRealPoetryTwoLockStale() {
    String lock = text("poetry/resume-roast/poetry.lock");
    String pyproject = text("poetry/resume-roast/pyproject.toml");

    assertThatThrownBy(
            () ->
                read(
                    "resume-roast",
                    lock,
                    pyproject.replace("rich (>=15.0.0,<16.0.0)", "rich (>=15.0.1,<16.0.0)"),
                    "3.12.7"))
        .hasFieldOrPropertyWithValue("code", Codes.POETRY_LOCK_STALE);
    assertThatThrownBy(
            () ->
                read(
                    "resume-roast",
                    lock,
                    pyproject.replace("\"bandit (>=1.8.0,<2.0.0)\",", ""),
                    "3.12.7"))
        .hasFieldOrPropertyWithValue("code", Codes.POETRY_LOCK_STALE);
  }

  @Test
  void locksFromBeforePoetryTwoThreeMayOmitDependencyGroupsFromTheHash() throws Exception {
    var pyproject =
        Documents.toml(
            bytes("poetry/resume-roast/pyproject.toml"),
            "pyproject.toml",
            Codes.POETRY_LOCK_INVALID,
            "");
    String withoutGroups = PoetryContentHash.compute(pyproject, false);
    String lock =
        text("poetry/resume-roast/poetry.lock")
            .replace(PoetryContentHash.compute(pyproject, true), withoutGroups);
    String pyprojectText = text("poetry/resume-roast/pyproject.toml");

    // the hash Poetry 2.2 would have written (CPython json.dumps + sha256 of the same content)
    assertThat(withoutGroups)
        .isEqualTo("5c216a93219a4c58ad1be2a92800ce5518e064c33046a51a10bd12a2ab3b7662");
    assertThat(
            read(
                    "resume-roast",
                    lock.replace("Poetry 2.3.4", "Poetry 2.2.1"),
                    pyprojectText,
                    "3.12.7")
                .distributions())
        .isNotEmpty();
    assertThatThrownBy(() -> read("resume-roast", lock, pyprojectText, "3.12.7"))
        .hasFieldOrPropertyWithValue("code", Codes.POETRY_LOCK_STALE);
  }

  @Test
  void pythonOutsideTheProjectConstraintFailsWithCode() {
    assertThatThrownBy(() -> read("resume-roast", "3.11.10"))
        .hasFieldOrPropertyWithValue("code", Codes.POETRY_LOCK_PYTHON_INCOMPATIBLE)
        .hasMessageContaining(">=3.12");
    assertThatThrownBy(() -> read("django-training-worklogger", "3.10.15"))
        .hasFieldOrPropertyWithValue("code", Codes.POETRY_LOCK_PYTHON_INCOMPATIBLE)
        .hasMessageContaining("^3.11");
  }

  @Test
  void unknownLockVersionFailsWithCode() {
    String dir = "hello-world-cli";
    String lock =
        text("poetry/" + dir + "/poetry.lock")
            .replace("lock-version = \"2.0\"", "lock-version = \"3.0\"");

    assertThatThrownBy(() -> read(dir, lock, text("poetry/" + dir + "/pyproject.toml"), "3.12.7"))
        .hasFieldOrPropertyWithValue("code", Codes.POETRY_LOCK_UNSUPPORTED_VERSION)
        .hasMessageContaining("1.0, 1.1, 2.0 and 2.1");
  }

  // Hand-written edge cases; their content-hash is computed, not what they test.

  private static final String PYPROJECT =
      """
      [tool.poetry]
      name = "app"
      version = "0.1.0"
      %s

      [tool.poetry.dependencies]
      python = "^3.10"
      requests = { version = "^2.31", extras = ["socks"] }
      tomli = { version = "^2", python = "<3.11" }
      uvloop = { version = "*", markers = "sys_platform != 'win32'" }
      orjson = { version = "*", optional = true }

      [tool.poetry.extras]
      speed = ["orjson"]

      [tool.poetry.group.dev.dependencies]
      pytest = "^8"
      """;

  private static final String LOCK =
      """
      [[package]]
      name = "requests"
      version = "2.32.3"
      optional = false
      python-versions = ">=3.8"
      files = [{file = "requests-2.32.3-py3-none-any.whl", hash = "sha256:%s"}]

      [package.dependencies]
      idna = ">=2.5,<4"
      PySocks = {version = ">=1.5.6,!=1.5.7", optional = true}
      win-inet-pton = {version = "*", optional = true, markers = "sys_platform == \\"win32\\""}

      [package.extras]
      socks = ["PySocks (>=1.5.6,!=1.5.7)", "win-inet-pton ; sys_platform == \\"win32\\""]
      use-chardet-on-py3 = ["chardet (>=3.0.2,<6)"]

      [[package]]
      name = "idna"
      version = "3.10"
      optional = false
      python-versions = ">=3.6"
      files = [{file = "idna-3.10.tar.gz", hash = "sha256:%s"}]

      [[package]]
      name = "pysocks"
      version = "1.7.1"
      optional = true
      python-versions = "*"
      files = []

      [[package]]
      name = "win-inet-pton"
      version = "1.1.0"
      optional = true
      python-versions = "*"
      files = []

      [[package]]
      name = "tomli"
      version = "2.2.1"
      optional = false
      python-versions = ">=3.8"
      files = []

      [[package]]
      name = "uvloop"
      version = "0.21.0"
      optional = false
      python-versions = ">=3.8.0"
      files = []

      [[package]]
      name = "orjson"
      version = "3.10.0"
      optional = true
      python-versions = ">=3.8"
      files = []

      [[package]]
      name = "pytest"
      version = "8.3.0"
      optional = false
      python-versions = ">=3.8"
      files = []

      [package.dependencies]
      pluggy = ">=1.5"

      [[package]]
      name = "pluggy"
      version = "1.5.0"
      optional = false
      python-versions = ">=3.8"
      files = []

      [extras]
      speed = ["orjson"]

      [metadata]
      lock-version = "2.0"
      python-versions = "^3.10"
      content-hash = "%s"
      """;

  private static LockedSet handWritten(String toolPoetryExtra, String python) throws Exception {
    String pyproject = PYPROJECT.formatted(toolPoetryExtra);
    String hash =
        PoetryContentHash.compute(
            Documents.toml(utf8(pyproject), "pyproject.toml", Codes.POETRY_LOCK_INVALID, ""), true);
    String lock = LOCK.formatted("a".repeat(64), "b".repeat(64), hash);
    return read("hand-written", lock, pyproject, python);
  }

  @Test
  void extrasMarkersAndPythonConstraintsAlongTheGraph() throws Exception {
    LockedSet set = handWritten("", "3.12.7");

    // requests[socks] enables the optional PySocks edge; win-inet-pton's marker is false on Linux;
    // tomli only below 3.11; orjson only for the extra nobody asked for; pytest in the dev group
    assertThat(versions(set).keySet()).containsExactly("idna", "pysocks", "requests", "uvloop");
    assertThat(versions(handWritten("", "3.10.15"))).containsKey("tomli");
    assertThat(distribution(set, "requests").allowedHashes()).hasSize(1);
  }

  @Test
  void packageModeFalseInstallsNoProject() throws Exception {
    assertThat(handWritten("", "3.12.7").localProjects())
        .containsExactly(new LocalProject(".", false));
    assertThat(handWritten("package-mode = false", "3.12.7").localProjects()).isEmpty();
  }

  @Test
  void gitPackageFailsWithCode() {
    String pyproject = PYPROJECT.formatted("");
    assertThatThrownBy(
            () -> {
              String hash =
                  PoetryContentHash.compute(
                      Documents.toml(utf8(pyproject), "p", Codes.POETRY_LOCK_INVALID, ""), true);
              String lock =
                  LOCK.formatted("a".repeat(64), "b".repeat(64), hash)
                      .replace(
                          "name = \"idna\"\nversion = \"3.10\"\n",
                          "name = \"idna\"\nversion = \"3.10\"\nsource = {type = \"git\", url ="
                              + " \"https://github.com/kjd/idna.git\", reference = \"v3.10\"}\n");
              read("hand-written", lock, pyproject, "3.12.7");
            })
        .hasFieldOrPropertyWithValue("code", Codes.POETRY_LOCK_UNSUPPORTED_SOURCE)
        .hasMessageContaining("'idna'");
  }
}
