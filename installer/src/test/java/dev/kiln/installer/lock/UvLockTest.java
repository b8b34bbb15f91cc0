package dev.kiln.installer.lock;

import static dev.kiln.installer.lock.Fixtures.bytes;
import static dev.kiln.installer.lock.Fixtures.distribution;
import static dev.kiln.installer.lock.Fixtures.text;
import static dev.kiln.installer.lock.Fixtures.utf8;
import static dev.kiln.installer.lock.Fixtures.versions;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.events.Digest;
import dev.kiln.installer.ArtifactFile;
import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.LocalProject;
import dev.kiln.installer.LockedSet;
import org.junit.jupiter.api.Test;

/**
 * Real fixtures (copied unchanged; see each directory's SOURCE.txt):
 *
 * <ul>
 *   <li>uv/django-starter: ClimenteA/django-starter @ 14b921c0f806cce7582e68eb9011e3c6cc162324
 *   <li>uv/fastapi-playground: Cliper27/FastAPI-Playground @
 *       2d4a85767086ccb5cda966db1505c4a3751eebf6
 *   <li>uv/syndication-template: ClouDesire/syndication-python-template @
 *       63ac06aa2b28814468cfe32dca3e9db8ff745f3a
 *   <li>uv/deep-think-mcp: ClintMoody/deep-think-mcp @ bf8b74b655d69be9d709c9de4d6557d0fa673e07
 *   <li>uv/mgp-py: Cloto-dev/mgp-py @ 0fb5aaafbf1e4a485ab1dbedb703dfa12e50d8a7 (its lock really is
 *       stale: pyproject.toml added pytest-asyncio to the dev group after uv.lock was written)
 * </ul>
 *
 * <p>Markers and Python versions are decided by {@link FakeMarkers} and {@link FakePython} (Linux,
 * CPython at the version each test names).
 */
class UvLockTest {
  private static LockedSet read(String dir, String python) throws InstallerException {
    return UvLock.read(
        bytes("uv/" + dir + "/uv.lock"),
        bytes("uv/" + dir + "/pyproject.toml"),
        FakeMarkers.linux(python),
        new FakePython(python));
  }

  private static LockedSet readWithPyproject(String dir, String pyproject, String python)
      throws InstallerException {
    return UvLock.read(
        bytes("uv/" + dir + "/uv.lock"),
        utf8(pyproject),
        FakeMarkers.linux(python),
        new FakePython(python));
  }

  @Test
  void realVirtualProjectInstallsItsDependenciesForLinux() throws Exception {
    LockedSet set = read("django-starter", "3.13.5");

    assertThat(versions(set))
        .containsExactly(
            entry("asgiref", "3.9.1"),
            entry("django", "5.2.5"),
            entry("django-browser-reload", "1.18.0"),
            entry("django-cleanup", "9.0.0"),
            entry("loguru", "0.7.3"),
            entry("python-dotenv", "1.1.1"),
            entry("sqlparse", "0.5.3"),
            entry("waitress", "3.0.2"),
            entry("whitenoise", "6.9.0"));
    assertThat(set.localProjects()).isEmpty(); // source = { virtual = "." }
    // tzdata, colorama and win32-setctime only for sys_platform == 'win32'
    var django = distribution(set, "django");
    assertThat(django.files())
        .extracting(ArtifactFile::filename)
        .containsExactly("django-5.2.5.tar.gz", "django-5.2.5-py3-none-any.whl");
    assertThat(django.allowedHashes())
        .contains(
            Digest.of("sha256:2b2ada0ee8a5ff743a40e2b9820d1f8e24c11bac9ae6469cd548f0057ea6ddcd"));
    assertThat(django.files().get(1).size()).isEqualTo(8302999);
  }

  @Test
  void realLocksMatchingTheirPyprojectAreFresh() throws Exception {
    assertThat(read("django-starter", "3.13.5").distributions()).hasSize(9);
    assertThat(read("fastapi-playground", "3.13.5").distributions()).isNotEmpty();
    assertThat(read("syndication-template", "3.12.7").distributions()).isNotEmpty();
    assertThat(read("deep-think-mcp", "3.12.7").distributions()).isNotEmpty();
  }

  @Test
  void extraOnAnEdgeFollowsTheOptionalDependencies() throws Exception {
    LockedSet set = read("fastapi-playground", "3.13.5");

    // fastapi[standard] -> uvicorn[standard] -> uvloop, httptools, …; fastapi-cli[standard]
    assertThat(versions(set))
        .containsKeys(
            "fastapi",
            "email-validator",
            "fastapi-cli",
            "uvicorn",
            "uvloop",
            "httptools",
            "jinja2");
    assertThat(versions(set)).doesNotContainKeys("fastapi-playground", "colorama");
  }

