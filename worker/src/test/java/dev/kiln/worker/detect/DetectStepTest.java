package dev.kiln.worker.detect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.buildpack.BuildPlanner;
import dev.kiln.buildpack.RuntimeCatalog;
import dev.kiln.events.BuildTask;
import dev.kiln.events.IndexRef;
import dev.kiln.worker.steps.StepContext;
import dev.kiln.worker.steps.StepFailure;
import dev.kiln.worker.testsupport.RecordingLog;
import dev.kiln.worker.testsupport.Tasks;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DetectStepTest {
  private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
  private final DetectStep detect = new DetectStep(new BuildPlanner(RuntimeCatalog.loadDefault()));

  @TempDir Path tmp;

  private Path app(String name, Map<String, String> files) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve(name));
    for (var file : files.entrySet()) {
      Files.writeString(dir.resolve(file.getKey()), file.getValue());
    }
    return dir;
  }

  private static Map<String, String> flaskApp(String requirements, String pythonVersion) {
    return Map.of(
        "requirements.txt",
        requirements,
        ".python-version",
        pythonVersion + "\n",
        "Procfile",
        "web: gunicorn app:app\n",
        "app.py",
        "app = None\n");
  }

  private DetectStep.Detected run(Path dir, Map<String, String> buildEnv, RecordingLog log)
      throws StepFailure {
    return run(dir, buildEnv, log, null, false);
  }

  private DetectStep.Detected run(
      Path dir, Map<String, String> buildEnv, RecordingLog log, Integer level, boolean ci)
      throws StepFailure {
    BuildTask detectTask = Tasks.detect("acme", "web", "file:///repo", COMMIT);
    BuildTask task =
        new BuildTask(
            detectTask.buildId(),
            detectTask.taskId(),
            detectTask.kind(),
            1,
            "acme",
            "web",
            "file:///repo",
            COMMIT,
            null,
            buildEnv,
            null,
            null,
            null,
            null,
            List.of(new IndexRef("corp", "https://pkgs.acme.test/simple/")));
    return detect.run(new StepContext(task.withBuildpackLevel(level).withCi(ci), dir, log));
  }

  @Test
  void theTasksBuildpackLevelDecidesTheRulesAndTheDefaultPythonOnTheFarmsRuntimes()
      throws Exception {
    Map<String, String> files = new java.util.HashMap<>(flaskApp("gunicorn==22.0.0\n", "3.12"));
    files.remove(".python-version");
    Path dir = app("unpinned", files);
    Files.createDirectories(dir.resolve(".heroku/python"));

    RecordingLog farmRules = new RecordingLog();
    DetectStep.Detected lenient = run(dir, Map.of(), farmRules, null, false);
    assertThat(lenient.plan().pythonVersion()).isEqualTo("3.13.5");
    assertThat(farmRules.text()).contains("source::heroku-python-dir");

    RecordingLog at351 = new RecordingLog();
    assertThatThrownBy(() -> run(dir, Map.of(), at351, 351, false))
        .isInstanceOfSatisfying(
            StepFailure.class, f -> assertThat(f.code()).isEqualTo("source::heroku-python-dir"));
    assertThat(at351.text()).contains("behaviour of buildpack version 351");

    Files.delete(dir.resolve(".heroku/python"));
    // v351's default is 3.14; this farm's default catalog has no 3.14 runtime.
    assertThatThrownBy(() -> run(dir, Map.of(), new RecordingLog(), 351, false))
        .isInstanceOfSatisfying(
            StepFailure.class, f -> assertThat(f.code()).isEqualTo("python-version::not-on-farm"));
    assertThat(run(dir, Map.of(), new RecordingLog(), 322, false).plan().pythonVersion())
        .isEqualTo("3.13.5");
  }

  @Test
  void aForgedTaskWithALevelKilnDoesNotKnowFailsWithoutPlanning() throws Exception {
    Path dir = app("a", flaskApp("gunicorn==22.0.0\n", "3.12"));
    assertThatThrownBy(() -> run(dir, Map.of(), new RecordingLog(), 300, false))
        .isInstanceOfSatisfying(
            StepFailure.class, f -> assertThat(f.code()).isEqualTo("buildpack::unknown-level"));
  }

  @Test
  void aCiBuildReadsTheTestRequirementsAndHasADependencyKeyOfItsOwn() throws Exception {
    Map<String, String> files = new java.util.HashMap<>(flaskApp("gunicorn==22.0.0\n", "3.12"));
    files.put("requirements-test.txt", "pytest==8.0.0\n");
    Path dir = app("tested", files);

    DetectStep.Detected normal = run(dir, Map.of(), new RecordingLog(), null, false);
    DetectStep.Detected ci = run(dir, Map.of(), new RecordingLog(), null, true);

    assertThat(normal.plan().requirementFiles()).containsExactly("requirements.txt");
    assertThat(ci.plan().requirementFiles())
        .containsExactly("requirements.txt", "requirements-test.txt");
    assertThat(ci.dependencyKey()).isNotEqualTo(normal.dependencyKey());

    // Where the files are the same (no requirements-test.txt), the CI set still has its own key.
    Path plain = app("plain", flaskApp("gunicorn==22.0.0\n", "3.12"));
    assertThat(run(plain, Map.of(), new RecordingLog(), null, true).dependencyKey())
        .isNotEqualTo(run(plain, Map.of(), new RecordingLog(), null, false).dependencyKey());
  }

  @Test
  void plansAPipAppAndLogsThePlan() throws Exception {
    RecordingLog log = new RecordingLog();
    DetectStep.Detected detected =
        run(app("a", flaskApp("gunicorn==22.0.0\n", "3.12")), Map.of(), log);

    assertThat(detected.plan().strategy()).isEqualTo("buildpack");
    assertThat(detected.plan().pythonVersion()).isEqualTo("3.12.7");
    assertThat(detected.plan().pythonOrigin()).isEqualTo(".python-version");
    assertThat(detected.plan().packageManager()).isEqualTo("pip");
    assertThat(detected.plan().runCommand()).isEqualTo("gunicorn app:app");
    assertThat(detected.dependencyKey()).matches("[0-9a-f]{64}");
    assertThat(log.text()).contains("3.12");
  }

  @Test
  void theKeyIsTheSameForTheSameInputsWhereverTheyAre() throws Exception {
    String first =
        run(app("a", flaskApp("gunicorn==22.0.0\n", "3.12")), Map.of(), new RecordingLog())
            .dependencyKey();
    String again = run(tmp.resolve("a"), Map.of(), new RecordingLog()).dependencyKey();
    Map<String, String> otherAppCode =
        new java.util.HashMap<>(flaskApp("gunicorn==22.0.0\n", "3.12"));
    otherAppCode.put("app.py", "app = 'something else'\n");
    String elsewhere = run(app("b", otherAppCode), Map.of(), new RecordingLog()).dependencyKey();

    assertThat(again).isEqualTo(first);
    assertThat(elsewhere).isEqualTo(first);
  }

  @Test
  void theKeyChangesWithTheRequirementsBytes() throws Exception {
    String pinned =
        run(app("a", flaskApp("gunicorn==22.0.0\n", "3.12")), Map.of(), new RecordingLog())
            .dependencyKey();
    String bumped =
        run(app("b", flaskApp("gunicorn==23.0.0\n", "3.12")), Map.of(), new RecordingLog())
            .dependencyKey();
    String commented =
        run(
                app("c", flaskApp("gunicorn==22.0.0\n# web server\n", "3.12")),
                Map.of(),
                new RecordingLog())
            .dependencyKey();

    assertThat(bumped).isNotEqualTo(pinned);
    assertThat(commented).isNotEqualTo(pinned);
  }

  @Test
  void theKeyChangesWithTheResolvedPythonVersion() throws Exception {
    String minor =
        run(app("a", flaskApp("gunicorn==22.0.0\n", "3.12")), Map.of(), new RecordingLog())
            .dependencyKey();
    String samePatch =
        run(app("b", flaskApp("gunicorn==22.0.0\n", "3.12.7")), Map.of(), new RecordingLog())
            .dependencyKey();
    String olderPatch =
        run(app("c", flaskApp("gunicorn==22.0.0\n", "3.12.6")), Map.of(), new RecordingLog())
            .dependencyKey();
    String otherMinor =
        run(app("d", flaskApp("gunicorn==22.0.0\n", "3.11")), Map.of(), new RecordingLog())
            .dependencyKey();

    assertThat(samePatch).as("3.12 resolves to 3.12.7").isEqualTo(minor);
    assertThat(olderPatch).isNotEqualTo(minor);
    assertThat(otherMinor).isNotEqualTo(minor);
  }

  @Test
  void theKeyChangesWithTheExtraIndexButNotWithOtherBuildVariables() throws Exception {
    Path dir = app("a", flaskApp("gunicorn==22.0.0\n", "3.12"));
    String plain = run(dir, Map.of(), new RecordingLog()).dependencyKey();
    String withDebug = run(dir, Map.of("DEBUG", "1"), new RecordingLog()).dependencyKey();
    String withIndex =
        run(
                dir,
                Map.of("PIP_EXTRA_INDEX_URL", "https://pkgs.acme.test/simple/"),
                new RecordingLog())
            .dependencyKey();

    assertThat(withDebug).isEqualTo(plain);
    assertThat(withIndex).isNotEqualTo(plain);
  }

  @Test
  void anExtraIndexTheTenantHasNotConfiguredCannotBypassTheCacheService() throws Exception {
    Path dir = app("a", flaskApp("gunicorn==22.0.0\n", "3.12"));

    assertThatThrownBy(
            () ->
                run(
                    dir,
                    Map.of("PIP_EXTRA_INDEX_URL", "https://user:hunter2@evil.example/simple/"),
                    new RecordingLog()))
        .isInstanceOf(StepFailure.class)
        .satisfies(
            e ->
                assertThat(((StepFailure) e).code())
                    .isEqualTo("requirements::index-option-not-allowed"))
        .hasMessageContaining("evil.example/simple/")
        .hasMessageContaining("kiln tenants index")
        .hasMessageNotContaining("hunter2");
  }

  @Test
  void aPlanFailureBecomesAStepFailureWithThePlansCode() throws Exception {
    Path empty = app("empty", Map.of("README.md", "hello\n"));

    assertThatThrownBy(() -> run(empty, Map.of(), new RecordingLog()))
        .isInstanceOf(StepFailure.class)
        .satisfies(e -> assertThat(((StepFailure) e).code()).isEqualTo("detect::no-python-files"))
        .hasMessageContaining("README.md");
  }

  @Test
  void aDockerfileAppFailsWithNoBuilderOnAWorkerWithoutOne() throws Exception {
    Path app = app("docker", Map.of("Dockerfile", "FROM scratch\n", "app.py", "x = 1\n"));

    assertThatThrownBy(() -> run(app, Map.of(), new RecordingLog()))
        .isInstanceOf(StepFailure.class)
        .satisfies(e -> assertThat(((StepFailure) e).code()).isEqualTo("dockerfile::no-builder"))
        .hasMessageContaining("no Dockerfile builder configured");
  }

  @Test
  void aDockerfileAppPlansADockerfileBuildOnAWorkerWithABuilder() throws Exception {
    Path app = app("docker", Map.of("Dockerfile", "FROM scratch\n", "app.py", "x = 1\n"));
    BuildTask detectTask = Tasks.detect("acme", "web", "file:///repo", COMMIT);

    DetectStep.Detected detected =
        detect
            .withDockerfileBuilder(true)
            .run(new StepContext(detectTask, app, new RecordingLog()));

    assertThat(detected.plan().strategy()).isEqualTo("dockerfile");
    assertThat(detected.dependencyKey()).isNull();
  }
}
