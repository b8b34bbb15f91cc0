package dev.kiln.installer.lock;

import static dev.kiln.installer.lock.Fixtures.bytes;
import static dev.kiln.installer.lock.Fixtures.utf8;
import static dev.kiln.installer.lock.Fixtures.versions;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.installer.Codes;
import dev.kiln.installer.LockedSet;
import java.util.LinkedHashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A CI build installs what {@code uv sync --locked} installs (the project's default dependency
 * groups too); a normal build what {@code uv sync --locked --no-default-groups} installs.
 */
class UvLockCiTest {
  private static final String PYPROJECT =
      """
      [project]
      name = "web"
      version = "0.1.0"
      requires-python = ">=3.11"
      dependencies = ["requests>=2.32"]

      [dependency-groups]
      dev = [
          "pytest>=8",
          "pywin32>=306 ; sys_platform == 'win32'",
      ]
      lint = ["ruff>=0.6"]
      """;

  /** The shape uv 0.7 writes (revision 2) for {@link #PYPROJECT}. */
  private static final String LOCK =
      """
      version = 1
      revision = 2
      requires-python = ">=3.11"

      [[package]]
      name = "iniconfig"
      version = "2.1.0"
      source = { registry = "https://pypi.org/simple" }
      wheels = [
          { url = "https://files.pythonhosted.org/packages/2c/e1/iniconfig-2.1.0-py3-none-any.whl", hash = "sha256:%1$s", size = 6050 },
      ]

      [[package]]
      name = "pytest"
      version = "8.4.1"
      source = { registry = "https://pypi.org/simple" }
      dependencies = [
          { name = "colorama", marker = "sys_platform == 'win32'" },
          { name = "iniconfig" },
      ]
      wheels = [
          { url = "https://files.pythonhosted.org/packages/29/16/pytest-8.4.1-py3-none-any.whl", hash = "sha256:%2$s", size = 365474 },
      ]

      [[package]]
      name = "pywin32"
      version = "311"
      source = { registry = "https://pypi.org/simple" }
      wheels = [
          { url = "https://files.pythonhosted.org/packages/7c/af/pywin32-311-cp312-cp312-win_amd64.whl", hash = "sha256:%3$s", size = 9495040 },
      ]

      [[package]]
      name = "colorama"
      version = "0.4.6"
      source = { registry = "https://pypi.org/simple" }
      wheels = [
          { url = "https://files.pythonhosted.org/packages/d1/d6/colorama-0.4.6-py2.py3-none-any.whl", hash = "sha256:%3$s", size = 25335 },
      ]

      [[package]]
      name = "requests"
      version = "2.32.4"
      source = { registry = "https://pypi.org/simple" }
      wheels = [
          { url = "https://files.pythonhosted.org/packages/7c/e4/requests-2.32.4-py3-none-any.whl", hash = "sha256:%4$s", size = 64847 },
      ]

      [[package]]
      name = "ruff"
      version = "0.12.4"
      source = { registry = "https://pypi.org/simple" }
      wheels = [
          { url = "https://files.pythonhosted.org/packages/8a/6c/ruff-0.12.4-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", hash = "sha256:%5$s", size = 11774302 },
      ]

      [[package]]
      name = "web"
      version = "0.1.0"
      source = { virtual = "." }
      dependencies = [
          { name = "requests" },
      ]

      [package.dev-dependencies]
      dev = [
          { name = "pytest" },
          { name = "pywin32", marker = "sys_platform == 'win32'" },
      ]
      lint = [
          { name = "ruff" },
      ]

      [package.metadata]
      requires-dist = [{ name = "requests", specifier = ">=2.32" }]

      [package.metadata.requires-dev]
      dev = [
          { name = "pytest", specifier = ">=8" },
          { name = "pywin32", marker = "sys_platform == 'win32'", specifier = ">=306" },
      ]
      lint = [{ name = "ruff", specifier = ">=0.6" }]
      """
          .formatted(
              "a".repeat(64), "b".repeat(64), "c".repeat(64), "d".repeat(64), "e".repeat(64));

  private static LockedSet read(String pyproject, boolean ci) throws Exception {
    return UvLock.read(
        utf8(LOCK), utf8(pyproject), FakeMarkers.linux("3.12.7"), new FakePython("3.12.7"), ci);
  }

  private static String withToolUv(String line) {
    return PYPROJECT + "\n[tool.uv]\n" + line + "\n";
  }

