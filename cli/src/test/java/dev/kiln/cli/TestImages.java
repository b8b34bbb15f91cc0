package dev.kiln.cli;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.testkit.ImageContents;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.startupcheck.OneShotStartupCheckStrategy;
import org.testcontainers.utility.DockerImageName;

/** Images the farm built, loaded into and run on the local Docker daemon. */
final class TestImages {
  private TestImages() {}

  /** Skips (or, with CI=true, fails) the calling test class when no Docker daemon answers. */
  static void requireDockerDaemon() {
    if (DockerClientFactory.instance().isDockerAvailable()) {
      return;
    }
    String howToStart =
        "start one with .ci/start-dockerd (as root; needs Debian's docker.io package)";
    if ("true".equals(System.getenv("CI"))) {
      fail("CI=true but no Docker daemon is reachable; " + howToStart);
    }
    assumeTrue(false, "No Docker daemon is reachable, so built images cannot run; " + howToStart);
  }

  /** Loads an image tarball ({@code tar:…} reference or path) and returns its name. */
  static String load(String imageReference) throws IOException {
    Path tarball = Path.of(imageReference.replaceFirst("^tar:", ""));
    String name = ImageContents.repoTags(tarball).get(0);
    try (InputStream in = Files.newInputStream(tarball)) {
      DockerClientFactory.instance().client().loadImageCmd(in).exec();
    }
    return name;
  }

  /** Runs {@code command} in the image to its end and returns what it printed. */
  static String run(String image, String... command) {
    try (GenericContainer<?> container =
        new GenericContainer<>(DockerImageName.parse(image))
            .withImagePullPolicy(name -> false)
            .withCommand(command)
            .withStartupCheckStrategy(
                new OneShotStartupCheckStrategy().withTimeout(Duration.ofMinutes(1)))) {
      container.start();
      return container.getLogs();
    }
  }

  /**
   * Starts the image's run command, waits for HTTP 200 on {@code path} of port 8080 and returns
   * that response's body.
   */
  static String serve(String image, String path) throws Exception {
    try (GenericContainer<?> app =
        new GenericContainer<>(DockerImageName.parse(image))
            .withImagePullPolicy(name -> false)
            .withExposedPorts(8080)
            .waitingFor(
                org.testcontainers.containers.wait.strategy.Wait.forHttp(path)
                    .forStatusCode(200)
                    .withStartupTimeout(Duration.ofMinutes(1)))) {
      app.start();
      java.net.http.HttpResponse<String> response =
          java.net.http.HttpClient.newHttpClient()
              .send(
                  java.net.http.HttpRequest.newBuilder(
                          java.net.URI.create(
                              "http://" + app.getHost() + ":" + app.getMappedPort(8080) + path))
                      .build(),
                  java.net.http.HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new AssertionError(
            image + " answered " + response.statusCode() + " on " + path + ":\n" + app.getLogs());
      }
      return response.body();
    }
  }
}
