package dev.kiln.worker.assemble;

import static dev.kiln.worker.assemble.AssembleFixture.APP;
import static dev.kiln.worker.assemble.AssembleFixture.PYTHON;
import static dev.kiln.worker.assemble.AssembleFixture.TENANT;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.events.Digest;
import dev.kiln.worker.fs.BackgroundDeleter;
import dev.kiln.worker.steps.StepContext;
import dev.kiln.worker.testsupport.CacheServiceFixture;
import dev.kiln.worker.testsupport.RecordingLog;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ASSEMBLE into one OCI image layout per app: two builds keep the blobs they share once. */
class OciLayoutImagesTest {
  private static final String FIRST = "1111111111111111111111111111111111111111";
  private static final String SECOND = "2222222222222222222222222222222222222222";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir static Path shared;
  private static ExecutorService jibExecutor;
  private static BackgroundDeleter deleter;
  private static CacheServiceFixture cache;

  @TempDir Path dir;

  @BeforeAll
  static void start() throws Exception {
    jibExecutor = AssembleStep.newJibExecutor();
    cache = CacheServiceFixture.start(shared);
    deleter = new BackgroundDeleter(shared.resolve("trash"));
  }

  @AfterAll
  static void stop() {
    cache.close();
    jibExecutor.shutdownNow();
    deleter.close();
  }

