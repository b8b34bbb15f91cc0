package dev.kiln.worker.assemble;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.cloud.tools.jib.api.buildplan.ImageFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageTargetTest {
  private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";

  @TempDir Path dir;

  @Test
  void aCiBuildsImageHasATagOfItsOwnSoItNeverReplacesTheImageDeployersRun() {
    ImageTarget registry = ImageTarget.registry("registry.example.com:5000");
    assertThat(registry.referenceFor("acme", "shop", COMMIT, true))
        .isEqualTo("registry.example.com:5000/acme/shop:ci-0123456789ab");
    ImageTarget tarballs = ImageTarget.parse("tarballs:" + dir);
    assertThat(tarballs.referenceFor("acme", "shop", COMMIT, true))
        .isNotEqualTo(tarballs.referenceFor("acme", "shop", COMMIT))
        .endsWith("ci-" + COMMIT + ".tar");
    ImageTarget layouts = ImageTarget.parse("oci-layouts:" + dir);
    assertThat(layouts.referenceFor("acme", "shop", COMMIT, true)).endsWith(":ci-0123456789ab");
  }

  @Test
  void registryTargetTagsTenantAppAndTheShortCommit() {
    ImageTarget target = ImageTarget.registry("registry.example.com:5000");

    assertThat(target.referenceFor("acme", "shop", COMMIT))
        .isEqualTo("registry.example.com:5000/acme/shop:0123456789ab");
    assertThat(target.open("acme", "shop", COMMIT).plainHttp()).isFalse();
    assertThat(ImageTarget.registry("localhost:5000").open("acme", "shop", COMMIT).plainHttp())
        .isTrue();
    assertThat(ImageTarget.registry("127.0.0.1:5000").open("acme", "shop", COMMIT).plainHttp())
        .isTrue();
  }

  @Test
  void registryTargetRejectsRepositoryPaths() {
    assertThatThrownBy(() -> ImageTarget.registry("localhost:5000/team"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'localhost:5000/team' is not HOST or HOST:PORT");
  }

  @Test
  void tarballTargetWritesUnderTenantAndAppInDockerFormat() {
    ImageTarget target = ImageTarget.tarballs(dir);

    assertThat(target.referenceFor("acme", "shop", COMMIT))
        .isEqualTo("tar:" + dir.resolve("acme/shop/" + COMMIT + ".tar"));
    ImageTarget.Delivery delivery = target.open("acme", "shop", COMMIT);
    assertThat(delivery.format()).isEqualTo(ImageFormat.Docker);
    assertThat(delivery.describe()).contains("docker load gives acme/shop:0123456789ab");
    delivery.abandon();
  }

  @Test
  void ociLayoutTargetNamesOneLayoutPerAppAndTheImageByItsShortCommit() throws Exception {
    ImageTarget target = ImageTarget.parse("oci-layouts:" + dir);

    assertThat(target.referenceFor("acme", "shop", COMMIT))
        .isEqualTo("oci:" + dir.resolve("acme/shop") + ":0123456789ab");
    ImageTarget.Delivery delivery = target.open("acme", "shop", COMMIT);
    assertThat(delivery.format()).isEqualTo(ImageFormat.OCI);
    assertThat(delivery.plainHttp()).isTrue(); // jib pushes to the layouts' loopback registry
    assertThat(delivery.complete()).isEqualTo(target.referenceFor("acme", "shop", COMMIT));
    assertThatThrownBy(() -> ImageTarget.parse("oci-layouts:"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("names no directory");
  }

  @Test
  void tarballAppearsOnlyWhenCompleteAndAbandonLeavesNothing() throws Exception {
    ImageTarget target = ImageTarget.tarballs(dir);
    Path appDir = dir.resolve("acme/shop");

    ImageTarget.Delivery abandoned = target.open("acme", "shop", COMMIT);
    abandoned.abandon();
    try (Stream<Path> files = Files.list(appDir)) {
      assertThat(files).isEmpty();
    }

    ImageTarget.Delivery delivered = target.open("acme", "shop", COMMIT);
    try (Stream<Path> files = Files.list(appDir)) {
      assertThat(files).noneMatch(file -> file.getFileName().toString().equals(COMMIT + ".tar"));
    }
    assertThat(delivered.complete()).isEqualTo("tar:" + appDir.resolve(COMMIT + ".tar"));
    try (Stream<Path> files = Files.list(appDir)) {
      assertThat(files).containsExactly(appDir.resolve(COMMIT + ".tar"));
    }
  }

  @Test
  void dockerDaemonTargetUsesDockerFormat() {
    ImageTarget target = ImageTarget.dockerDaemon();

    assertThat(target.referenceFor("acme", "shop", COMMIT))
        .isEqualTo("docker:acme/shop:0123456789ab");
    assertThat(target.open("acme", "shop", COMMIT).format()).isEqualTo(ImageFormat.Docker);
  }

  @Test
  void parseAcceptsTheThreeForms() {
    assertThat(ImageTarget.parse("registry:localhost:5000").toString())
        .isEqualTo("registry:localhost:5000");
    assertThat(ImageTarget.parse("tarballs:" + dir).toString()).isEqualTo("tarballs:" + dir);
    assertThat(ImageTarget.parse("docker").toString()).isEqualTo("docker");
    assertThatThrownBy(() -> ImageTarget.parse("s3://bucket"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'s3://bucket' is not understood")
        .hasMessageContaining("registry:HOST[:PORT]");
    assertThatThrownBy(() -> ImageTarget.parse("tarballs:"))
        .hasMessageContaining("names no directory");
  }

  @Test
  void namesThatCannotBeImageNamesAreRejected() {
    ImageTarget target = ImageTarget.registry("localhost:5000");

    assertThatThrownBy(() -> target.referenceFor("Acme", "shop", COMMIT))
        .hasMessageContaining("tenant 'Acme' cannot be part of an image name");
    assertThatThrownBy(() -> target.referenceFor("acme", "shop", "abc123"))
        .hasMessageContaining("'abc123' is not a full git commit id");
  }
}