  @Test
  void packagedRootIsAnEditableLocalProjectAndDevGroupIsLeftOut() throws Exception {
    LockedSet set = read("deep-think-mcp", "3.12.7");

    assertThat(set.localProjects()).containsExactly(new LocalProject(".", true));
    assertThat(versions(set)).containsKeys("mcp", "openai", "portalocker", "pydantic", "requests");
    assertThat(versions(set)).doesNotContainKeys("pytest", "pytest-asyncio", "deep-think-mcp");
  }

  @Test
  void forkedVersionsFollowTheEdgeMarkersForTheTargetPython() throws Exception {
    assertThat(versions(read("deep-think-mcp", "3.11.10")).get("numpy")).isEqualTo("2.4.6");
    assertThat(versions(read("deep-think-mcp", "3.12.7")).get("numpy")).isEqualTo("2.5.1");
  }

  @Test
  void realStaleWorkspaceLockFailsWithCode() {
    assertThatThrownBy(() -> read("mgp-py", "3.12.7"))
        .isInstanceOf(InstallerException.class)
        .hasFieldOrPropertyWithValue("code", Codes.UV_LOCK_STALE)
        .hasMessageContaining("dependency group 'dev'")
        .hasMessageContaining("pytest-asyncio>=0.23")
        .hasMessageContaining("uv lock");
  }

  @Test
  void changedDependencyInPyprojectMakesTheRealLockStale() {
    String pyproject = text("uv/django-starter/pyproject.toml");

    assertThatThrownBy(
            () ->
                readWithPyproject(
                    "django-starter",
                    pyproject.replace("\"django>=5.2.5\"", "\"django>=5.2.6\""),
                    "3.13.5"))
        .hasFieldOrPropertyWithValue("code", Codes.UV_LOCK_STALE)
        .hasMessageContaining("'django>=5.2.6'")
        .hasMessageContaining("'django>=5.2.5'");
    assertThatThrownBy(
            () ->
                readWithPyproject(
                    "django-starter",
                    pyproject.replace(
                        "\"waitress>=3.0.2\",", "\"waitress>=3.0.2\",\n \"gunicorn\","),
                    "3.13.5"))
        .hasFieldOrPropertyWithValue("code", Codes.UV_LOCK_STALE)
        .hasMessageContaining("now asks for 'gunicorn'");
    assertThatThrownBy(
            () ->
                readWithPyproject(
                    "django-starter", pyproject.replace("\"loguru>=0.7.3\",", ""), "3.13.5"))
        .hasFieldOrPropertyWithValue("code", Codes.UV_LOCK_STALE)
        .hasMessageContaining("was locked for 'loguru>=0.7.3'");
  }

  @Test
  void changedRequiresPythonMakesTheRealLockStale() {
    String pyproject = text("uv/django-starter/pyproject.toml");

    assertThatThrownBy(
            () ->
                readWithPyproject(
                    "django-starter", pyproject.replace(">=3.13\"", ">=3.12\""), "3.13.5"))
        .hasFieldOrPropertyWithValue("code", Codes.UV_LOCK_STALE)
        .hasMessageContaining("requires-python");
  }

  @Test
  void equivalentSpellingsInPyprojectKeepTheLockFresh() throws Exception {
    String pyproject =
        text("uv/fastapi-playground/pyproject.toml")
            .replace("\"fastapi[standard]>=0.136.1\"", "\"FastAPI [Standard] >= 0.136.1\"")
            .replace("requires-python = \">=3.13\"", "requires-python = \">=3.13.0\"");

    assertThat(readWithPyproject("fastapi-playground", pyproject, "3.13.5").distributions())
        .isNotEmpty();
  }

  @Test
  void addedOptionalDependencyMakesTheRealLockStale() {
    String pyproject =
        text("uv/deep-think-mcp/pyproject.toml")
            .replace("\"httpx>=0.28.1\",", "\"httpx>=0.28.1\",\n    \"h2\",");

    assertThatThrownBy(() -> readWithPyproject("deep-think-mcp", pyproject, "3.12.7"))
        .hasFieldOrPropertyWithValue("code", Codes.UV_LOCK_STALE)
        .hasMessageContaining("'h2 ; extra == 'autopilot''");
  }

