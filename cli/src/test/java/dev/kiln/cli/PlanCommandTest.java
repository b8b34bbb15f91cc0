package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class PlanCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path temp;
  private Path app;
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  @BeforeEach
  void flaskApp() throws Exception {
    app = Files.createDirectories(temp.resolve("my-app"));
    Files.writeString(app.resolve("requirements.txt"), "flask==3.0.3\ngunicorn==22.0.0\n");
    Files.writeString(app.resolve("app.py"), "from flask import Flask\n\napp = Flask(__name__)\n");
  }

  private int plan(String... args) {
    CommandLine cli = new CommandLine(new PlanCommand());
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    return cli.execute(args);
  }

  private JsonNode json() throws Exception {
    return JSON.readTree(out.toString());
  }

  @Test
  void printsTheHerokuStyleLogAndExitsZeroForAPlan() {
    assertThat(plan(app.toString())).isZero();
    assertThat(out.toString())
        .contains("-----> Python app detected\n")
        .contains("-----> Using pip (found requirements.txt)\n")
        .contains("-----> No Python version was specified. Using the default: Python 3.13\n")
        .contains(" !     Warning: No Python version is specified.\n")
        .contains("-----> Run command detected (app.py with gunicorn): gunicorn app:app\n");
    assertThat(err.toString()).isEmpty();
  }

  @Test
  void aBuildpackVersionChoosesThatLevelsDefaultPythonAndAnUnknownOneIsAUsageError() {
    assertThat(plan("--buildpack-version", "351", app.toString())).isZero();
    assertThat(out.toString()).contains("Using the default: Python 3.14\n");

    assertThat(plan("--buildpack-version", "300", app.toString())).isEqualTo(2);
    assertThat(err.toString()).contains("v289, v322, v351");
  }

  @Test
  void jsonIsExactlyOneObjectWithTheDocumentedShape() throws Exception {
    Files.writeString(app.resolve(".python-version"), "3.12\n");
    assertThat(plan("--json", app.toString())).isZero();

    JsonNode plan = json();
    assertThat(plan.isObject()).isTrue();
    assertThat(plan.fieldNames())
        .toIterable()
        .contains(
            "strategy",
            "sourceDir",
            "python",
            "packageManager",
            "packageManagerFiles",
            "run",
            "warnings",
            "error");
    assertThat(plan.get("strategy").asText()).isEqualTo("buildpack");
    assertThat(plan.get("sourceDir").asText()).isEqualTo(".");
    assertThat(plan.get("python").get("version").asText()).isEqualTo("3.12.7");
    assertThat(plan.get("python").get("requested").asText()).isEqualTo("3.12");
    assertThat(plan.get("python").get("origin").asText()).isEqualTo(".python-version");
    assertThat(plan.get("packageManager").asText()).isEqualTo("pip");
    assertThat(plan.get("packageManagerFiles").toString()).isEqualTo("[\"requirements.txt\"]");
    assertThat(plan.get("run").get("command").asText()).isEqualTo("gunicorn app:app");
    assertThat(plan.get("run").get("source").asText()).isEqualTo("detected");
    assertThat(plan.get("warnings")).isEmpty();
    assertThat(plan.get("error").isNull()).isTrue();
  }

  @Test
  void appThatCannotBeBuiltExitsOneAndTheJsonKeepsWhatWasDetermined() throws Exception {
    Files.writeString(app.resolve("runtime.txt"), "python-2.7.18\n");
    assertThat(plan("--json", app.toString())).isEqualTo(1);

    JsonNode plan = json();
    assertThat(plan.get("error").get("code").asText()).isEqualTo("python-version::eol");
    assertThat(plan.get("error").get("message").asText())
        .contains("2.7.18")
        .contains(".python-version");
    assertThat(plan.get("packageManager").asText()).isEqualTo("pip");
    assertThat(plan.get("python").get("requested").asText()).isEqualTo("2.7.18");
    assertThat(plan.get("warnings").get(0).get("code").asText())
        .isEqualTo("runtime-txt::deprecated");
    assertThat(plan.get("run").isNull()).isTrue();
  }

  @Test
  void humanOutputOfAFailureShowsAFramedErrorBlock() throws Exception {
    Files.delete(app.resolve("requirements.txt"));
    assertThat(plan(app.toString())).isEqualTo(1);
    assertThat(out.toString())
        .contains(" !     Error: No package manager files were found")
        .contains(" !     (code: package-manager::none-found)");
  }

  @Test
  void missingDirectoryIsAUsageError() {
    assertThat(plan("--json", temp.resolve("nope").toString())).isEqualTo(2);
    assertThat(err.toString()).contains("kiln plan: DIR").contains("is not a directory");
    assertThat(out.toString()).isEmpty();
  }

  @Test
  void appSpecWithAComponentSetsSourceDirAndRunCommand() throws Exception {
    Path api = Files.createDirectories(temp.resolve("repo/services/api"));
    Files.writeString(api.resolve("requirements.txt"), "");
    Path spec =
        Files.writeString(
            temp.resolve("app.yaml"),
            """
        name: shop
        services:
          - name: web
            source_dir: /
          - name: api
            source_dir: services/api
            run_command: python -m http.server $PORT
        """);
    assertThat(
            plan(
                "--json",
                "--app-spec",
                spec.toString(),
                "--component",
                "api",
                temp.resolve("repo").toString()))
        .isZero();
    assertThat(json().get("sourceDir").asText()).isEqualTo("services/api");
    assertThat(json().get("run").get("source").asText()).isEqualTo("app-spec");
  }

  @Test
  void malformedAppSpecIsAUsageErrorWithTheReason() throws Exception {
    Path spec = Files.writeString(temp.resolve("app.yaml"), "services: [\n");
    assertThat(plan("--app-spec", spec.toString(), app.toString())).isEqualTo(2);
    assertThat(err.toString())
        .contains("--app-spec")
        .contains("not valid YAML")
        .contains("app-spec::invalid");
  }

  @Test
  void missingAppSpecFileAndUnknownComponentAreUsageErrors() throws Exception {
    assertThat(plan("--app-spec", temp.resolve("none.yaml").toString(), app.toString()))
        .isEqualTo(2);
    assertThat(err.toString()).contains("is not a file");

    Path spec = Files.writeString(temp.resolve("app.yaml"), "services:\n  - name: web\n");
    assertThat(plan("--app-spec", spec.toString(), "--component", "api", app.toString()))
        .isEqualTo(2);
    assertThat(err.toString()).contains("no component named 'api'").contains("web");
  }

  @Test
  void componentWithoutAppSpecIsAUsageError() {
    assertThat(plan("--component", "web", app.toString())).isEqualTo(2);
    assertThat(err.toString()).contains("--component needs --app-spec");
  }

  @Test
  void previousPythonIsUsedWhenTheAppNamesNoVersion() throws Exception {
    assertThat(plan("--json", "--previous-python", "3.11.4", app.toString())).isZero();
    assertThat(json().get("python").get("version").asText()).isEqualTo("3.11.10");
    assertThat(json().get("python").get("origin").asText()).isEqualTo("previous-build");
  }

  @Test
  void malformedPreviousPythonIsAUsageError() {
    assertThat(plan("--previous-python", "three", app.toString())).isEqualTo(2);
    assertThat(err.toString()).contains("--previous-python");
  }

  @Test
  void strictTurnsSeveralPackageManagersIntoAFailure() throws Exception {
    Files.writeString(app.resolve("Pipfile"), "[packages]\nflask = \"*\"\ngunicorn = \"*\"\n");
    assertThat(plan("--json", app.toString())).isZero();
    assertThat(json().get("warnings").get(0).get("code").asText())
        .isEqualTo("package-manager::multiple-found");

    out.getBuffer().setLength(0);
    assertThat(plan("--json", "--strict", app.toString())).isEqualTo(1);
    assertThat(json().get("error").get("code").asText())
        .isEqualTo("package-manager::multiple-found");
  }

  @Test
  void envOptionsAreBuildTimeVariables() {
    PlanCommand command =
        CommandLine.populateCommand(new PlanCommand(), "--env", "A=1", "--env", "B=x=y", "dir");
    assertThat(command.buildEnv).containsEntry("A", "1").containsEntry("B", "x=y");
    assertThat(plan("--env", "NOEQUALS", app.toString())).isEqualTo(2);
  }

  @Test
  void runtimeCatalogFileAddsVersions() throws Exception {
    Files.writeString(app.resolve(".python-version"), "3.14\n");
    assertThat(plan("--json", app.toString())).isEqualTo(1);
    assertThat(json().get("error").get("code").asText()).isEqualTo("python-version::unknown-major");

    Path catalog =
        Files.writeString(
            temp.resolve("catalog.json"),
            "{\"extends\": \"default\", \"minors\": {\"3.14\": {\"patches\": \"0-2\", \"imageTemplate\": \"registry:r/python:{version}\"}}}");
    out.getBuffer().setLength(0);
    assertThat(plan("--json", "--runtime-catalog", catalog.toString(), app.toString())).isZero();
    assertThat(json().get("python").get("version").asText()).isEqualTo("3.14.2");
  }

  @Test
  void brokenRuntimeCatalogIsAUsageError() throws Exception {
    Path catalog = Files.writeString(temp.resolve("catalog.json"), "{");
    assertThat(plan("--runtime-catalog", catalog.toString(), app.toString())).isEqualTo(2);
    assertThat(err.toString()).contains("--runtime-catalog").contains("runtime-catalog::invalid");
  }

  @Test
  void unknownOptionIsAUsageError() {
    assertThat(plan("--jsn", app.toString())).isEqualTo(2);
  }
}