  @Test
  void twoBuildsOfOneAppShareTheBaseAndDependencyBlobsOnDisk() throws Exception {
    Digest layerBlob =
        CacheBlobs.put(cache, AssembleFixture.dependencyLayerTar(), dir.resolve("scratch"));
    Path baseImage = AssembleFixture.writeBaseImage(dir.resolve("base"));
    Path images = dir.resolve("images");
    AssembleStep step =
        AssembleFixture.step(
                dir.resolve("work"),
                AssembleFixture.runtimes(dir, Map.of(PYTHON, "tar:" + baseImage), jibExecutor),
                ImageTarget.ociLayouts(images),
                LayerBlobSource.cacheService(cache.baseUrl()),
                cache.baseUrl(),
                deleter,
                jibExecutor)
            .build();
    Path checkout = AssembleFixture.writeSource(dir.resolve("checkout"));

    AssembledImage first = assemble(step, checkout, FIRST);
    Path layout = images.resolve(TENANT).resolve(APP);
    List<String> blobsAfterFirst = blobs(layout);
    Files.writeString(
        checkout.resolve("app.py"),
        "# changed\n",
        StandardCharsets.UTF_8,
        java.nio.file.StandardOpenOption.APPEND);
    AssembledImage second = assemble(step, checkout, SECOND);
    List<String> blobsAfterSecond = blobs(layout);

    assertThat(first.reference()).isEqualTo("oci:" + layout + ":111111111111");
    assertThat(second.reference()).isEqualTo("oci:" + layout + ":222222222222");
    assertThat(second.digest()).isNotEqualTo(first.digest());
    JsonNode firstManifest = manifest(layout, first.digest());
    JsonNode secondManifest = manifest(layout, second.digest());
    List<String> firstLayers = layerDigests(firstManifest);
    List<String> secondLayers = layerDigests(secondManifest);
    assertThat(firstLayers).hasSize(4); // base, dependencies, launcher, app
    // Everything but the app layer is the same blob, kept once: the second build added only its
    // app layer, config and manifest.
    List<String> sharedLayers = new ArrayList<>(firstLayers);
    sharedLayers.retainAll(secondLayers);
    assertThat(sharedLayers).hasSize(3);
    assertThat(blobsAfterSecond).hasSize(blobsAfterFirst.size() + 3).containsAll(blobsAfterFirst);

    // The base came from the tarball once (into images/.bases/) and its layer is the same file
    // (a hard link) in the app's layout: stored once on disk for every app built on it.
    String baseLayer = firstLayers.get(0).substring("sha256:".length());
    Path imported;
    try (Stream<Path> bases = Files.list(images.resolve(".bases"))) {
      imported = bases.findFirst().orElseThrow().resolve("blobs/sha256").resolve(baseLayer);
    }
    assertThat(Files.getAttribute(layout.resolve("blobs/sha256").resolve(baseLayer), "unix:ino"))
        .isEqualTo(Files.getAttribute(imported, "unix:ino"));

    // The dependency layer is the stored tar under /opt/kiln/deps, uncompressed and named so,
    // taken from the imported base (a hard link as well), not built by jib from the unpacked tree.
    JsonNode dependencyLayer = firstManifest.get("layers").get(1);
    assertThat(dependencyLayer.get("mediaType").asText())
        .isEqualTo("application/vnd.oci.image.layer.v1.tar");
    Path dependencyBlob =
        layout.resolve("blobs/sha256").resolve(dependencyLayer.get("digest").asText().substring(7));
    assertThat(tarNames(dependencyBlob))
        .containsExactly(
            "opt/",
            "opt/kiln/",
            "opt/kiln/deps/",
            "opt/kiln/deps/gunicorn/",
            "opt/kiln/deps/gunicorn/__init__.py",
            "opt/kiln/deps/gunicorn-23.0.0.dist-info/",
            "opt/kiln/deps/gunicorn-23.0.0.dist-info/METADATA",
            "opt/kiln/deps/bin/",
            "opt/kiln/deps/bin/gunicorn");
    assertThat(firstManifest.get("layers").get(0).get("mediaType").asText()).endsWith("+gzip");
    assertThat(firstManifest.get("layers").get(2).get("mediaType").asText()).endsWith("+gzip");
    Path importedDependencies;
    try (Stream<Path> bases = Files.list(images.resolve(".bases"))) {
      importedDependencies =
          bases
              .findFirst()
              .orElseThrow()
              .resolve("blobs/sha256")
              .resolve(dependencyBlob.getFileName());
    }
    assertThat(Files.getAttribute(dependencyBlob, "unix:ino"))
        .isEqualTo(Files.getAttribute(importedDependencies, "unix:ino"));
    // The config names one diff id per layer, the dependency layer's being its own digest.
    JsonNode config =
        JSON.readTree(
            layout
                .resolve("blobs/sha256")
                .resolve(firstManifest.get("config").get("digest").asText().substring(7))
                .toFile());
    assertThat(config.get("rootfs").get("diff_ids")).hasSize(4);
    assertThat(config.get("rootfs").get("diff_ids").get(1).asText())
        .isEqualTo(dependencyLayer.get("digest").asText());
    // The digest reported is the one the stored manifest has.
    assertThat(first.digest().hex())
        .isEqualTo(
            TestTars.sha256(
                Files.readAllBytes(layout.resolve("blobs/sha256").resolve(first.digest().hex()))));

    JsonNode index = JSON.readTree(layout.resolve("index.json").toFile());
    assertThat(index.get("manifests")).hasSize(2);
    assertThat(new OciLayout(layout).manifestOf("111111111111"))
        .isEqualTo(first.digest().toString());
    assertThat(new OciLayout(layout).manifestOf("222222222222"))
        .isEqualTo(second.digest().toString());
    assertThat(Files.readString(layout.resolve("oci-layout"))).contains("1.0.0");
    try (Stream<Path> left = Files.list(layout)) {
      assertThat(left.map(p -> p.getFileName().toString()))
          .noneMatch(name -> name.endsWith(".tmp"));
    }
  }

