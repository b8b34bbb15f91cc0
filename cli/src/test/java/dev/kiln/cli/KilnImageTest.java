package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.api.command.InspectImageResponse;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;

/**
 * {@code kiln image build}'s builder makes an image of Kiln from the local base (no pulls) that the
 * Docker daemon loads and runs as the {@code kiln} command.
 */
class KilnImageTest {
  private static final String TAG = "kiln:test-" + UUID.randomUUID().toString().substring(0, 8);
  private static final List<String> progress = Collections.synchronizedList(new ArrayList<>());

  @BeforeAll
  static void buildTheImage() throws Exception {
    TestImages.requireDockerDaemon();
    TestKilnImage.build(TAG, progress::add);
  }

  @AfterAll
  static void removeTheImage() {
    if (DockerClientFactory.instance().isDockerAvailable()) {
      DockerClientFactory.instance().client().removeImageCmd(TAG).withForce(true).exec();
    }
  }

  @Test
  void theImageRunsTheKilnCommand() {
    assertThat(TestImages.run(TAG, "--version")).contains("kiln 0.1.0");
    assertThat(TestImages.run(TAG, "--help")).contains("cache-service", "image");
  }

  @Test
  void theImageHasJavaPythonGitAndBubblewrapFromTheLocalBase() {
    InspectImageResponse image =
        DockerClientFactory.instance().client().inspectImageCmd(TAG).exec();
    assertThat(image.getConfig().getEntrypoint())
        .startsWith("/opt/java/bin/java", "-cp")
        .endsWith("dev.kiln.cli.Main");
    assertThat(image.getConfig().getLabels()).containsKey("dev.kiln.base");
    assertThat(image.getConfig().getEnv()).contains("KILN_HOME=/var/lib/kiln");
    assertThat(progress).noneMatch(line -> line.contains("docker.io"));
  }
}
