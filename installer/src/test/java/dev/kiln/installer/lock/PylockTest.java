package dev.kiln.installer.lock;

import static dev.kiln.installer.lock.Fixtures.bytes;
import static dev.kiln.installer.lock.Fixtures.distribution;
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
 *   <li>pylock/genshin-check-in: Bing-su/genshin-auto-daily-check-in-docker @
 *       051b0192250327729abc4bdb8b4b7050bdc4183d (written by `uv export --format pylock.toml`)
 *   <li>pylock/perdoo: Buried-In-Code/Perdoo @ acc6ff9b488aedb8d7cad4b7fbbeca40da2ba7cb (written by
 *       PDM: environments, extras, dependency groups and default-groups)
 * </ul>
 */
class PylockTest {
  private static LockedSet read(String dir, String fileName, String python)
      throws InstallerException {
    return Pylock.read(
        bytes("pylock/" + dir + "/pylock.toml"),
        fileName,
        FakeMarkers.linux(python),
        new FakePython(python));
  }

  @Test
  void uvExportInstallsEveryPackageWhoseMarkerHolds() throws Exception {
    LockedSet set = read("genshin-check-in", "pylock.toml", "3.12.7");

    assertThat(versions(set)).hasSize(21).containsKeys("genshin", "aiohttp", "pydantic", "rich");
    var aiohttp = distribution(set, "aiohttp");
    assertThat(aiohttp.files())
        .extracting(ArtifactFile::filename)
        .contains(
            "aiohttp-3.14.1.tar.gz",
            "aiohttp-3.14.1-cp312-cp312-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl");
    assertThat(aiohttp.allowedHashes())
        .contains(Digest.ofHex("3e6fc1a85fa7194a1a7d19f44e8609180f4a8eb5fa4c7ed8b4355f080fad235c"));
    assertThat(aiohttp.files().get(0).size()).isEqualTo(7955794);
  }

  @Test
  void pdmLockInstallsTheDefaultGroupOnly() throws Exception {
    LockedSet set = read("perdoo", "pylock.toml", "3.12.7");

    // the 44 packages packaging.markers selects for CPython 3.12 on Linux with
    // dependency_groups = {"default"} and extras = {}
    assertThat(versions(set)).hasSize(44).containsKeys("pydantic", "typer", "requests-cache");
    assertThat(versions(set)).doesNotContainKeys("mdformat", "pytest", "tomli");
    assertThat(set.localProjects()).isEmpty();
  }

  @Test
  void markersSeeTheTargetPython() throws Exception {
    // python_version < "3.11" and "default" in dependency_groups
    assertThat(versions(read("perdoo", "pylock.toml", "3.10.15"))).containsKey("tomli");
  }

  @Test
  void pythonOutsideRequiresPythonFailsWithCode() {
    assertThatThrownBy(() -> read("perdoo", "pylock.toml", "3.9.20"))
        .hasFieldOrPropertyWithValue("code", Codes.PYLOCK_PYTHON_INCOMPATIBLE)
        .hasMessageContaining(">=3.10");
  }

  // Hand-written edge cases.

  private static final String LOCK =
      """
      lock-version = "1.0"
      requires-python = ">=3.11"
      environments = ["sys_platform == 'linux'", "sys_platform == 'darwin'"]
      extras = ["speed"]
      dependency-groups = ["dev", "kiln"]
      default-groups = ["main"]
      created-by = "hand"

      [[packages]]
      name = "app"
      directory = { path = "./", editable = true }

      [[packages]]
      name = "numpy"
      version = "1.26.4"
      marker = "python_version < '3.12'"
      wheels = [{ url = "https://files.example/numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.whl", hashes = { sha256 = "%1$s" } }]

      [[packages]]
      name = "numpy"
      version = "2.1.0"
      marker = "python_version >= '3.12'"
      wheels = [{ name = "numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.whl", path = "wheels/numpy.whl", hashes = { sha256 = "%2$s", sha512 = "00" } }]

      [[packages]]
      name = "orjson"
      version = "3.10.0"
      marker = "'speed' in extras"
      sdist = { url = "https://files.example/orjson-3.10.0.tar.gz", hashes = { sha256 = "%1$s" } }

      [[packages]]
      name = "pytest"
      version = "8.3.0"
      marker = "'dev' in dependency_groups"
      sdist = { url = "https://files.example/pytest-8.3.0.tar.gz", hashes = { sha256 = "%1$s" } }

      [[packages]]
      name = "gunicorn"
      version = "23.0.0"
      marker = "'kiln' in dependency_groups"
      sdist = { url = "https://files.example/gunicorn-23.0.0.tar.gz", hashes = { sha256 = "%2$s" } }
      """
          .formatted("a".repeat(64), "b".repeat(64));