  @Test
  void pythonOutsideRequiresPythonFailsWithCode() {
    assertThatThrownBy(() -> read("fastapi-playground", "3.12.7"))
        .hasFieldOrPropertyWithValue("code", Codes.UV_LOCK_PYTHON_INCOMPATIBLE)
        .hasMessageContaining("3.12.7")
        .hasMessageContaining(">=3.13")
        .hasMessageContaining(".python-version");
  }

  // Hand-written edge cases.

  private static final String PYPROJECT =
      """
      [project]
      name = "app"
      version = "0.1.0"
      requires-python = ">=3.11"
      dependencies = ["requests[socks]>=2", "tomli; python_version < '3.11'", "lib"]

      [project.optional-dependencies]
      speed = ["orjson"]

      [dependency-groups]
      dev = ["pytest"]

      [tool.uv.sources]
      lib = { workspace = true }

      [tool.uv.workspace]
      members = ["packages/lib"]
      """;

  private static String lock(String rootSource) {
    return """
        version = 1
        revision = 3
        requires-python = ">=3.11"

        [manifest]
        members = ["app", "lib"]

        [[package]]
        name = "app"
        version = "0.1.0"
        source = %s
        dependencies = [
            { name = "requests", extra = ["socks"] },
            { name = "tomli", marker = "python_full_version < '3.11'" },
            { name = "lib" },
        ]

        [package.optional-dependencies]
        speed = [{ name = "orjson" }]

        [package.dev-dependencies]
        dev = [{ name = "pytest" }]

        [package.metadata]
        requires-dist = [
            { name = "lib", editable = "packages/lib" },
            { name = "orjson", marker = "extra == 'speed'" },
            { name = "requests", extras = ["socks"], specifier = ">=2" },
            { name = "tomli", marker = "python_full_version < '3.11'" },
        ]
        provides-extras = ["speed"]

        [package.metadata.requires-dev]
        dev = [{ name = "pytest" }]

        [[package]]
        name = "lib"
        version = "1.0.0"
        source = { editable = "packages/lib" }
        dependencies = [{ name = "six" }]

        [[package]]
        name = "requests"
        version = "2.32.3"
        source = { registry = "https://pypi.org/simple" }
        dependencies = [{ name = "idna" }]
        wheels = [{ url = "https://files.example/requests-2.32.3%%2Blocal-py3-none-any.whl", hash = "sha256:%s", size = 10 }]

        [package.optional-dependencies]
        socks = [{ name = "pysocks" }]

        [[package]]
        name = "idna"
        version = "3.10"
        source = { registry = "https://pypi.org/simple" }
        sdist = { url = "https://files.example/idna-3.10.tar.gz", hash = "sha256:%s" }

        [[package]]
        name = "pysocks"
        version = "1.7.1"
        source = { registry = "https://pypi.org/simple" }
        wheels = [{ url = "https://files.example/PySocks-1.7.1-py3-none-any.whl", hash = "sha256:%s" }]

        [[package]]
        name = "six"
        version = "1.17.0"
        source = { registry = "https://pypi.org/simple" }
        wheels = [{ url = "https://files.example/six-1.17.0-py2.py3-none-any.whl", hash = "sha256:%s" }]

        [[package]]
        name = "tomli"
        version = "2.2.1"
        source = { registry = "https://pypi.org/simple" }

        [[package]]
        name = "orjson"
        version = "3.10.0"
        source = { registry = "https://pypi.org/simple" }

        [[package]]
        name = "pytest"
        version = "8.3.0"
        source = { registry = "https://pypi.org/simple" }
        """
        .formatted(rootSource, "a".repeat(64), "b".repeat(64), "c".repeat(64), "d".repeat(64));
  }

  private static LockedSet handWritten(String rootSource, String python) throws Exception {
    return UvLock.read(
        utf8(lock(rootSource)), utf8(PYPROJECT), FakeMarkers.linux(python), new FakePython(python));
  }

  @Test
  void virtualRootInstallsDependenciesOnly() throws Exception {
    LockedSet set = handWritten("{ virtual = \".\" }", "3.12.7");

    assertThat(versions(set).keySet()).containsExactly("idna", "pysocks", "requests", "six");
    assertThat(set.localProjects()).containsExactly(new LocalProject("packages/lib", true));
  }

  @Test
  void packagedRootIsALocalProjectToo() throws Exception {
    assertThat(handWritten("{ editable = \".\" }", "3.12.7").localProjects())
        .containsExactly(new LocalProject(".", true), new LocalProject("packages/lib", true));
    assertThat(handWritten("{ directory = \".\" }", "3.12.7").localProjects())
        .containsExactly(new LocalProject(".", false), new LocalProject("packages/lib", true));
  }

