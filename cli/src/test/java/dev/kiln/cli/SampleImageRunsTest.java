package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
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
    TestImages.requireDockerDaemon();
  }

  @Test
  void sampleAppImageAnswersHttpOnItsPort() throws Exception {
    Path samples = Path.of("..", "samples").toAbsolutePath().normalize();
    FarmSettings settings =
        FarmSettings.local(
            temp.resolve("home"),
            samples.resolve("index/simple").toUri().toString(),
            null,
            1,
            "offline");
    StringWriter log = new StringWriter();
    PushCommand.Result result;
    try (Farm farm = Farm.start(settings, line -> log.append(line).append('\n'))) {
      result =
          PushCommand.push(
              farm.endpoints(),
              settings.home(),
              samples.resolve("hello-wsgi").toString(),
              "demo",
              "hello-wsgi",
              null,
              null,
              Map.of(),
              Duration.ofMinutes(5),
              new PrintWriter(log, true));
    }
    assertThat(result.exitCode()).as(log.toString()).isZero();

    String name = TestImages.load(result.outcome().imageReady().image());
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
      // gunicorn writes the access-log line after it has answered: wait for it to arrive.
      String logs = app.getLogs();
      for (int i = 0; i < 100 && !logs.contains("GET / HTTP/1.1"); i++) {
        Thread.sleep(100);
        logs = app.getLogs();
      }
      assertThat(logs).contains("GET / HTTP/1.1");
    }
  }
}
