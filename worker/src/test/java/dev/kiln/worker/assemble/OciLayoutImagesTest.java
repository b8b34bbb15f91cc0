package dev.kiln.worker.assemble;

import static dev.kiln.worker.assemble.AssembleFixture.APP;
import static dev.kiln.worker.assemble.AssembleFixture.PYTHON;
import static dev.kiln.worker.assemble.AssembleFixture.TENANT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.events.Digest;
import dev.kiln.worker.fs.BackgroundDeleter;
import dev.kiln.worker.steps.StepContext;
import dev.kiln.worker.testsupport.CacheServiceFixture;
import dev.kiln.worker.testsupport.RecordingLog;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ASSEMBLE into one OCI image layout per app: two builds keep the blobs they share once. */
class OciLayoutImagesTest {
  private static final String FIRST = "1111111111111111111111111111111111111111";
  private static final String SECOND = "2222222222222222222222222222222222222222";
  private static final ObjectMapper JSON = new ObjectMapper();

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
    assertThat(firstLayers).hasSize(4); // base, launcher, dependencies, app
    // Everything but the app layer is the same blob, kept once: the second build added only its
    // app layer, config and manifest.
    List<String> sharedLayers = new ArrayList<>(firstLayers);
    sharedLayers.retainAll(secondLayers);
    assertThat(sharedLayers).hasSize(3);
    assertThat(blobsAfterSecond).hasSize(blobsAfterFirst.size() + 3).containsAll(blobsAfterFirst);

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
  void aRebuildOfTheSameCommitReplacesItsTagInsteadOfAddingOne() throws Exception {
    Path layout = dir.resolve("layout");
    byte[] config = "{}".getBytes(StandardCharsets.UTF_8);
    Path first = ociTarball(dir.resolve("a.tar"), config, "one");
    Path second = ociTarball(dir.resolve("b.tar"), config, "two");

    new OciLayout(layout).add(first, "111111111111");
    OciLayout.Added again = new OciLayout(layout).add(second, "111111111111");

    assertThat(JSON.readTree(layout.resolve("index.json").toFile()).get("manifests")).hasSize(1);
    assertThat(again.blobsShared()).isEqualTo(1); // the config
    assertThat(new OciLayout(layout).manifestOf("111111111111")).isEqualTo(again.manifestDigest());
  }

  @Test
  void attackABlobWhoseBytesDoNotMatchItsNameIsRefusedAndNotKept() throws Exception {
    Path layout = dir.resolve("layout");
    Path forged = dir.resolve("forged.tar");
    try (OutputStream file = Files.newOutputStream(forged);
        TarArchiveOutputStream tar = new TarArchiveOutputStream(file)) {
      entry(tar, "blobs/sha256/" + "0".repeat(64), "not what the name says");
      entry(tar, "index.json", "{\"manifests\":[{\"digest\":\"sha256:" + "0".repeat(64) + "\"}]}");
    }

    assertThatThrownBy(() -> new OciLayout(layout).add(forged, "111111111111"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("has digest");
    assertThat(blobs(layout)).isEmpty();
    assertThat(layout.resolve("index.json")).doesNotExist();
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

  private static JsonNode manifest(Path layout, Digest digest) throws IOException {
    return JSON.readTree(layout.resolve("blobs/sha256").resolve(digest.hex()).toFile());
  }

  private static List<String> layerDigests(JsonNode manifest) {
    List<String> digests = new ArrayList<>();
    manifest.get("layers").forEach(layer -> digests.add(layer.get("digest").asText()));
    return digests;
  }

  /** A one-image OCI layout tarball holding {@code config} and a manifest naming it. */
  private static Path ociTarball(Path file, byte[] config, String variant) throws Exception {
    String configDigest = sha256(config);
    byte[] manifest =
        ("{\"schemaVersion\":2,\"annotations\":{\"v\":\""
                + variant
                + "\"},\"config\":{\"digest\":\"sha256:"
                + configDigest
                + "\",\"size\":"
                + config.length
                + "},\"layers\":[]}")
            .getBytes(StandardCharsets.UTF_8);
    String manifestDigest = sha256(manifest);
    try (OutputStream out = Files.newOutputStream(file);
        TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
      entry(tar, "blobs/sha256/" + configDigest, new String(config, StandardCharsets.UTF_8));
      entry(tar, "blobs/sha256/" + manifestDigest, new String(manifest, StandardCharsets.UTF_8));
      entry(tar, "index.json", "{\"manifests\":[{\"digest\":\"sha256:" + manifestDigest + "\"}]}");
    }
    return file;
  }

  private static void entry(TarArchiveOutputStream tar, String name, String content)
      throws IOException {
    byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
    TarArchiveEntry entry = new TarArchiveEntry(name);
    entry.setSize(bytes.length);
    tar.putArchiveEntry(entry);
    tar.write(bytes);
    tar.closeArchiveEntry();
  }

  private static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }
}