  @Test
  void aDependencyLayerStoredInImageFormIsTheImagesLayerAsStored() throws Exception {
    Path relative = Files.write(dir.resolve("relative.tar"), AssembleFixture.dependencyLayerTar());
    DependencyImageLayer.write(relative, dir.resolve("image.tar"));
    Digest stored =
        CacheBlobs.put(cache, Files.readAllBytes(dir.resolve("image.tar")), dir.resolve("s"));
    Path images = dir.resolve("images");
    AssembleStep step =
        AssembleFixture.step(
                dir.resolve("work"),
                AssembleFixture.runtimes(
                    dir,
                    Map.of(PYTHON, "tar:" + AssembleFixture.writeBaseImage(dir.resolve("base"))),
                    jibExecutor),
                ImageTarget.ociLayouts(images),
                LayerBlobSource.cacheService(cache.baseUrl()),
                cache.baseUrl(),
                deleter,
                jibExecutor)
            .build();

    AssembledImage image =
        step.run(
            new StepContext(
                AssembleFixture.task(
                    AssembleFixture.plan("pip", Map.of()), stored, TENANT, APP, FIRST),
                AssembleFixture.writeSource(dir.resolve("checkout")),
                new RecordingLog()));

    Path layout = images.resolve(TENANT).resolve(APP);
    JsonNode layer = manifest(layout, image.digest()).get("layers").get(1);
    assertThat(layer.get("digest").asText()).isEqualTo(stored.toString());
    assertThat(layer.get("mediaType").asText()).isEqualTo("application/vnd.oci.image.layer.v1.tar");
    assertThat(Files.readAllBytes(layout.resolve("blobs/sha256").resolve(stored.hex())))
        .isEqualTo(Files.readAllBytes(dir.resolve("image.tar")));
    // The unpacked tree the build steps see is the same as from a layer stored before.
    assertThat(step.dependencyLayerDirectory(stored).resolve("bin/gunicorn")).isRegularFile();
  }

  @Test
  void aRebuildOfTheSameCommitReplacesItsTagInsteadOfAddingOne() throws Exception {
    OciLayout layout = new OciLayout(dir.resolve("layout"));

    layout.putManifest(manifest("one"), null, "111111111111");
    String again = layout.putManifest(manifest("two"), null, "111111111111");

    assertThat(JSON.readTree(dir.resolve("layout/index.json").toFile()).get("manifests"))
        .hasSize(1);
    assertThat(layout.manifestOf("111111111111")).isEqualTo(again);
    assertThat(layout.manifest("111111111111").mediaType())
        .isEqualTo("application/vnd.oci.image.manifest.v1+json");
  }

  @Test
  void aRebuiltRuntimeTarballReplacesItsEarlierImport() throws Exception {
    Path baseImage = AssembleFixture.writeBaseImage(dir.resolve("base"));
    try (LayoutRegistry registry = LayoutRegistry.start(dir.resolve("layouts"))) {
      String first = registry.base(baseImage);
      Files.setLastModifiedTime(
          baseImage,
          java.nio.file.attribute.FileTime.from(
              Files.getLastModifiedTime(baseImage).toInstant().plusSeconds(60)));
      String second = registry.base(baseImage);

      assertThat(second).isNotEqualTo(first);
      // Renamed out of view at once, deleted in the background (never in the build's way).
      String kept = second.replaceFirst(".*/kiln/bases/", "").replaceFirst("@.*", "");
      org.awaitility.Awaitility.await()
          .atMost(java.time.Duration.ofSeconds(30))
          .untilAsserted(
              () -> {
                try (Stream<Path> imports = Files.list(dir.resolve("layouts/.bases"))) {
                  assertThat(imports.map(p -> p.getFileName().toString())).containsExactly(kept);
                }
              });
    }
  }

  @Test
  void uploadsAStoppedWorkerLeftBehindAreRemovedWhenTheyAreOld() throws Exception {
    Path blobs = Files.createDirectories(dir.resolve("layouts/acme/shop/blobs/sha256"));
    Path old = Files.writeString(blobs.resolve(".upload-1.tmp"), "half a layer");
    Files.setLastModifiedTime(
        old,
        java.nio.file.attribute.FileTime.from(
            java.time.Instant.now().minus(LayoutRegistry.ABANDONED_AFTER).minusSeconds(60)));
    Path recent = Files.writeString(blobs.resolve(".upload-2.tmp"), "another worker's upload");

    try (LayoutRegistry registry = LayoutRegistry.start(dir.resolve("layouts"))) {
      assertThat(old).doesNotExist();
      assertThat(recent).exists();
    }
  }

