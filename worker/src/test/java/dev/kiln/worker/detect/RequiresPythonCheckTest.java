package dev.kiln.worker.detect;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.buildpack.BuildInputs;
import dev.kiln.buildpack.BuildPlanner;
import dev.kiln.buildpack.BuildpackLevel;
import dev.kiln.buildpack.Codes;
import dev.kiln.buildpack.PlanResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The classic buildpack's uv_mismatched_python_version and pipenv_mismatched_python_version. */
class RequiresPythonCheckTest {
  @TempDir Path temp;

  @Test
  void aUvAppWhosePyprojectRulesOutItsPythonVersionFailsWhenPlannedNotAtInstall() throws Exception {
    PlanResult plan =
        plan(
            Map.of(
                ".python-version", "# pinned\n3.13\n",
                "pyproject.toml",
                    "[project]\nname = \"app\"\nversion = \"0\"\nrequires-python = \"==3.12.*\"\n",
                "uv.lock", "version = 1\nrequires-python = \"==3.12.*\"\n"));

    assertThat(plan.error())
        .hasValueSatisfying(
            error -> {
              assertThat(error.code()).isEqualTo(Codes.PYTHON_VERSION_REQUIRES_PYTHON_CONFLICT);
              assertThat(error.message()).contains("3.13.15", "==3.12.*", "pyproject.toml");
            });
  }

  @Test
  void aUvLockAloneStatesTheRequirementWhenThePyprojectDoesNot() throws Exception {
    PlanResult plan =
        plan(
            Map.of(
                ".python-version", "3.13\n",
                "pyproject.toml", "[project]\nname = \"app\"\nversion = \"0\"\n",
                "uv.lock", "version = 1\nrequires-python = \">=3.14\"\n"));

    assertThat(plan.error().orElseThrow().code())
        .isEqualTo(Codes.PYTHON_VERSION_REQUIRES_PYTHON_CONFLICT);
  }

  @Test
  void aPipfileAskingForAnotherMinorThanDotPythonVersionFailsWhenPlanned() throws Exception {
    PlanResult plan =
        plan(
            Map.of(
                ".python-version", "3.13\n",
                "Pipfile", "[packages]\n\n[requires]\npython_version = \"3.12\"\n",
                "Pipfile.lock",
                    "{\"_meta\": {\"requires\": {\"python_version\": \"3.12\"}}, \"default\": {},"
                        + " \"develop\": {}}"));

    assertThat(plan.error().orElseThrow().message()).contains("python_version in the Pipfile");
  }

  @Test
  void requirementsTheVersionMeetsAndUnreadableOnesLeaveThePlanAlone() throws Exception {
    assertThat(
            plan(Map.of(
                    ".python-version", "3.13\n",
                    "pyproject.toml",
                        "[project]\nname = \"app\"\nversion = \"0\"\nrequires-python = \">=3.12\"\n",
                    "uv.lock", "version = 1\n"))
                .succeeded())
        .isTrue();
    assertThat(
            plan(Map.of(
                    ".python-version", "3.13\n",
                    "pyproject.toml", "[project\nthis is not TOML",
                    "uv.lock", "version = 1\n"))
                .error()
                .map(error -> error.code()))
        .isNotEqualTo(java.util.Optional.of(Codes.PYTHON_VERSION_REQUIRES_PYTHON_CONFLICT));
  }

  private PlanResult plan(Map<String, String> files) throws Exception {
    Path app = Files.createTempDirectory(temp, "app");
    for (Map.Entry<String, String> file : files.entrySet()) {
      Files.writeString(app.resolve(file.getKey()), file.getValue());
    }
    Files.writeString(app.resolve("Procfile"), "web: python app.py\n");
    BuildpackLevel level = BuildpackLevel.of(351);
    return new BuildPlanner(level.catalog())
        .withPythonRequirements(new RequiresPythonCheck())
        .plan(app, BuildInputs.builder().level(level).build());
  }
}
