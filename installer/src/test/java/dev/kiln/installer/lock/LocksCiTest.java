package dev.kiln.installer.lock;

import static dev.kiln.installer.lock.Fixtures.bytes;
import static dev.kiln.installer.lock.Fixtures.utf8;
import static dev.kiln.installer.lock.Fixtures.versions;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.events.Digest;
import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.LockedSet;
import dev.kiln.installer.TargetEnvironment;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * {@link Locks#read} for CI builds, with the real marker evaluator: the test dependencies Heroku CI
 * installs are added for {@code ci} and only then.
 */
class LocksCiTest {
  private static final TargetEnvironment TARGET = TargetEnvironment.linuxX86_64("3.12.7", "2.36");
  private static final String A = "a".repeat(64);
  private static final String B = "b".repeat(64);
  private static final String C = "c".repeat(64);
  private static final String REQUIREMENTS =
      "flask==3.1.1 \\\n    --hash=sha256:" + A + "\nclick==8.2.1 --hash=sha256:" + B + "\n";

  private static Map<String, byte[]> files(String... pathsAndContents) {
    Map<String, byte[]> files = new LinkedHashMap<>();
    for (int i = 0; i < pathsAndContents.length; i += 2) {
      files.put(pathsAndContents[i], utf8(pathsAndContents[i + 1]));
    }
    return files;
  }

  private static Optional<LockedSet> pip(Map<String, byte[]> files, boolean ci) throws Exception {
    return Locks.read(Locks.PIP, files, TARGET, ci);
  }

  @Test
  void hashedRequirementsAndHashedTestRequirementsAreOneLockedSetForCi() throws Exception {
    Map<String, byte[]> files =
        files(
            "requirements.txt",
            REQUIREMENTS,
            "requirements-test.txt",
            "# pip-compile --generate-hashes requirements-test.in\n"
                + "click==8.2.1 --hash=sha256:"
                + B
                + "\npytest==8.4.1 --hash=sha256:"
                + C
                + "\npywin32==311 ; sys_platform == 'win32' \\\n    --hash=sha256:"
                + C
                + "\n");

    assertThat(versions(pip(files, false).orElseThrow()).keySet())
        .containsExactlyInAnyOrder("flask", "click");
    LockedSet ci = pip(files, true).orElseThrow();
    assertThat(versions(ci))
        .containsOnly(
            Map.entry("flask", "3.1.1"), Map.entry("click", "8.2.1"), Map.entry("pytest", "8.4.1"));
    assertThat(Fixtures.distribution(ci, "pytest").allowedHashes())
        .containsExactly(Digest.ofHex(C));
  }

  @Test
  void aTestFileIncludingRequirementsTxtIsTheSameUnion() throws Exception {
    Map<String, byte[]> files =
        files(
            "requirements.txt",
            REQUIREMENTS,
            "requirements-test.txt",
            "-r requirements.txt\npytest==8.4.1 --hash=sha256:" + C + "\n");

    assertThat(versions(pip(files, true).orElseThrow()).keySet())
        .containsExactlyInAnyOrder("flask", "click", "pytest");
  }

  @Test
  void anUnhashedTestFileIsResolvedForCiOnly() throws Exception {
    Map<String, byte[]> files =
        files("requirements.txt", REQUIREMENTS, "requirements-test.txt", "pytest>=8\n");

    assertThat(pip(files, false)).isPresent();
    assertThat(pip(files, true)).isEmpty();
  }

  @Test
  void aTestFileInstallingTheLocalProjectIsResolvedForCi() throws Exception {
    Map<String, byte[]> files =
        files("requirements.txt", REQUIREMENTS, "requirements-test.txt", "-e .\n");

    assertThat(pip(files, true)).isEmpty();
  }

  @Test
  void aCiBuildWithoutATestFileInstallsRequirementsTxt() throws Exception {
    assertThat(versions(pip(files("requirements.txt", REQUIREMENTS), true).orElseThrow()).keySet())
        .containsExactlyInAnyOrder("flask", "click");
  }

  @Test
  void conflictingPinsAcrossTheTwoFilesFailWithCode() {
    Map<String, byte[]> files =
        files(
            "requirements.txt",
            REQUIREMENTS,
            "requirements-test.txt",
            "click==8.1.8 --hash=sha256:" + C + "\n");

    assertThatThrownBy(() -> pip(files, true))
        .hasFieldOrPropertyWithValue("code", Codes.REQUIREMENTS_CONFLICTING_PINS)
        .hasMessageContaining("requirements.txt line 3")
        .hasMessageContaining("requirements-test.txt line 1");
  }

  @Test
  void uvAndPoetryAndPipenvLocksAddTheirTestDependenciesForCi() throws Exception {
    Map<String, byte[]> uv =
        Map.of(
            "uv.lock",
            bytes("uv/deep-think-mcp/uv.lock"),
            "pyproject.toml",
            bytes("uv/deep-think-mcp/pyproject.toml"));
    assertThat(versions(Locks.read(Locks.UV, uv, TARGET, false).orElseThrow()))
        .doesNotContainKey("pytest");
    assertThat(versions(Locks.read(Locks.UV, uv, TARGET, true).orElseThrow()))
        .containsKeys("pytest", "pytest-asyncio");

    Map<String, byte[]> poetry =
        Map.of(
            "poetry.lock",
            bytes("poetry/hello-world-cli/poetry.lock"),
            "pyproject.toml",
            bytes("poetry/hello-world-cli/pyproject.toml"));
    TargetEnvironment python311 = TargetEnvironment.linuxX86_64("3.11.10", "2.36");
    assertThat(versions(Locks.read(Locks.POETRY, poetry, python311, false).orElseThrow()))
        .doesNotContainKeys("pytest", "flake8");
    assertThat(versions(Locks.read(Locks.POETRY, poetry, python311, true).orElseThrow()))
        .containsKeys("pytest", "flake8");

    Map<String, byte[]> pipenv =
        Map.of(
            "Pipfile.lock",
            bytes("pipenv/todo-api/Pipfile.lock"),
            "Pipfile",
            bytes("pipenv/todo-api/Pipfile"));
    TargetEnvironment python310 = TargetEnvironment.linuxX86_64("3.10.15", "2.36");
    assertThat(versions(Locks.read(Locks.PIPENV, pipenv, python310, false).orElseThrow()))
        .doesNotContainKey("black");
    assertThat(versions(Locks.read(Locks.PIPENV, pipenv, python310, true).orElseThrow()))
        .containsKey("black");
  }

  @Test
  void theGroupsPipMustResolveForACiBuildAreThePep735OnesAndOthersFailClearly() throws Exception {
    byte[] uv =
        utf8(
            """
            [project]
            name = "web"
            version = "1.0"

            [dependency-groups]
            Dev = ["pytest"]
            lint = ["ruff"]
            """);
    assertThat(Locks.ciDependencyGroups(Locks.UV, uv)).containsExactly("Dev");
    assertThat(Locks.ciDependencyGroups(Locks.PIP, uv)).isEmpty();

    byte[] poetry =
        utf8(
            """
            [tool.poetry]
            name = "web"
            version = "1.0"

            [tool.poetry.group.docs]
            optional = true

            [tool.poetry.group.docs.dependencies]
            mkdocs = "*"

            [dependency-groups]
            test = ["pytest"]
            """);
    assertThat(Locks.ciDependencyGroups(Locks.POETRY, poetry)).containsExactly("test");

    byte[] poetryOwnTables =
        utf8(
            """
            [tool.poetry]
            name = "web"
            version = "1.0"

            [tool.poetry.group.test.dependencies]
            pytest = "*"
            """);
    assertThatThrownBy(() -> Locks.ciDependencyGroups(Locks.POETRY, poetryOwnTables))
        .isInstanceOfSatisfying(
            InstallerException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Codes.CI_GROUPS_OUTSIDE_DEPENDENCY_GROUPS);
              assertThat(e.getMessage()).contains("test").contains("[dependency-groups]");
            });
  }

  @Test
  void groupLinesExpandIncludesOnceAndAHostileCycleFailsInsteadOfLooping() throws Exception {
    byte[] pyproject =
        utf8(
            """
            [dependency-groups]
            dev = [{include-group = "test"}, "ruff", {include-group = "test"}]
            test = ["pytest>=8", "coverage"]
            loop-a = [{include-group = "loop-b"}]
            loop-b = [{include-group = "loop-a"}]
            """);
    assertThat(Locks.dependencyGroupLines(pyproject, java.util.List.of("dev")))
        .containsExactly("pytest>=8", "coverage", "ruff");
    assertThatThrownBy(() -> Locks.dependencyGroupLines(pyproject, java.util.List.of("loop-a")))
        .isInstanceOf(InstallerException.class)
        .hasMessageContaining("includes itself");
    assertThatThrownBy(() -> Locks.dependencyGroupLines(pyproject, java.util.List.of("nope")))
        .hasMessageContaining("no list named 'nope'");
  }
}
