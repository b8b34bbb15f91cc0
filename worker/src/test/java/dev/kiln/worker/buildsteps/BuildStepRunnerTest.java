package dev.kiln.worker.buildsteps;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.buildpack.BuildStepRules;
import dev.kiln.testkit.NltkDataTree;
import dev.kiln.worker.sandbox.Sandbox;
import dev.kiln.worker.sandbox.SandboxLimits;
import dev.kiln.worker.steps.StepFailure;
import dev.kiln.worker.testsupport.CacheServiceFixture;
import dev.kiln.worker.testsupport.RecordingLog;
import dev.kiln.worker.testsupport.TestRootfs;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each build step in the real sandbox on the real bookworm runtime, with the real cache-service
 * serving an NLTK data index this test writes.
 */
class BuildStepRunnerTest {
  @TempDir static Path shared;
  @TempDir Path temp;
  private static Path rootfs;
  private static CacheServiceFixture cache;
  private Path app;
  private Path deps;

  @BeforeAll
  static void start() throws Exception {
    rootfs = TestRootfs.bookworm();
    NltkDataTree nltk = NltkDataTree.in(shared.resolve("nltk_data"));
    nltk.addPackage("corpora", "stopwords", Map.of("english", "i\nme\n"));
    nltk.addPackage("tokenizers", "punkt", Map.of("README", "punkt\n"));
    nltk.addCollection("starter", "stopwords", "punkt");
    nltk.writeIndex();
    cache = CacheServiceFixture.start(shared, config -> config.withNltkDataUrl(nltk.indexUrl()));
  }

  @AfterAll
  static void stop() {
    cache.close();
  }

  @BeforeEach
  void app() throws Exception {
    app = Files.createDirectories(temp.resolve("app"));
    deps = Files.createDirectories(temp.resolve("deps"));
    Files.createDirectories(deps.resolve("greeting"));
    Files.writeString(deps.resolve("greeting/__init__.py"), "TEXT = 'from the deps'\n");
  }

  private BuildStepRunner runner(SandboxLimits limits) {
    return new BuildStepRunner(
        new Sandbox(Sandbox.Settings.defaults()), URI.create(cache.baseUrl()), limits);
  }

  private Map<String, String> run(
      List<BuildStepRules.Step> steps, Map<String, String> env, RecordingLog log)
      throws StepFailure {
    return runner(SandboxLimits.defaults())
        .runAfterInstall(
            new BuildStepRules.Plan(Optional.empty(), steps, List.of(), List.of()),
            new BuildStepRunner.Workspace(rootfs, app, deps, env),
            log);
  }

  private void write(String path, String content) throws Exception {
    Files.createDirectories(app.resolve(path).getParent());
    Files.writeString(app.resolve(path), content);
  }

  @Test
  void aPostCompileHookSeesTheBuildEnvAndTheDependenciesAndWritesIntoTheApp() throws Exception {
    write(
        "bin/post_compile",
        "#!/bin/sh\nset -e\npython3 -c 'import greeting; print(greeting.TEXT)'\n"
            + "echo \"$GREETING\" > built.txt\necho x > /opt/kiln/deps/greeting/x || echo read-only\n");
    RecordingLog log = new RecordingLog();

    run(
        List.of(new BuildStepRules.Hook("post_compile", "bin/post_compile")),
        Map.of("GREETING", "hello"),
        log);

    assertThat(log.text())
        .contains("-----> Running post-compile hook")
        .contains("       from the deps")
        .contains("       read-only");
    assertThat(app.resolve("built.txt")).hasContent("hello");
    assertThat(deps.resolve("greeting/x")).doesNotExist();
  }

  @Test
  void aFailingHookFailsWithItsCodeExitStatusAndLastLines() throws Exception {
    write("bin/post_compile", "echo 'assets missing'\nexit 4\n");

    assertThatThrownBy(
            () ->
                run(
                    List.of(new BuildStepRules.Hook("post_compile", "bin/post_compile")),
                    Map.of(),
                    new RecordingLog()))
        .isInstanceOfSatisfying(
            StepFailure.class,
            failure -> {
              assertThat(failure.code()).isEqualTo(BuildStepRunner.POST_COMPILE_FAILED);
              assertThat(failure.getMessage()).contains("exit status 4").contains("assets missing");
            });
  }

  @Test
  void aStepPastItsTimeLimitIsStoppedWithACode() throws Exception {
    write("bin/post_compile", "#!/bin/sh\nsleep 600\n");

    assertThatThrownBy(
            () ->
                runner(SandboxLimits.defaults().withTime(Duration.ofSeconds(2)))
                    .runHook(
                        new BuildStepRules.Hook("post_compile", "bin/post_compile"),
                        new BuildStepRunner.Workspace(rootfs, app, deps, Map.of()),
                        new RecordingLog()))
        .isInstanceOfSatisfying(
            StepFailure.class,
            failure -> {
              assertThat(failure.code()).isEqualTo(BuildStepRunner.TIMED_OUT);
              assertThat(failure.getMessage())
                  .contains("bin/post_compile did not finish within 2 seconds");
            });
  }

