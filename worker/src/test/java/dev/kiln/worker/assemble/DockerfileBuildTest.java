package dev.kiln.worker.assemble;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.events.AppSpec;
import dev.kiln.events.BuildIds;
import dev.kiln.events.BuildPlanSummary;
import dev.kiln.events.BuildTask;
import dev.kiln.events.TaskKind;
import dev.kiln.testkit.ImageContents;
import dev.kiln.worker.runtime.LocalRuntimeImage;
import dev.kiln.worker.steps.StepContext;
import dev.kiln.worker.steps.StepFailure;
import dev.kiln.worker.testsupport.RecordingLog;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * Dockerfile apps built on the local Docker daemon, on the offline bookworm runtime loaded into it
 * (nothing is pulled): the image answers HTTP, and broken Dockerfiles fail with their codes.
 */
class DockerfileBuildTest {
  private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
  private static String base;
  private static ExecutorService jib;

  @TempDir Path dir;

  @BeforeAll
  static void loadBase() throws Exception {
    if (!DockerClientFactory.instance().isDockerAvailable()) {
      if ("true".equals(System.getenv("CI"))) {
        fail("CI=true but no Docker daemon is reachable; start one with .ci/start-dockerd");
      }
      assumeTrue(false, "No Docker daemon is reachable, so Dockerfiles cannot be built");
    }
    Path tarball =
        LocalRuntimeImage.forSuite("bookworm", Path.of("target", "kiln-runtimes").toAbsolutePath())
            .ensureAvailable()
            .tarball();
    base = ImageContents.repoTags(tarball).get(0);
    try (InputStream in = Files.newInputStream(tarball)) {
      DockerClientFactory.instance().client().loadImageCmd(in).exec();
    }
    jib = AssembleStep.newJibExecutor();
  }

  @AfterAll
  static void stopJib() {
    if (jib != null) {
      jib.shutdownNow();
    }
  }

  @Test
  void aDockerfileAppBuildsIntoAnImageThatAnswersHttpTaggedForCi() throws Exception {
    Path checkout =
        source(
            "FROM "
                + base
                + "\n"
                + "ARG GREETING\n"
                + "COPY app.py /srv/app.py\n"
                + "RUN echo \"$GREETING\" > /tmp/greeting\n"
                + "ENV PORT=8080\n"
                + "CMD [\"python3\", \"/srv/app.py\"]\n",
            """
            import http.server, os
            class H(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    body = open("/tmp/greeting", "rb").read()
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(body)
            http.server.HTTPServer(("0.0.0.0", int(os.environ["PORT"])), H).serve_forever()
            """);
    String app = "df-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
    RecordingLog log = new RecordingLog();

    AssembledImage image =
        build(ImageTarget.dockerDaemon())
            .run(
                new StepContext(
                    task(app, Map.of("GREETING", "hello from a build arg")).withCi(true),
                    checkout,
                    log));

    // A CI build's image is tagged ci-<commit>, as buildpack images are.
    String name = "kiln-test/" + app + ":ci-" + COMMIT.substring(0, 12);
    var docker = DockerClientFactory.instance().client();
    try {
      assertThat(image.reference()).isEqualTo("docker:" + name);
      assertThat(image.digest().toString()).startsWith("sha256:");
      assertThat(log.text())
          .contains("Step 1/")
          .contains("Successfully built")
          .doesNotContain("DEPRECATED");
      try (GenericContainer<?> container =
          new GenericContainer<>(DockerImageName.parse(name))
              .withImagePullPolicy(n -> false)
              .withExposedPorts(8080)
              .waitingFor(
                  Wait.forHttp("/").forStatusCode(200).withStartupTimeout(Duration.ofMinutes(1)))) {
        container.start();
        HttpResponse<String> response =
            HttpClient.newHttpClient()
                .send(
                    HttpRequest.newBuilder(
                            URI.create(
                                "http://"
                                    + container.getHost()
                                    + ":"
                                    + container.getMappedPort(8080)
                                    + "/"))
                        .build(),
                    HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).contains("hello from a build arg");
      }
      // The unique build tag is gone once the image is delivered.
      assertThat(
              docker.listImagesCmd().withImageNameFilter(DockerfileBuild.LOCAL_REPOSITORY).exec())
          .allSatisfy(
              i ->
                  assertThat(i.getRepoTags())
                      .noneMatch(
                          t ->
                              t.contains(app)
                                  || t.contains(BuildIds.of("kiln-test", app, COMMIT))));
    } finally {
      docker.removeImageCmd(name).withForce(true).exec();
    }
  }