  @Test
  void aNormalBuildLeavesEveryGroupOut() throws Exception {
    assertThat(versions(read(PYPROJECT, false)).keySet()).containsExactly("requests");
    assertThat(versions(read(withToolUv("default-groups = \"all\""), false)).keySet())
        .containsExactly("requests");
  }

  @Test
  void aCiBuildAddsTheDevGroupByDefaultAndSkipsItsEdgesWhoseMarkerDoesNotHold() throws Exception {
    FakeMarkers markers = FakeMarkers.linux("3.12.7");
    LockedSet set =
        UvLock.read(utf8(LOCK), utf8(PYPROJECT), markers, new FakePython("3.12.7"), true);

    // pywin32 only on win32, and pytest's colorama likewise; ruff is in the lint group
    assertThat(versions(set).keySet()).containsExactlyInAnyOrder("requests", "pytest", "iniconfig");
    assertThat(markers.asked).contains("sys_platform == 'win32'");
  }

  @Test
  void defaultGroupsChooseTheGroups() throws Exception {
    assertThat(versions(read(withToolUv("default-groups = [\"lint\"]"), true)).keySet())
        .containsExactlyInAnyOrder("requests", "ruff");
    assertThat(versions(read(withToolUv("default-groups = []"), true)).keySet())
        .containsExactly("requests");
    assertThat(versions(read(withToolUv("default-groups = \"all\""), true)).keySet())
        .containsExactlyInAnyOrder("requests", "pytest", "iniconfig", "ruff");
  }

  @Test
  void defaultGroupsThatAreNeitherNamesNorAllFailWithCode() {
    assertThatThrownBy(() -> read(withToolUv("default-groups = \"lint\""), true))
        .hasFieldOrPropertyWithValue("code", Codes.UV_LOCK_INVALID)
        .hasMessageContaining("default-groups");
  }

  @Test
  void aWorkspaceRootThatIsNoProjectAddsItsManifestGroupsForCi() throws Exception {
    String pyproject =
        """
        [tool.uv.workspace]
        members = ["packages/*"]

        [dependency-groups]
        dev = ["iniconfig>=2.0.0", "pywin32>=306 ; sys_platform == 'win32'"]
        """;
    String lock =
        """
        version = 1
        revision = 3
        requires-python = ">=3.12"

        [manifest]
        members = [
            "lib",
        ]

        [manifest.dependency-groups]
        dev = [
            { name = "iniconfig", specifier = ">=2.0.0" },
            { name = "pywin32", marker = "sys_platform == 'win32'", specifier = ">=306" },
        ]

        [[package]]
        name = "iniconfig"
        version = "2.1.0"
        source = { registry = "https://pypi.org/simple" }
        wheels = [
            { url = "https://files.pythonhosted.org/packages/2c/e1/iniconfig-2.1.0-py3-none-any.whl", hash = "sha256:%1$s", size = 6050 },
        ]

        [[package]]
        name = "lib"
        version = "0.1.0"
        source = { editable = "packages/lib" }

        [[package]]
        name = "pywin32"
        version = "311"
        source = { registry = "https://pypi.org/simple" }
        """
            .formatted("a".repeat(64));
    var markers = FakeMarkers.linux("3.12.7");
    var python = new FakePython("3.12.7");

    assertThat(UvLock.read(utf8(lock), utf8(pyproject), markers, python, false).distributions())
        .isEmpty();
    assertThat(versions(UvLock.read(utf8(lock), utf8(pyproject), markers, python, true)).keySet())
        .containsExactly("iniconfig");
  }

  @Test
  void aRealLockAddsExactlyTheDevGroupForCi() throws Exception {
    var markers = FakeMarkers.linux("3.12.7");
    var python = new FakePython("3.12.7");
    byte[] lock = bytes("uv/deep-think-mcp/uv.lock");
    byte[] pyproject = bytes("uv/deep-think-mcp/pyproject.toml");
    Set<String> normal = versions(UvLock.read(lock, pyproject, markers, python, false)).keySet();
    Set<String> ci =
        new LinkedHashSet<>(versions(UvLock.read(lock, pyproject, markers, python, true)).keySet());

    assertThat(ci).containsAll(normal);
    ci.removeAll(normal);
    // dev = ["pytest", "pytest-asyncio"] and what they need on Linux (not colorama)
    assertThat(ci)
        .containsExactlyInAnyOrder(
            "pytest", "pytest-asyncio", "iniconfig", "packaging", "pluggy", "pygments");
  }
}