  private static LockedSet handWritten(String lock, String fileName, String python)
      throws Exception {
    return Pylock.read(utf8(lock), fileName, FakeMarkers.linux(python), new FakePython(python));
  }

  @Test
  void directoryIsALocalProjectAndMarkersPickOneEntry() throws Exception {
    LockedSet set = handWritten(LOCK, "pylock.toml", "3.12.7");

    assertThat(set.localProjects()).containsExactly(new LocalProject(".", true));
    assertThat(versions(set))
        .containsEntry("numpy", "2.1.0")
        .doesNotContainKeys("orjson", "pytest");
    assertThat(distribution(set, "numpy").files().get(0).filename())
        .isEqualTo("numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.whl");
    assertThat(versions(handWritten(LOCK, "pylock.toml", "3.11.10")))
        .containsEntry("numpy", "1.26.4");
  }

  @Test
  void multiUseLockAddsTheKilnGroupButANamedLockDoesNot() throws Exception {
    assertThat(versions(handWritten(LOCK, "pylock.toml", "3.12.7"))).containsKey("gunicorn");
    assertThat(versions(handWritten(LOCK, "pylock.kiln.toml", "3.12.7")))
        .doesNotContainKey("gunicorn");
  }

  @Test
  void twoApplyingEntriesOfOnePackageFailWithCode() {
    String lock =
        LOCK.replace("marker = \"python_version < '3.12'\"", "marker = \"python_version < '4'\"");

    assertThatThrownBy(() -> handWritten(lock, "pylock.toml", "3.12.7"))
        .hasFieldOrPropertyWithValue("code", Codes.PYLOCK_AMBIGUOUS_PACKAGE)
        .hasMessageContaining("'numpy'");
  }

  @Test
  void environmentsWithoutTheTargetFailWithCode() {
    String lock = LOCK.replace("\"sys_platform == 'linux'\", ", "");

    assertThatThrownBy(() -> handWritten(lock, "pylock.toml", "3.12.7"))
        .hasFieldOrPropertyWithValue("code", Codes.PYLOCK_ENVIRONMENT_MISMATCH);
  }

  @Test
  void vcsPackageFailsWithCode() {
    String lock =
        LOCK
            + """

            [[packages]]
            name = "six"
            vcs = { type = "git", url = "https://github.com/benjaminp/six", commit-id = "abc" }
            """;

    assertThatThrownBy(() -> handWritten(lock, "pylock.toml", "3.12.7"))
        .hasFieldOrPropertyWithValue("code", Codes.PYLOCK_UNSUPPORTED_SOURCE)
        .hasMessageContaining("'six'");
  }

  @Test
  void unknownMajorLockVersionFailsWithCode() {
    assertThatThrownBy(
            () ->
                handWritten(
                    LOCK.replace("lock-version = \"1.0\"", "lock-version = \"2.0\""),
                    "pylock.toml",
                    "3.12.7"))
        .hasFieldOrPropertyWithValue("code", Codes.PYLOCK_UNSUPPORTED_VERSION);
  }

  @Test
  void newerMinorLockVersionIsRead() throws Exception {
    String lock = LOCK.replace("lock-version = \"1.0\"", "lock-version = \"1.1\"");

    assertThat(versions(handWritten(lock, "pylock.toml", "3.12.7"))).containsKey("numpy");
  }
}