  @Test
  void anUnknownInstructionFailsAsInvalid() throws Exception {
    assertFails(
        "FROM " + base + "\nBOGUS instruction\n", DockerfileBuild.INVALID, "unknown instruction");
  }

  @Test
  void aFailingRunStepFailsAsRunFailed() throws Exception {
    assertFails(
        "FROM " + base + "\nRUN false\n", DockerfileBuild.RUN_FAILED, "returned a non-zero");
  }

  @Test
  void aBaseImageTheDaemonDoesNotHaveFailsWithoutAPull() throws Exception {
    assertFails(
        "FROM does-not-exist:1\nCMD [\"true\"]\n",
        DockerfileBuild.BASE_IMAGE_UNAVAILABLE,
        "does-not-exist:1");
  }

  @Test
  void aBuildOverItsTimeLimitIsStopped() throws Exception {
    Path checkout = source("FROM " + base + "\nRUN sleep 30\n", "");
    var step =
        new DockerfileBuild(
            DockerfileBuild.Settings.defaults().withTimeout(Duration.ofSeconds(3)),
            ImageTarget.dockerDaemon(),
            dir.resolve("work"),
            jib);

    assertThatThrownBy(
            () -> step.run(new StepContext(task("slow", Map.of()), checkout, new RecordingLog())))
        .isInstanceOf(StepFailure.class)
        .satisfies(e -> assertThat(((StepFailure) e).code()).isEqualTo(DockerfileBuild.TIMEOUT))
        .hasMessageContaining("3 s");
  }

  @Test
  void aPlanOfDockerfileStrategyOnAnAssembleStepWithoutABuilderFailsWithNoBuilder() {
    assertThat(DockerfileBuild.noBuilder(task("x", Map.of())).code())
        .isEqualTo(DockerfileBuild.NO_BUILDER);
    assertThat(DockerfileBuild.noBuilder(task("x", Map.of())).getMessage())
        .contains("--dockerfile-builder docker");
  }

  @Test
  void fromLinesNameTheirImagesAndStages() {
    java.util.Set<String> stages = new java.util.HashSet<>();
    assertThat(
            DockerfileBuild.fromImages(
                List.of(
                    "FROM --platform=linux/amd64 python:3.12 AS build",
                    "from build",
                    "# FROM commented:1",
                    "FROM scratch"),
                stages))
        .containsExactly("python:3.12", "build", "scratch");
    assertThat(stages).containsExactly("build");
  }

  private void assertFails(String dockerfile, String code, String builderOutput) throws Exception {
    Path checkout = source(dockerfile, "");
    RecordingLog log = new RecordingLog();

    assertThatThrownBy(
            () ->
                build(ImageTarget.tarballs(dir.resolve("images")))
                    .run(new StepContext(task("broken", Map.of()), checkout, log)))
        .isInstanceOf(StepFailure.class)
        .satisfies(e -> assertThat(((StepFailure) e).code()).isEqualTo(code))
        .hasMessageContaining(builderOutput);
    assertThat(dir.resolve("images")).doesNotExist();
  }

  private DockerfileBuild build(ImageTarget target) {
    return new DockerfileBuild(
        DockerfileBuild.Settings.defaults().withMemoryBytes(512L << 20),
        target,
        dir.resolve("work"),
        jib);
  }

  private Path source(String dockerfile, String appPy) throws Exception {
    Path checkout = Files.createDirectories(dir.resolve("checkout"));
    Files.writeString(checkout.resolve("Dockerfile"), dockerfile);
    Files.writeString(checkout.resolve("app.py"), appPy);
    return checkout;
  }

  private static BuildTask task(String app, Map<String, String> buildEnv) {
    String buildId = BuildIds.of("kiln-test", app, COMMIT);
    BuildPlanSummary plan =
        new BuildPlanSummary(
            "dockerfile",
            ".",
            null,
            null,
            null,
            null,
            null,
            null,
            List.of(),
            null,
            null,
            Map.of(),
            List.of(),
            null);
    return new BuildTask(
        buildId,
        BuildTask.taskId(buildId, TaskKind.ASSEMBLE, 1),
        TaskKind.ASSEMBLE,
        1,
        "kiln-test",
        app,
        "file:///srv/git/df",
        COMMIT,
        AppSpec.empty(),
        buildEnv,
        null,
        plan,
        null,
        null);
  }
}