  @Test
  void collectstaticFailuresAreClassifiedAndNeverDumpTheEnvironment() throws Exception {
    write(
        "manage.py",
        "import sys\nsys.stderr.write('Traceback (most recent call last):\\n"
            + "django.core.exceptions.ImproperlyConfigured: STATIC_ROOT is not set\\n')\nsys.exit(1)\n");
    RecordingLog log = new RecordingLog();

    assertThatThrownBy(
            () ->
                run(
                    List.of(new BuildStepRules.Collectstatic("manage.py")),
                    Map.of("DATABASE_PASSWORD", "hunter2-secret"),
                    log))
        .isInstanceOfSatisfying(
            StepFailure.class,
            failure -> {
              assertThat(failure.code())
                  .isEqualTo(BuildStepRunner.COLLECTSTATIC_IMPROPERLY_CONFIGURED);
              assertThat(failure.getMessage())
                  .contains("STATIC_ROOT is not set")
                  .contains("DISABLE_COLLECTSTATIC=1")
                  .doesNotContain("hunter2-secret");
            });
    assertThat(log.text())
        .doesNotContain("hunter2-secret")
        .contains("-----> $ python manage.py collectstatic --noinput");
  }

  @Test
  void nltkCorporaAndCollectionsComeFromTheStoreIntoNltkData() throws Exception {
    RecordingLog log = new RecordingLog();

    Map<String, String> env =
        run(List.of(new BuildStepRules.NltkDownload(List.of("starter"))), Map.of(), log);

    assertThat(env).containsEntry("NLTK_DATA", "/app/.kiln/nltk_data");
    assertThat(app.resolve(".kiln/nltk_data/corpora/stopwords/english")).hasContent("i\nme");
    assertThat(app.resolve(".kiln/nltk_data/corpora/stopwords.zip")).exists();
    assertThat(app.resolve(".kiln/nltk_data/tokenizers/punkt/README")).exists();
  }

  @Test
  void anNltkCorpusTheStoreCannotProvideIsACodedErrorNamingIt() {
    assertThatThrownBy(
            () ->
                run(
                    List.of(new BuildStepRules.NltkDownload(List.of("stopwords", "wordnet"))),
                    Map.of(),
                    new RecordingLog()))
        .isInstanceOfSatisfying(
            StepFailure.class,
            failure -> {
              assertThat(failure.code()).isEqualTo(BuildStepRunner.NLTK_CORPUS_NOT_FOUND);
              assertThat(failure.getMessage()).contains("wordnet").doesNotContain("stopwords,");
            });
  }

  @Test
  void aStoreThatCannotReachItsNltkIndexIsACodedErrorSayingSoWithoutATraceback() throws Exception {
    try (CacheServiceFixture unreachable =
        CacheServiceFixture.start(
            temp.resolve("cache"),
            config -> config.withNltkDataUrl("http://127.0.0.1:9/index.xml"))) {
      BuildStepRunner runner =
          new BuildStepRunner(
              new Sandbox(Sandbox.Settings.defaults()),
              URI.create(unreachable.baseUrl()),
              SandboxLimits.defaults());

      assertThatThrownBy(
              () ->
                  runner.runAfterInstall(
                      new BuildStepRules.Plan(
                          Optional.empty(),
                          List.of(new BuildStepRules.NltkDownload(List.of("stopwords"))),
                          List.of(),
                          List.of()),
                      new BuildStepRunner.Workspace(rootfs, app, deps, Map.of()),
                      new RecordingLog()))
          .isInstanceOfSatisfying(
              StepFailure.class,
              failure -> {
                assertThat(failure.code()).isEqualTo(BuildStepRunner.NLTK_DOWNLOAD_FAILED);
                assertThat(failure.getMessage())
                    .contains("answered HTTP 502")
                    .contains("KILN_NLTK_DATA_URL")
                    .doesNotContain("Traceback");
              });
    }
  }

  @Test
  void aBuildCommandRunsInTheAppWithTheIndexAndFailsWithItsOwnCode() throws Exception {
    RecordingLog log = new RecordingLog();
    run(
        List.of(
            new BuildStepRules.BuildCommand(
                "python3 -c \"import urllib.request, os; print(urllib.request.urlopen(os.environ['PIP_INDEX_URL']).status)\" > index.txt")),
        Map.of(),
        log);
    assertThat(app.resolve("index.txt")).hasContent("200");

    assertThatThrownBy(
            () ->
                run(
                    List.of(new BuildStepRules.BuildCommand("false")),
                    Map.of(),
                    new RecordingLog()))
        .isInstanceOfSatisfying(
            StepFailure.class,
            failure -> assertThat(failure.code()).isEqualTo(BuildStepRunner.BUILD_COMMAND_FAILED));
  }
}
