package dev.kiln.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.Jib;
import com.google.cloud.tools.jib.api.JibContainer;
import com.google.cloud.tools.jib.api.RegistryImage;
import com.google.cloud.tools.jib.api.buildplan.AbsoluteUnixPath;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalRegistryTest {

  private final HttpClient http = HttpClient.newHttpClient();

  @Test
  void answersTheRegistryApiOnItsLoopbackAddress() throws Exception {
    try (LocalRegistry registry = LocalRegistry.start()) {
      HttpResponse<String> base = get(registry.uri().resolve("/v2/"));
      HttpResponse<String> catalog = get(registry.uri().resolve("/v2/_catalog"));

      assertThat(registry.address()).isEqualTo("127.0.0.1:" + registry.port());
      assertThat(base.statusCode()).isEqualTo(200);
      assertThat(base.headers().firstValue("Docker-Distribution-Api-Version"))
          .hasValue("registry/2.0");
      assertThat(catalog.body()).contains("\"repositories\":[]");
    }
  }

  @Test
  void storesAnImagePushedByJib(@TempDir Path work) throws Exception {
    Path app = Files.writeString(work.resolve("main.py"), "print('hello')\n");
    try (LocalRegistry registry = LocalRegistry.start()) {
      JibContainer pushed =
          Jib.fromScratch()
              .addLayer(List.of(app), AbsoluteUnixPath.get("/app"))
              .containerize(
                  Containerizer.to(RegistryImage.named(registry.address() + "/kiln/hello:1"))
                      .setAllowInsecureRegistries(true)
                      .setBaseImageLayersCache(work.resolve("jib-base-cache"))
                      .setApplicationLayersCache(work.resolve("jib-app-cache")));

      HttpResponse<String> manifest =
          http.send(
              HttpRequest.newBuilder(registry.uri().resolve("/v2/kiln/hello/manifests/1"))
                  .header(
                      "Accept",
                      "application/vnd.oci.image.manifest.v1+json,"
                          + " application/vnd.docker.distribution.manifest.v2+json")
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(get(registry.uri().resolve("/v2/_catalog")).body()).contains("kiln/hello");
      assertThat(manifest.statusCode()).isEqualTo(200);
      assertThat(manifest.headers().firstValue("Docker-Content-Digest"))
          .hasValue(pushed.getDigest().toString());
    }
  }

  @Test
  void twoRegistriesRunSideBySideOnDifferentPorts() throws Exception {
    try (LocalRegistry first = LocalRegistry.start();
        LocalRegistry second = LocalRegistry.start()) {
      assertThat(first.port()).isNotEqualTo(second.port());
      assertThat(get(second.uri().resolve("/v2/")).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void closingStopsTheRegistryAndDeletesItsStorage() throws Exception {
    LocalRegistry registry = LocalRegistry.start();
    Path storage = registry.storageDirectory();

    registry.close();
    registry.close();

    assertThat(storage).doesNotExist();
    assertThatThrownBy(() -> get(registry.uri().resolve("/v2/"))).isInstanceOf(IOException.class);
  }

  @Test
  void aMissingBinaryNamesTheDebianPackageToInstall(@TempDir Path work) {
    assertThatThrownBy(() -> LocalRegistry.start(work.resolve("docker-registry")))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("install Debian's docker-registry package");
  }

  private HttpResponse<String> get(URI uri) throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
  }
}
