package dev.kiln.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.startupcheck.OneShotStartupCheckStrategy;
import org.testcontainers.utility.DockerImageName;

/**
 * The runtime tarball, loaded into a real Docker daemon, runs Python. Skipped (with the reason)
 * only on a developer machine without a daemon; in CI ({@code CI=true}) a missing daemon fails.
 */
class LocalRuntimeImageContainerTest {

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
        false, "No Docker daemon is reachable, so the runtime image cannot be run; " + howToStart);
  }

  @Test
  void theLoadedRuntimeImageRunsPython3AndReportsItsVersion() throws Exception {
    RuntimeImage image = TestRuntimeImages.ensureAvailable(line -> {});
    try (InputStream tarball = Files.newInputStream(image.tarball())) {
      DockerClientFactory.instance().client().loadImageCmd(tarball).exec();
    }

    try (GenericContainer<?> python =
        new GenericContainer<>(DockerImageName.parse(image.reference()))
            .withImagePullPolicy(imageName -> false)
            .withCommand("python3", "-c", "import sys; print(sys.version)")
            .withStartupCheckStrategy(
                new OneShotStartupCheckStrategy().withTimeout(Duration.ofMinutes(1)))) {
      python.start();

      assertThat(python.getLogs()).startsWith(image.pythonVersion() + " ");
    }
  }
}