  @Test
  void edgeMarkersAndExtrasDecideWhatIsInstalled() throws Exception {
    FakeMarkers markers = FakeMarkers.linux("3.12.7");
    LockedSet set =
        UvLock.read(
            utf8(lock("{ virtual = \".\" }")), utf8(PYPROJECT), markers, new FakePython("3.12.7"));

    assertThat(markers.asked).containsExactly("python_full_version < '3.11'");
    assertThat(versions(set)).doesNotContainKeys("tomli", "orjson", "pytest");
    assertThat(versions(set)).containsKey("pysocks"); // requests[socks]
  }

  @Test
  void wheelNamesComeFromTheUrlPercentDecoded() throws Exception {
    LockedSet set = handWritten("{ virtual = \".\" }", "3.12.7");

    assertThat(distribution(set, "requests").files())
        .extracting(ArtifactFile::filename)
        .containsExactly("requests-2.32.3+local-py3-none-any.whl");
    assertThat(distribution(set, "idna").files().get(0).size()).isEqualTo(-1);
  }

  @Test
  void gitSourceFailsWithCode() {
    String withGit =
        lock("{ virtual = \".\" }")
            .replace(
                "name = \"six\"\nversion = \"1.17.0\"\nsource = { registry = \"https://pypi.org/simple\" }",
                "name = \"six\"\nversion = \"1.17.0\"\nsource = { git = \"https://github.com/benjaminp/six?rev=abc#abc\" }");

    assertThatThrownBy(
            () ->
                UvLock.read(
                    utf8(withGit),
                    utf8(PYPROJECT),
                    FakeMarkers.linux("3.12.7"),
                    new FakePython("3.12.7")))
        .hasFieldOrPropertyWithValue("code", Codes.UV_LOCK_UNSUPPORTED_SOURCE)
        .hasMessageContaining("'six'")
        .hasMessageContaining("git");
  }

  @Test
  void twoVersionsOfOnePackageForTheTargetFailWithCode() {
    String forked =
        lock("{ virtual = \".\" }")
                .replace(
                    "    { name = \"lib\" },\n]",
                    "    { name = \"lib\" },\n"
                        + "    { name = \"tomli\", version = \"2.2.1\", marker = \"python_full_version >= '3.10'\" },\n"
                        + "    { name = \"tomli\", version = \"2.0.0\" },\n]")
            + """

            [[package]]
            name = "tomli"
            version = "2.0.0"
            source = { registry = "https://pypi.org/simple" }
            """;

    assertThatThrownBy(
            () ->
                UvLock.read(
                    utf8(forked),
                    utf8(PYPROJECT),
                    FakeMarkers.linux("3.12.7"),
                    new FakePython("3.12.7")))
        .hasFieldOrPropertyWithValue("code", Codes.UV_LOCK_INVALID)
        .hasMessageContaining("both tomli");
  }

  @Test
  void unknownLockVersionFailsWithCode() {
    assertThatThrownBy(
            () ->
                UvLock.read(
                    utf8(lock("{ virtual = \".\" }").replace("version = 1\n", "version = 2\n")),
                    utf8(PYPROJECT),
                    FakeMarkers.linux("3.12.7"),
                    new FakePython("3.12.7")))
        .hasFieldOrPropertyWithValue("code", Codes.UV_LOCK_UNSUPPORTED_VERSION)
        .hasMessageContaining("version 1");
  }

  @Test
  void changedDevGroupMakesTheLockStale() {
    assertThatThrownBy(
            () ->
                UvLock.read(
                    utf8(lock("{ virtual = \".\" }")),
                    utf8(PYPROJECT.replace("dev = [\"pytest\"]", "dev = [\"pytest>=8\"]")),
                    FakeMarkers.linux("3.12.7"),
                    new FakePython("3.12.7")))
        .hasFieldOrPropertyWithValue("code", Codes.UV_LOCK_STALE)
        .hasMessageContaining("'pytest>=8'");
  }

  @Test
  void invalidTomlFailsWithCode() {
    assertThatThrownBy(
            () ->
                UvLock.read(
                    utf8("version = 1\n[[package]\n"),
                    utf8(PYPROJECT),
                    FakeMarkers.linux("3.12.7"),
                    new FakePython("3.12.7")))
        .hasFieldOrPropertyWithValue("code", Codes.UV_LOCK_INVALID)
        .hasMessageContaining("uv.lock is not valid TOML");
  }

  private static java.util.Map.Entry<String, String> entry(String name, String version) {
    return java.util.Map.entry(name, version);
  }
}
