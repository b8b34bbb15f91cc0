package dev.kiln.buildpack;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a CI build adds (Heroku CI's {@code bin/test-compile}), as every plan names it. */
class CiInstallRulesTest {
  @TempDir Path app;

  private PlanResult plan(boolean ci) {
    return new BuildPlanner(RuntimeCatalog.loadDefault())
        .plan(app, BuildInputs.builder().ci(ci).build());
  }

  @org.junit.jupiter.api.BeforeEach
  void procfile() throws IOException {
    write("Procfile", "web: gunicorn app:app\n");
  }

  private void write(String name, String content) throws IOException {
    Path file = app.resolve(name);
    Files.createDirectories(file.getParent());
    Files.writeString(file, content);
  }

  @Test
  void pipAddsRequirementsTestTxtAndWhatItIncludesOnlyToACiBuild() throws Exception {
    write("requirements.txt", "flask==3.0.0\n");
    write("requirements-test.txt", "-r requirements/lint.txt\npytest==8.0.0\n");
    write("requirements/lint.txt", "ruff==0.5.0\n");

    PlanResult normal = plan(false);
    assertThat(normal.ciInstalls()).containsExactly("requirements-test.txt");
    assertThat(normal.requirementFiles()).containsExactly("requirements.txt");
    assertThat(String.join("\n", normal.logLines()))
        .contains("A CI build would also install requirements-test.txt");

    PlanResult ci = plan(true);
    assertThat(ci.succeeded()).isTrue();
    assertThat(ci.requirementFiles())
        .containsExactly("requirements.txt", "requirements-test.txt", "requirements/lint.txt");
    assertThat(String.join("\n", ci.logLines()))
        .contains("CI build: also installing requirements-test.txt");
    assertThat(
            new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(ci.toJson())
                .path("ciInstalls")
                .toString())
        .isEqualTo("[\"requirements-test.txt\"]");
  }

  @Test
  void aPipAppWithoutATestFileAddsNothing() throws Exception {
    write("requirements.txt", "flask==3.0.0\n");
    assertThat(plan(false).ciInstalls()).isEmpty();
    assertThat(String.join("\n", plan(true).logLines()))
        .contains("no test dependencies to add (no requirements-test.txt)");
  }

  @Test
  void poetryAddsEveryGroupThatIsNotOptional() throws Exception {
    write(
        "pyproject.toml",
        """
        [tool.poetry]
        name = "shop"
        version = "0.1.0"

        [tool.poetry.dependencies]
        python = "^3.12"
        flask = "^3.0"

        [tool.poetry.dev-dependencies]
        black = "^24.0"

        [tool.poetry.group.test.dependencies]
        pytest = "^8.0"

        [tool.poetry.group.docs]
        optional = true

        [tool.poetry.group.docs.dependencies]
        mkdocs = "^1.5"

        [dependency-groups]
        lint = ["ruff"]
        """);
    write("poetry.lock", "# lock\n");
    assertThat(plan(false).ciInstalls())
        .containsExactly("Poetry group 'dev'", "Poetry group 'test'", "Poetry group 'lint'");
  }

  @Test
  void uvAddsTheDefaultGroups() throws Exception {
    write(".python-version", "3.12\n");
    write("uv.lock", "version = 1\n");
    write(
        "pyproject.toml",
        """
        [project]
        name = "shop"
        version = "0.1.0"
        dependencies = ["flask"]

        [dependency-groups]
        dev = ["pytest"]
        lint = ["ruff"]
        """);
    assertThat(plan(false).ciInstalls()).containsExactly("uv group 'dev'");

    write(
        "pyproject.toml",
        """
        [project]
        name = "shop"
        version = "0.1.0"

        [dependency-groups]
        dev = ["pytest"]
        lint = ["ruff"]

        [tool.uv]
        default-groups = ["lint"]
        """);
    assertThat(plan(false).ciInstalls()).containsExactly("uv group 'lint'");

    write(
        "pyproject.toml",
        """
        [project]
        name = "shop"
        version = "0.1.0"

        [dependency-groups]
        dev = ["pytest"]
        lint = ["ruff"]

        [tool.uv]
        default-groups = "all"
        """);
    assertThat(plan(false).ciInstalls()).containsExactly("uv group 'dev'", "uv group 'lint'");
  }

  @Test
  void pipenvAddsTheDevPackages() throws Exception {
    write(
        "Pipfile",
        """
        [packages]
        flask = "*"

        [dev-packages]
        pytest = "*"
        """);
    write(
        "Pipfile.lock",
        "{\"_meta\": {\"requires\": {\"python_version\": \"3.12\"}}, \"default\": {}, \"develop\": {}}");
    assertThat(plan(false).ciInstalls()).containsExactly("the Pipfile's [dev-packages]");
  }
}
