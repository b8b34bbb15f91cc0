package dev.kiln.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class RuntimeImageReferenceTest {

  @Test
  void tarPrefixNamesADockerSaveTarball() {
    var reference = RuntimeImageReference.parse("tar:/var/lib/kiln/python-3.12.7.tar");

    assertThat(reference)
        .isEqualTo(new RuntimeImageReference.Tarball(Path.of("/var/lib/kiln/python-3.12.7.tar")));
    assertThat(reference.toString()).isEqualTo("tar:/var/lib/kiln/python-3.12.7.tar");
    assertThat(reference.usesPlainHttp()).isFalse();
  }

  @Test
  void relativeTarballPathIsRejectedWithTheFix() {
    assertThatThrownBy(() -> RuntimeImageReference.parse("tar:images/python.tar"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'images/python.tar'")
        .hasMessageContaining("tar:/absolute/path/to/image.tar");
  }

  @Test
  void dockerPrefixNamesADaemonImage() {
    var reference = RuntimeImageReference.parse("docker:kiln/python:3.12.7");

    assertThat(reference).isInstanceOf(RuntimeImageReference.DockerDaemon.class);
    assertThat(((RuntimeImageReference.DockerDaemon) reference).image().getRepository())
        .isEqualTo("kiln/python");
    assertThat(reference.toString()).isEqualTo("docker:kiln/python:3.12.7");
  }

  @Test
  void registryPrefixAndBareReferencesNameTheSameRegistryImage() {
    var prefixed = RuntimeImageReference.parse("registry:registry.example.com:5000/py/python:3.12");
    var bare = RuntimeImageReference.parse("registry.example.com:5000/py/python:3.12");

    assertThat(prefixed).isEqualTo(bare);
    var image = ((RuntimeImageReference.Registry) bare).image();
    assertThat(image.getRegistry()).isEqualTo("registry.example.com:5000");
    assertThat(image.getRepository()).isEqualTo("py/python");
    assertThat(image.getQualifier()).isEqualTo("3.12");
    assertThat(bare.usesPlainHttp()).isFalse();
  }

  @Test
  void onlyLoopbackRegistriesUsePlainHttp() {
    assertThat(RuntimeImageReference.parse("localhost:5000/python:3.12").usesPlainHttp()).isTrue();
    assertThat(RuntimeImageReference.parse("127.0.0.1:41234/python:3.12").usesPlainHttp()).isTrue();
    assertThat(RuntimeImageReference.parse("localhost/python:3.12").usesPlainHttp()).isTrue();
    assertThat(RuntimeImageReference.parse("python:3.12-slim").usesPlainHttp()).isFalse();
    assertThat(RuntimeImageReference.parse("localhost.example.com/python:3").usesPlainHttp())
        .isFalse();
  }

  @Test
  void invalidImageNamesAreRejectedListingTheForms() {
    assertThatThrownBy(() -> RuntimeImageReference.parse("registry:Python:3.12"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'registry:Python:3.12' is not a valid image name")
        .hasMessageContaining("tar:/abs/path.tar");
    assertThatThrownBy(() -> RuntimeImageReference.parse("docker:"))
        .hasMessageContaining("names no image");
    assertThatThrownBy(() -> RuntimeImageReference.parse("  ")).hasMessageContaining("is empty");
    assertThatThrownBy(() -> RuntimeImageReference.parse("scratch"))
        .hasMessageContaining("has no Python");
  }
}