  @Test
  void attackABlobWhoseBytesDoNotMatchItsDigestIsRefusedAndNotKept() throws Exception {
    try (LayoutRegistry registry = LayoutRegistry.start(dir.resolve("layouts"))) {
      String forged = "0".repeat(64);
      HttpResponse<String> upload =
          HTTP.send(
              HttpRequest.newBuilder(
                      URI.create(
                          "http://"
                              + registry.hostAndPort()
                              + "/v2/acme/shop/blobs/uploads/?digest=sha256:"
                              + forged))
                  .POST(HttpRequest.BodyPublishers.ofString("not what the digest says"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());

      assertThat(upload.statusCode()).isEqualTo(400);
      assertThat(upload.body()).contains("DIGEST_INVALID");
      assertThat(registry.layout("acme/shop").blob(forged)).doesNotExist();
      assertThat(blobs(dir.resolve("layouts/acme/shop"))).isEmpty();
    }
  }

  @Test
  void attackARepositoryNameLeadingOutOfTheLayoutsIsNotServed() throws Exception {
    try (LayoutRegistry registry = LayoutRegistry.start(dir.resolve("layouts"))) {
      Files.writeString(dir.resolve("secret"), "not for jib");
      HttpResponse<String> escape =
          HTTP.send(
              HttpRequest.newBuilder(
                      URI.create(
                          "http://" + registry.hostAndPort() + "/v2/../..%2F/blobs/uploads/"))
                  .POST(HttpRequest.BodyPublishers.noBody())
                  .build(),
              HttpResponse.BodyHandlers.ofString());

      assertThat(escape.statusCode()).isEqualTo(404);
      try (Stream<Path> created = Files.list(dir)) {
        assertThat(created.map(p -> p.getFileName().toString()))
            .containsExactlyInAnyOrder("layouts", "secret");
      }
    }
  }

  private AssembledImage assemble(AssembleStep step, Path checkout, String commit)
      throws Exception {
    return step.run(
        new StepContext(
            AssembleFixture.task(
                AssembleFixture.plan("pip", Map.of()),
                CacheBlobs.put(cache, AssembleFixture.dependencyLayerTar(), dir.resolve("s")),
                TENANT,
                APP,
                commit),
            checkout,
            new RecordingLog()));
  }

  private static List<String> blobs(Path layout) throws IOException {
    Path blobs = layout.resolve("blobs/sha256");
    if (!Files.isDirectory(blobs)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(blobs)) {
      return files.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  private static List<String> tarNames(Path tar) throws IOException {
    List<String> names = new ArrayList<>();
    try (org.apache.commons.compress.archivers.tar.TarArchiveInputStream in =
        new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(
            Files.newInputStream(tar))) {
      for (var entry = in.getNextEntry(); entry != null; entry = in.getNextEntry()) {
        names.add(entry.getName());
      }
    }
    return names;
  }

  private static JsonNode manifest(Path layout, Digest digest) throws IOException {
    return JSON.readTree(layout.resolve("blobs/sha256").resolve(digest.hex()).toFile());
  }

  private static List<String> layerDigests(JsonNode manifest) {
    List<String> digests = new ArrayList<>();
    manifest.get("layers").forEach(layer -> digests.add(layer.get("digest").asText()));
    return digests;
  }

  private static byte[] manifest(String variant) {
    return ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
            + "\"annotations\":{\"v\":\""
            + variant
            + "\"},\"layers\":[]}")
        .getBytes(StandardCharsets.UTF_8);
  }
}
