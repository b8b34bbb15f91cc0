package dev.kiln.worker.assemble;

import static dev.kiln.worker.assemble.AssembleFixture.APP;
import static dev.kiln.worker.assemble.AssembleFixture.PYTHON;
import static dev.kiln.worker.assemble.AssembleFixture.RUN_COMMAND;
import static dev.kiln.worker.assemble.AssembleFixture.TENANT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.Jib;
import com.google.cloud.tools.jib.api.RegistryImage;
import com.google.cloud.tools.jib.api.TarImage;
import dev.kiln.events.Digest;
import dev.kiln.testkit.ImageContents;
import dev.kiln.testkit.LocalRegistry;
import dev.kiln.worker.fs.BackgroundDeleter;
import dev.kiln.worker.runtime.RuntimeStore;
import dev.kiln.worker.steps.StepContext;
import dev.kiln.worker.steps.StepFailure;
import dev.kiln.worker.testsupport.CacheServiceFixture;
import dev.kiln.worker.testsupport.RecordingLog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ASSEMBLE from and to a real registry (Debian's docker-registry on a free loopback port), with the
 * dependency layer in the real cache-service.
 */
class AssembleToRegistryTest {
  @TempDir static Path shared;
  private static LocalRegistry registry;
  private static CacheServiceFixture cache;
  private static ExecutorService jibExecutor;
  private static BackgroundDeleter deleter;
  private static Digest layerBlob;
  private static String baseReference;

  @TempDir Path dir;

  @BeforeAll
  static void start() throws Exception {
    registry = LocalRegistry.start();
    cache = CacheServiceFixture.start(shared.resolve("cache"));
    layerBlob =
        CacheBlobs.put(cache, AssembleFixture.dependencyLayerTar(), shared.resolve("scratch"));
    jibExecutor = AssembleStep.newJibExecutor();
    deleter = new BackgroundDeleter(shared.resolve("trash"));
    baseReference = registry.address() + "/kiln/python:" + PYTHON;
    Path baseTarball = AssembleFixture.writeBaseImage(shared.resolve("base"));
    Jib.from(TarImage.at(baseTarball).named("kiln-test/python:" + PYTHON))
        .containerize(
            Containerizer.to(RegistryImage.named(baseReference))
                .setAllowInsecureRegistries(true)
                .setBaseImageLayersCache(shared.resolve("seed-cache/base"))
                .setApplicationLayersCache(shared.resolve("seed-cache/app"))
                .setExecutorService(jibExecutor));
  }

  @AfterAll
  static void stop() throws Exception {
    cache.close();
    registry.close();
    jibExecutor.shutdownNow();
    deleter.close();
  }

  private AssembleStep step(String catalogEntry, ImageTarget target) {
    return AssembleFixture.step(
            dir.resolve("work"),
            AssembleFixture.runtimes(dir, Map.of(PYTHON, catalogEntry), jibExecutor),
            target,
            LayerBlobSource.cacheService(cache.baseUrl()),
            cache.baseUrl(),
            deleter,
            jibExecutor)
        .build();
  }

  private AssembledImage assemble(AssembleStep step, RecordingLog log) throws Exception {
    Path source = AssembleFixture.writeSource(dir.resolve("checkout-" + System.nanoTime()));
    return step.run(
        new StepContext(
            AssembleFixture.task(AssembleFixture.plan("pip", Map.of()), layerBlob), source, log));
  }

  @Test
  void pushedImageHasTheAppDependenciesAndConfigAndTheReportedDigest() throws Exception {
    RecordingLog log = new RecordingLog();
    AssembledImage image =
        assemble(step("registry:" + baseReference, ImageTarget.registry(registry.address())), log);

    String repository = TENANT + "/" + APP;
    String tag = AssembleFixture.COMMIT.substring(0, 12);
    assertThat(image.reference()).isEqualTo(registry.address() + "/" + repository + ":" + tag);
    var manifest = ImageContents.manifestResponse(registry.address(), repository, tag);
    assertThat(manifest.statusCode()).isEqualTo(200);
    assertThat(manifest.headers().firstValue("Docker-Content-Digest"))
        .contains(image.digest().toString());

    ImageContents contents = ImageContents.fromRegistry(registry.address(), repository, tag);
    Map<String, ImageContents.Entry> files = contents.files();
    assertThat(files.get("etc/os-release").text()).isEqualTo("ID=kiln-test\n");
    assertThat(files.get("app/app.py").text()).contains("def app(environ");
    assertThat(files.get("opt/kiln/deps/bin/gunicorn").mode()).isEqualTo(0755);
    assertThat(files).containsKey("opt/kiln/bin/launch");
    assertThat(contents.containerConfig().get("Cmd").get(0).asText()).isEqualTo(RUN_COMMAND);
    assertThat(contents.containerConfig().get("User").asText()).isEqualTo("1000:1000");
    assertThat(contents.env()).contains("PORT=8080");
    assertThat(contents.containerConfig().get("Labels").get("dev.kiln.python-version").asText())
        .isEqualTo(PYTHON);
    assertThat(log.text())
        .contains("-----> Writing the image to registry " + registry.address())
        .contains("Using base image with digest");
  }

  @Test
  void pushingTheSameInputsAgainGivesTheSameDigest() throws Exception {
    AssembleStep step = step(baseReference, ImageTarget.registry(registry.address()));

    AssembledImage first = assemble(step, new RecordingLog());
    AssembledImage second = assemble(step, new RecordingLog());

    assertThat(second).isEqualTo(first);
  }

  @Test
  void anAppOnlyRebuildUploadsOnlyItsAppLayerAndConfig() throws Exception {
    AssembleStep step = step(baseReference, ImageTarget.registry(registry.address()));
    Path source = AssembleFixture.writeSource(dir.resolve("checkout"));
    AssembledImage first =
        step.run(
            new StepContext(
                AssembleFixture.task(AssembleFixture.plan("pip", Map.of()), layerBlob),
                source,
                new RecordingLog()));
    awaitManifestPut(0);
    int before = registry.requests().size();
    Files.writeString(
        source.resolve("app.py"), "# changed\n", java.nio.file.StandardOpenOption.APPEND);

    AssembledImage second =
        step.run(
            new StepContext(
                AssembleFixture.task(AssembleFixture.plan("pip", Map.of()), layerBlob),
                source,
                new RecordingLog()));
    awaitManifestPut(before);

    String repository = TENANT + "/" + APP;
    String tag = AssembleFixture.COMMIT.substring(0, 12);
    var manifest =
        new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree(ImageContents.manifestResponse(registry.address(), repository, tag).body());
    java.util.Set<String> layers = new java.util.HashSet<>();
    manifest.get("layers").forEach(layer -> layers.add(layer.get("digest").asText()));
    java.util.Set<String> firstLayers = new java.util.HashSet<>();
    new com.fasterxml.jackson.databind.ObjectMapper()
        .readTree(
            ImageContents.manifestResponse(
                    registry.address(), repository, first.digest().toString())
                .body())
        .get("layers")
        .forEach(layer -> firstLayers.add(layer.get("digest").asText()));
    java.util.Set<String> newLayers = new java.util.HashSet<>(layers);
    newLayers.removeAll(firstLayers);
    java.util.Set<String> expected = new java.util.HashSet<>(newLayers);
    expected.add(manifest.get("config").get("digest").asText());

    assertThat(second.digest()).isNotEqualTo(first.digest());
    assertThat(newLayers).as("only the app layer differs").hasSize(1);
    List<String> during = registry.requests().subList(before, registry.requests().size());
    java.util.Set<String> uploaded = new java.util.HashSet<>();
    for (String request : during) {
      var digest =
          java.util.regex.Pattern.compile("digest=(sha256(?::|%3A)[0-9a-f]{64})").matcher(request);
      if (request.contains("/blobs/uploads/") && digest.find()) {
        uploaded.add(digest.group(1).replace("%3A", ":"));
      }
    }
    assertThat(uploaded).isEqualTo(expected);
  }

  /** The registry logs a request after answering it: waits for the manifest's PUT. */
  private static void awaitManifestPut(int from) {
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(10))
        .until(
            () -> {
              List<String> requests = registry.requests();
              return requests.subList(Math.min(from, requests.size()), requests.size()).stream()
                  .anyMatch(r -> r.startsWith("PUT ") && r.contains("/manifests/"));
            });
  }

  @Test
  void tarballBaseCanBePushedToTheRegistry() throws Exception {
    Path baseTarball = AssembleFixture.writeBaseImage(dir.resolve("base"));

    AssembledImage image =
        assemble(
            step("tar:" + baseTarball, ImageTarget.registry(registry.address())),
            new RecordingLog());

    assertThat(
            ImageContents.manifestResponse(
                    registry.address(),
                    TENANT + "/" + APP,
                    image.reference().substring(image.reference().lastIndexOf(':') + 1))
                .statusCode())
        .isEqualTo(200);
  }

  @Test
  void missingBaseImageFailsAsUnavailableNamingTheReference() {
    String missing = registry.address() + "/kiln/python:0.0.0";

    assertThatThrownBy(
            () ->
                assemble(
                    step(missing, ImageTarget.registry(registry.address())), new RecordingLog()))
        .isInstanceOf(StepFailure.class)
        .hasMessageContaining(missing)
        .hasMessageContaining("manifest unknown")
        .hasMessageContaining("KILN_RUNTIME_CATALOG")
        .extracting(failure -> ((StepFailure) failure).code())
        .isEqualTo(RuntimeStore.UNAVAILABLE);
  }

  @Test
  void unreachableBaseRegistryFailsAsUnavailable() {
    assertThatThrownBy(
            () ->
                assemble(
                    step(
                        "127.0.0.1:1/kiln/python:" + PYTHON,
                        ImageTarget.tarballs(dir.resolve("images"))),
                    new RecordingLog()))
        .isInstanceOf(StepFailure.class)
        .hasMessageContaining("127.0.0.1:1/kiln/python:" + PYTHON)
        .hasMessageContaining("Connection refused")
        .extracting(failure -> ((StepFailure) failure).code())
        .isEqualTo(RuntimeStore.UNAVAILABLE);
  }

  @Test
  void unreachableTargetRegistryFailsAsPushFailedNamingIt() {
    assertThatThrownBy(
            () ->
                assemble(
                    step("registry:" + baseReference, ImageTarget.registry("127.0.0.1:1")),
                    new RecordingLog()))
        .isInstanceOf(StepFailure.class)
        .hasMessageContaining("registry 127.0.0.1:1")
        .hasMessageContaining("Connection refused")
        .extracting(failure -> ((StepFailure) failure).code())
        .isEqualTo(AssembleStep.PUSH_FAILED);
  }
}
