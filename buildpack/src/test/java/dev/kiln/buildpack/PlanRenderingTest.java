package dev.kiln.buildpack;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlanRenderingTest {
  private static final BuildPlanner PLANNER = new BuildPlanner(RuntimeCatalog.loadDefault());
  @TempDir Path app;

  @Test
  void jsonHasExactlyTheDocumentedShape() throws Exception {
    Files.writeString(
        app.resolve("Pipfile.lock"),
        "{\"_meta\": {\"requires\": {\"python_version\": \"3.12\"}}, \"default\": {}}");
    Files.writeString(app.resolve("requirements.txt"), "");
    Files.writeString(app.resolve("runtime.txt"), "python-3.12\n");
    Files.writeString(app.resolve("Procfile"), "web: gunicorn mysite.wsgi\n");
    JsonNode json = new ObjectMapper().readTree(PLANNER.plan(app, BuildInputs.defaults()).toJson());

    assertThat(json.get("strategy").asText()).isEqualTo("buildpack");
    assertThat(json.get("sourceDir").asText()).isEqualTo(".");
    assertThat(json.get("python").get("version").asText()).isEqualTo("3.12.7");
    assertThat(json.get("python").get("requested").asText()).isEqualTo("3.12");
    assertThat(json.get("python").get("origin").asText()).isEqualTo("runtime.txt");
    assertThat(json.get("packageManager").asText()).isEqualTo("pipenv");
    assertThat(json.get("packageManagerFiles")).hasSize(2);
    assertThat(json.get("packageManagerFiles").get(0).asText()).isEqualTo("Pipfile.lock");
    assertThat(json.get("run").get("command").asText()).isEqualTo("gunicorn mysite.wsgi");
    assertThat(json.get("run").get("source").asText()).isEqualTo("procfile");
    assertThat(json.get("warnings").get(0).get("code").asText())
        .isEqualTo("package-manager::multiple-found");
    assertThat(json.get("warnings").get(1).get("code").asText())
        .isEqualTo("runtime-txt::deprecated");
    assertThat(json.get("warnings").get(0).get("message").asText()).isNotBlank();
    assertThat(json.get("error").isNull()).isTrue();
  }

  @Test
  void failedPlanKeepsWhatWasDeterminedBeforeTheFailure() throws Exception {
    Files.writeString(app.resolve("requirements.txt"), "flask\n");
    Files.writeString(app.resolve(".python-version"), "3.7\n");
    PlanResult plan = PLANNER.plan(app, BuildInputs.defaults());
    JsonNode json = new ObjectMapper().readTree(plan.toJson());

    assertThat(plan.succeeded()).isFalse();
    assertThat(json.get("error").get("code").asText()).isEqualTo("python-version::eol");
    assertThat(json.get("packageManager").asText()).isEqualTo("pip");
    assertThat(json.get("python").get("requested").asText()).isEqualTo("3.7");
    assertThat(json.get("python").get("version").isNull()).isTrue();
    assertThat(json.get("run").isNull()).isTrue();
  }

  @Test
  void logUsesHerokuStepLinesIndentedDetailsAndFramedBlocks() throws Exception {
    Files.writeString(app.resolve("requirements.txt"), "gunicorn\n");
    Files.writeString(app.resolve("app.py"), "app = object()\n");
    List<String> lines = PLANNER.plan(app, BuildInputs.defaults()).logLines();

    assertThat(lines)
        .contains(
            "-----> Python app detected",
            "-----> Using pip (found requirements.txt)",
            "-----> No Python version was specified. Using the default: Python 3.13",
            "-----> Run command detected (app.py with gunicorn): gunicorn app:app");
    assertThat(lines).anyMatch(l -> l.startsWith("       Python 3.13.5 (runtime image "));
    int warning = lines.indexOf(" !     Warning: No Python version is specified.");
    assertThat(warning).isPositive();
    assertThat(lines.get(warning - 1)).isEmpty();
    assertThat(lines.get(warning + 1)).isEqualTo(" !");
    assertThat(lines).contains(" !     (code: python-version::unspecified)");
  }

  @Test
  void errorBlockQuotesControlBytesAsReplacementCharacters() throws Exception {
    Files.writeString(app.resolve("requirements.txt"), "");
    Files.write(
        app.resolve("runtime.txt"), new byte[] {'p', 'y', 0x1b, '[', '2', 'J', 0x00, '\r', 'x'});
    PlanResult plan = PLANNER.plan(app, BuildInputs.defaults());

    assertThat(plan.error().orElseThrow().message()).contains("py\uFFFD[2J\uFFFD\uFFFDx");
    assertThat(plan.logLines())
        .contains(
            " !     Error: runtime.txt does not name a Python version in the form Kiln understands.");
    assertThat(String.join("\n", plan.logLines()))
        .doesNotContain("\u001b")
        .doesNotContain("\u0000");
  }

  @Test
  void missingRepositoryIsAnUnreadableSourceNotAnException() {
    PlanResult plan = PLANNER.plan(app.resolve("does-not-exist"), BuildInputs.defaults());
    assertThat(plan.error().orElseThrow().code()).isEqualTo(Codes.SOURCE_UNREADABLE);
    assertThat(plan.strategy()).isNull();
  }

  @Test
  void repositoryThatIsAFileIsAnUnreadableSource() throws Exception {
    Path file = Files.writeString(app.resolve("file"), "x");
    assertThat(PLANNER.plan(file, BuildInputs.defaults()).error().orElseThrow().code())
        .isEqualTo(Codes.SOURCE_UNREADABLE);
  }

  @Test
  void requirementFilesAreReadWithThePlannersRulesIncludingSharedFilesOfAMonorepo()
      throws Exception {
    Path api = Files.createDirectories(app.resolve("services/api"));
    Files.createDirectories(app.resolve("shared"));
    Files.writeString(app.resolve("shared/base.txt"), "gunicorn\n");
    Files.writeString(api.resolve("requirements.txt"), "-r ../../shared/base.txt\n");
    Files.writeString(api.resolve("app.py"), "app = 1\n");
    BuildInputs inputs =
        BuildInputs.builder()
            .appSpec(new AppSpec("services/api", null, null, null, java.util.List.of()))
            .build();
    PlanResult plan = PLANNER.plan(app, inputs);

    assertThat(plan.requirementFiles())
        .containsExactly("requirements.txt", "../../shared/base.txt");
    assertThat(plan.readRequirementFiles())
        .containsOnlyKeys("requirements.txt", "../../shared/base.txt");
    assertThat(new String(plan.readRequirementFiles().get("../../shared/base.txt")))
        .isEqualTo("gunicorn\n");

    Files.delete(app.resolve("shared/base.txt"));
    Files.createSymbolicLink(app.resolve("shared/base.txt"), Path.of("/etc/passwd"));
    org.assertj.core.api.Assertions.assertThatThrownBy(plan::readRequirementFiles)
        .isInstanceOfSatisfying(
            BuildpackException.class,
            e -> assertThat(e.code()).isEqualTo(Codes.SOURCE_SYMLINK_OUTSIDE));
  }

  @Test
  void buildCommandFromTheAppSpecIsCarried() throws Exception {
    Files.writeString(app.resolve("requirements.txt"), "");
    Files.writeString(app.resolve("Procfile"), "web: x\n");
    BuildInputs inputs =
        BuildInputs.builder()
            .appSpec(new AppSpec(null, null, "npm run build", null, java.util.List.of()))
            .build();
    assertThat(PLANNER.plan(app, inputs).buildCommand()).isEqualTo("npm run build");
  }
}
