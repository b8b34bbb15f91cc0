package dev.kiln.worker.detect;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.buildpack.AppSpec;
import dev.kiln.buildpack.BuildInputs;
import dev.kiln.buildpack.BuildPlanner;
import dev.kiln.buildpack.BuildpackException;
import dev.kiln.buildpack.Codes;
import dev.kiln.buildpack.Diagnostic;
import dev.kiln.buildpack.PlanResult;
import dev.kiln.buildpack.PythonSelection;
import dev.kiln.buildpack.RunCommand;
import dev.kiln.buildpack.RuntimeCatalog;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The worker's DETECT behaviour on real app trees: runs every tree under {@code
 * buildpack-fixtures/<name>/} through the buildpack planner with the inputs of {@code
 * buildpack-fixtures/<name>.fixture.json} and checks every plan field against the expectations
 * there. The format of a fixture file is described in {@code buildpack-fixtures/README.md}.
 */
class BuildpackFixtureSuiteTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final RuntimeCatalog CATALOG = RuntimeCatalog.loadDefault();

  @TempDir Path temp;

  static Stream<Arguments> fixtures() throws IOException, URISyntaxException {
    Path root = fixturesRoot();
    List<Arguments> result = new ArrayList<>();
    try (Stream<Path> files = Files.list(root)) {
      files
          .filter(p -> p.getFileName().toString().endsWith(".fixture.json"))
          .sorted()
          .forEach(
              p ->
                  result.add(
                      Arguments.of(p.getFileName().toString().replace(".fixture.json", ""), p)));
    }
    return result.stream();
  }

  private static Path fixturesRoot() throws URISyntaxException {
    return Path.of(BuildpackFixtureSuiteTest.class.getResource("/buildpack-fixtures").toURI());
  }

  @Test
  void suiteHasAtLeastSixtyFixturesAndEveryFixtureHasATree() throws Exception {
    List<Arguments> all = fixtures().toList();
    assertThat(all).hasSizeGreaterThanOrEqualTo(60);
    for (Arguments fixture : all) {
      assertThat(fixturesRoot().resolve((String) fixture.get()[0])).isDirectory();
    }
  }

  @Test
  void suiteCoversEveryPlanCode() throws Exception {
    List<String> seen = new ArrayList<>();
    for (Arguments fixture : fixtures().toList()) {
      JsonNode expect = JSON.readTree(((Path) fixture.get()[1]).toFile()).path("expect");
      if (expect.path("error").isTextual()) {
        seen.add(expect.path("error").asText());
      }
      expect.path("warnings").forEach(w -> seen.add(w.asText()));
    }
    List<String> failures = new ArrayList<>(Codes.PLAN_FAILURES);
    // an unreadable file needs a non-root user to set up; the buildpack module's PlanRenderingTest
    // covers it directly
    failures.remove(Codes.SOURCE_UNREADABLE);
    assertThat(seen).containsAll(failures).containsAll(Codes.PLAN_WARNINGS);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("fixtures")
  void planMatchesFixture(String name, Path fixtureFile) throws Exception {
    JsonNode fixture = JSON.readTree(fixtureFile.toFile());
    Path repository = temp.resolve("repo");
    Path outside = Files.createDirectories(temp.resolve("outside"));
    Files.writeString(outside.resolve("secret.txt"), "not for builds\n");
    Files.writeString(outside.resolve("requirements.txt"), "gunicorn\n");
    copyTree(fixtureFile.resolveSibling(name), repository);
    applySetup(fixture.path("setup"), repository, outside);

    BuildInputs inputs = inputs(fixture.path("inputs"));
    // A fixture may name a behaviour level; it then plans with that level's runtime catalog, or,
    // with a farm catalog too, with the level's versions on the farm's runtimes (as DETECT does).
    JsonNode farm = fixture.path("inputs").path("farmCatalog");
    RuntimeCatalog catalog =
        inputs.level() == null
            ? CATALOG
            : farm.isMissingNode()
                ? inputs.level().catalog()
                : (farm.asText().equals("offline")
                        ? RuntimeCatalog.loadOffline()
                        : RuntimeCatalog.loadDefault())
                    .atLevel(inputs.level().catalog());
    PlanResult plan =
        new BuildPlanner(catalog)
            .withPythonRequirements(new RequiresPythonCheck())
            .plan(repository, inputs);

    assertPlan(fixture.path("expect"), plan, name, catalog);
    assertRenderingsAreSafe(plan);
  }

  private static BuildInputs inputs(JsonNode inputs) throws BuildpackException {
    BuildInputs.Builder builder = BuildInputs.builder();
    if (inputs.hasNonNull("appSpec")) {
      builder.appSpec(AppSpec.fromYaml(inputs.get("appSpec").asText(), text(inputs, "component")));
    }
    Map<String, String> env = new LinkedHashMap<>();
    inputs.path("buildEnv").properties().forEach(e -> env.put(e.getKey(), e.getValue().asText()));
    if (inputs.hasNonNull("buildpackVersion")) {
      builder.level(dev.kiln.buildpack.BuildpackLevel.of(inputs.get("buildpackVersion").asInt()));
    }
    return builder
        .buildEnv(env)
        .previousPythonVersion(text(inputs, "previousPython"))
        .strict(inputs.path("strict").asBoolean(false))
        .dockerfileBuilderAvailable(inputs.path("dockerfileBuilderAvailable").asBoolean(true))
        .build();
  }

  private static void assertPlan(
      JsonNode expect, PlanResult plan, String name, RuntimeCatalog catalog) {
    String context = name + ": " + plan.toJson();
    assertThat(plan.error().map(Diagnostic::code).orElse(null))
        .as(context)
        .isEqualTo(text(expect, "error"));
    assertThat(plan.strategy()).as(context).isEqualTo(text(expect, "strategy"));
    assertThat(plan.sourceDir()).as(context).isEqualTo(text(expect, "sourceDir"));
    assertThat(plan.dockerfilePath()).as(context).isEqualTo(text(expect, "dockerfilePath"));
    JsonNode python = expect.path("python");
    if (python.isNull() || python.isMissingNode()) {
      assertThat(plan.python()).as(context).isNull();
    } else {
      assertThat(plan.python())
          .as(context)
          .isEqualTo(
              new PythonSelection(
                  text(python, "version"), text(python, "requested"), text(python, "origin")));
      if (python.hasNonNull("version")) {
        assertThat(plan.runtimeImage())
            .as(context)
            .isEqualTo(catalog.imageFor(python.get("version").asText()).orElseThrow());
      }
    }
    assertThat(plan.packageManager()).as(context).isEqualTo(text(expect, "packageManager"));
    assertThat(plan.packageManagerFiles())
        .as(context)
        .isEqualTo(strings(expect.path("packageManagerFiles")));
    assertThat(plan.requirementFiles())
        .as(context)
        .isEqualTo(strings(expect.path("requirementFiles")));
    JsonNode run = expect.path("run");
    if (run.isNull() || run.isMissingNode()) {
      assertThat(plan.run()).as(context).isNull();
    } else {
      assertThat(plan.run())
          .as(context)
          .isEqualTo(new RunCommand(text(run, "command"), text(run, "source")));
    }
    assertThat(plan.warnings().stream().map(Diagnostic::code).toList())
        .as(context)
        .isEqualTo(strings(expect.path("warnings")));
    for (String fragment : strings(expect.path("errorMessageContains"))) {
      assertThat(plan.error().orElseThrow().message()).as(context).contains(fragment);
    }
    for (String fragment : strings(expect.path("errorMessageDoesNotContain"))) {
      assertThat(plan.error().orElseThrow().message()).as(context).doesNotContain(fragment);
    }
    for (String fragment : strings(expect.path("warningMessagesContain"))) {
      assertThat(plan.warnings()).as(context).anyMatch(w -> w.message().contains(fragment));
    }
    if (expect.has("runtimeEnvironment")) {
      Map<String, String> env = new LinkedHashMap<>();
      expect
          .get("runtimeEnvironment")
          .properties()
          .forEach(e -> env.put(e.getKey(), e.getValue().asText()));
      assertThat(plan.runtimeEnvironment()).as(context).isEqualTo(env);
    } else if (plan.succeeded() && PlanResult.STRATEGY_BUILDPACK.equals(plan.strategy())) {
      assertThat(plan.runtimeEnvironment())
          .as(context)
          .containsKeys("PYTHONUNBUFFERED", "FORWARDED_ALLOW_IPS");
    } else {
      assertThat(plan.runtimeEnvironment()).as(context).isEmpty();
    }
    if (plan.succeeded()) {
      assertThat(plan.sourceRoot()).as(context).isAbsolute().isDirectory();
    }
  }

  /** Whatever the tree held, messages and log lines carry no control characters but newlines. */
  private static void assertRenderingsAreSafe(PlanResult plan) throws IOException {
    List<Diagnostic> all = new ArrayList<>(plan.warnings());
    plan.error().ifPresent(all::add);
    for (Diagnostic diagnostic : all) {
      assertThat(diagnostic.message().replace("\n", "")).doesNotContainPattern("\\p{Cc}");
      assertThat(diagnostic.code()).matches("[a-z-]+::[a-z-]+");
    }
    for (String line : plan.logLines()) {
      assertThat(line).doesNotContainPattern("\\p{Cc}");
    }
    plan.error()
        .ifPresent(
            error -> assertThat(plan.logLines()).contains(" !     (code: " + error.code() + ")"));
    JsonNode json = JSON.readTree(plan.toJson());
    assertThat(
            json.has("strategy")
                && json.has("sourceDir")
                && json.has("python")
                && json.has("packageManager")
                && json.has("packageManagerFiles")
                && json.has("run")
                && json.has("warnings")
                && json.has("error"))
        .isTrue();
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> paths = Files.walk(from)) {
      for (Path source : paths.sorted().toList()) {
        Path target = to.resolve(from.relativize(source).toString());
        if (Files.isDirectory(source)) {
          Files.createDirectories(target);
        } else if (!source.getFileName().toString().equals(".keep")) {
          Files.copy(source, target, StandardCopyOption.COPY_ATTRIBUTES);
        }
      }
    }
  }

  private static void applySetup(JsonNode steps, Path repository, Path outside)
      throws IOException, InterruptedException {
    for (JsonNode step : steps) {
      Path path = repository.resolve(step.path("path").asText());
      Files.createDirectories(path.getParent());
      switch (step.path("action").asText()) {
        case "write" -> {
          byte[] bytes =
              step.has("base64")
                  ? Base64.getDecoder().decode(step.get("base64").asText())
                  : step.has("repeat")
                      ? step.get("repeat")
                          .asText()
                          .repeat(step.get("times").asInt())
                          .getBytes(StandardCharsets.UTF_8)
                      : step.get("text").asText().getBytes(StandardCharsets.UTF_8);
          Files.write(path, bytes);
        }
        case "symlink" ->
            Files.createSymbolicLink(
                path,
                Path.of(step.get("target").asText().replace("{outside}", outside.toString())));
        case "mkdir" -> Files.createDirectories(path);
        case "fifo" -> {
          Process mkfifo = new ProcessBuilder("mkfifo", path.toString()).inheritIO().start();
          assertThat(mkfifo.waitFor()).isZero();
        }
        default -> throw new IllegalArgumentException("unknown setup action: " + step);
      }
    }
  }

  private static String text(JsonNode node, String field) {
    JsonNode value = node.get(field);
    return value == null || value.isNull() ? null : value.asText();
  }

  private static List<String> strings(JsonNode array) {
    List<String> result = new ArrayList<>();
    array.forEach(item -> result.add(item.asText()));
    return result;
  }
}
