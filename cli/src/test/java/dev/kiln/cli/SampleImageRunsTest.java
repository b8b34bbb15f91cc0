package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.testkit.ImageContents;
import dev.kiln.worker.runtime.LocalRuntimeImage;
import dev.kiln.worker.runtime.RuntimeImage;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * What {@code kiln demo} promises: the bundled sample, built offline by the farm, is an image that
 * runs on a Docker daemon and answers HTTP on {@code $PORT}.
 */
class SampleImageRunsTest {
  @TempDir Path temp;

  @BeforeAll
  static void requireDockerDaemon() {
    if (DockerClientFactory.instance().isDockerAvailable()) {
      return;
    }
    String howToStart =
        "start one with .ci/start-dockerd (as root; needs Debian's docker.io package)";
    if ("true".equals(System.getenv("CI"))) {
      fail("CI=true but no Docker daemon is reachable; " + howToStart);
    }
    assumeTrue(
        false, "No Docker daemon is reachable, so the built image cannot be run; " + howToStart);
  }

  @Test
  void sampleAppImageAnswersHttpOnItsPort() throws Exception {
    Path samples = Path.of("..", "samples").toAbsolutePath().normalize();
    RuntimeImage runtime = LocalRuntimeImage.in(temp.resolve("runtimes")).ensureAvailable();
    FarmSettings settings =
        new FarmSettings(
            temp.resolve("home"),
            null,
            samples.resolve("index/simple").toUri().toString(),
            null,
            0,
            0,
            1,
            null,
            "");
    StringWriter log = new StringWriter();
    PushCommand.Result result;
    try (Farm farm =
        Farm.start(
            settings,
            new OfflineRuntime.Override(
                runtime.pythonMinorVersion(), "tar:" + runtime.tarball(), runtime.pythonVersion()),
            line -> log.append(line).append('\n'))) {
      result =
          PushCommand.push(
              farm.endpoints(),
              settings.home(),
              samples.resolve("hello-wsgi").toString(),
              "demo",
              "hello-wsgi",
              null,
              Map.of(),
              Duration.ofMinutes(5),
              new PrintWriter(log, true));
    }
    assertThat(result.exitCode()).as(log.toString()).isZero();

    Path tarball = Path.of(result.outcome().imageReady().image().replaceFirst("^tar:", ""));
    String name = ImageContents.repoTags(tarball).get(0);
    try (InputStream in = Files.newInputStream(tarball)) {
      DockerClientFactory.instance().client().loadImageCmd(in).exec();
    }
    try (GenericContainer<?> app =
        new GenericContainer<>(DockerImageName.parse(name))
            .withImagePullPolicy(imageName -> false)
            .withExposedPorts(8080)
            .waitingFor(
                Wait.forHttp("/health")
                    .forStatusCode(200)
                    .withStartupTimeout(Duration.ofMinutes(1)))) {
      app.start();
      HttpResponse<String> response =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(
                          URI.create(
                              "http://" + app.getHost() + ":" + app.getMappedPort(8080) + "/"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());

      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body()).contains("Hello from Kiln!").contains("listening on port 8080");
      assertThat(app.getLogs()).contains("GET / HTTP/1.1");
    }
  }
}
