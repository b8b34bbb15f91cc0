package dev.kiln.worker.assemble;

import static dev.kiln.worker.assemble.AssembleFixture.APP;
import static dev.kiln.worker.assemble.AssembleFixture.COMMIT;
import static dev.kiln.worker.assemble.AssembleFixture.PYTHON;
import static dev.kiln.worker.assemble.AssembleFixture.RUN_COMMAND;
import static dev.kiln.worker.assemble.AssembleFixture.TENANT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.events.BuildIds;
import dev.kiln.events.Digest;
import dev.kiln.testkit.ImageContents;
import dev.kiln.worker.fs.BackgroundDeleter;
import dev.kiln.worker.runtime.RuntimeStore;
import dev.kiln.worker.steps.StepContext;
import dev.kiln.worker.steps.StepFailure;
import dev.kiln.worker.testsupport.CacheServiceFixture;
import dev.kiln.worker.testsupport.RecordingLog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ASSEMBLE into tarballs, on a {@code docker save} base image, with the real cache-service. */
class AssembleStepTest {
  @TempDir static Path shared;
  private static ExecutorService jibExecutor;
  private static BackgroundDeleter deleter;
  private static CacheServiceFixture cache;

  @TempDir Path dir;
  private Path baseImage;
  private Path source;
  private Digest layerBlob;
  private Path images;

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

  @BeforeEach
  void setUp() throws IOException {
    layerBlob = CacheBlobs.put(cache, AssembleFixture.dependencyLayerTar(), dir.resolve("scratch"));
    baseImage = AssembleFixture.writeBaseImage(dir.resolve("base"));
    source = AssembleFixture.writeSource(dir.resolve("checkout"));
    images = dir.resolve("images");
  }

  private AssembleStep step(Path workDir) {
    return step(workDir, LayerBlobSource.cacheService(cache.baseUrl()));
  }

  private AssembleStep step(Path workDir, LayerBlobSource blobs) {
    return step(workDir, blobs, Map.of(PYTHON, "tar:" + baseImage));
  }

  private AssembleStep step(Path workDir, LayerBlobSource blobs, Map<String, String> catalog) {
    return AssembleFixture.step(
            workDir,
            AssembleFixture.runtimes(dir, catalog, jibExecutor),
            ImageTarget.tarballs(images),
            blobs,
            cache.baseUrl(),
            deleter,
            jibExecutor)
        .build();
  }

  private AssembledImage assemble(
      AssembleStep step, Path checkout, Map<String, String> env, RecordingLog log)
      throws StepFailure {
    return step.run(
        new StepContext(
            AssembleFixture.task(AssembleFixture.plan("pip", env), layerBlob), checkout, log));
  }

  @Test
  void tarballHoldsBaseLauncherDependenciesAndAppWithTheRunConfiguration() throws Exception {
    RecordingLog log = new RecordingLog();
    AssembledImage image =
        assemble(step(dir.resolve("work")), source, Map.of("FEATURE", "on"), log);

    Path tarball = images.resolve(TENANT).resolve(APP).resolve(COMMIT + ".tar");
    assertThat(image.reference()).isEqualTo("tar:" + tarball);
    assertThat(image.digest().toString()).startsWith("sha256:");
    assertThat(ImageContents.repoTags(tarball)).containsExactly("acme/shop:0123456789ab");
    ImageContents contents = ImageContents.fromDockerTarball(tarball);
    assertThat(contents.layers()).hasSize(4);
    Map<String, ImageContents.Entry> files = contents.files();

    assertThat(files.get("etc/os-release").text()).isEqualTo("ID=kiln-test\n");
    assertThat(files.get("app/app.py").text()).contains("def app(environ");
    assertThat(files.get("app/static/style.css").text()).contains("color: black");
    assertThat(files.get("app/bin/migrate.sh").mode()).isEqualTo(0755);
    assertThat(files.get("app/app.py").mode()).isEqualTo(0644);
    assertThat(files.get("app/app.py").uid()).isEqualTo(1000);
    assertThat(files.get("app").uid()).isEqualTo(1000);
    assertThat(files.keySet()).noneMatch(path -> path.contains(".git"));
    assertThat(files.get("opt/kiln/deps/gunicorn/__init__.py").text()).contains("23, 0, 0");
    assertThat(files.get("opt/kiln/deps/bin/gunicorn").mode()).isEqualTo(0755);
    assertThat(files.get("opt/kiln/deps/gunicorn/__init__.py").uid()).isZero();
    assertThat(files.get("opt/kiln/bin/launch").mode()).isEqualTo(0755);
    assertThat(files.get("opt/kiln/bin/launch").text()).startsWith("#!/bin/sh");
    assertThat(contents.layers().subList(1, 4))
        .allSatisfy(
            layer ->
                assertThat(layer.values())
                    .allSatisfy(entry -> assertThat(entry.mtimeSeconds()).isLessThanOrEqualTo(1)));

    var config = contents.containerConfig();
    assertThat(config.get("Entrypoint").get(0).asText()).isEqualTo("/opt/kiln/bin/launch");
    assertThat(config.get("Cmd")).hasSize(1);
    assertThat(config.get("Cmd").get(0).asText()).isEqualTo(RUN_COMMAND);
    assertThat(config.get("WorkingDir").asText()).isEqualTo("/app");
    assertThat(config.get("User").asText()).isEqualTo("1000:1000");
    assertThat(config.get("ExposedPorts").has("8080/tcp")).isTrue();
    assertThat(contents.env())
        .contains(
            "PORT=8080",
            "FEATURE=on",
            "PYTHONUNBUFFERED=true",
            "HOME=/app",
            "LANG=en_US.UTF-8",
            "PATH=/opt/kiln/deps/bin:/usr/local/bin:/usr/bin:/bin",
            "PYTHONPATH=/app:/opt/kiln/deps",
            "FORWARDED_ALLOW_IPS=*",
            "PYTHON_VERSION=" + PYTHON,
            "GUNICORN_CMD_ARGS=--worker-tmp-dir /dev/shm --access-logfile -");
    assertThat(config.get("Labels").get("dev.kiln.build-id").asText())
        .isEqualTo(BuildIds.of(TENANT, APP, COMMIT));
    assertThat(config.get("Labels").get("dev.kiln.commit").asText()).isEqualTo(COMMIT);
    assertThat(config.get("Labels").get("dev.kiln.python-version").asText()).isEqualTo(PYTHON);
    assertThat(contents.config().get("created").asText()).startsWith("1970-01-01T00:00:00");

    assertThat(log.lines())
        .anyMatch(line -> line.startsWith("-----> Assembling the image on tar:"));
    assertThat(log.lines())
        .anyMatch(line -> line.startsWith("-----> Writing the image to tarball"));
    assertThat(log.lines())
        .filteredOn(line -> !line.startsWith("-----> "))
        .allMatch(
            line ->
                line.startsWith("       ")
                    || line.startsWith("WARN ")
                    || line.startsWith("ERROR "));
    try (Stream<Path> leftovers = Files.list(tarball.getParent())) {
      assertThat(leftovers).containsExactly(tarball);
    }
  }

  @Test
  void sameInputsGiveTheSameDigestFromAnotherCheckoutAndAnotherWorker() throws Exception {
    AssembledImage first =
        assemble(step(dir.resolve("work-1")), source, Map.of(), new RecordingLog());
    Path otherCheckout = AssembleFixture.writeSource(dir.resolve("another-checkout"));
    AssembledImage second =
        assemble(step(dir.resolve("work-2")), otherCheckout, Map.of(), new RecordingLog());
    AssembledImage third =
        assemble(step(dir.resolve("work-1")), otherCheckout, Map.of(), new RecordingLog());

    assertThat(second.digest()).isEqualTo(first.digest());
    assertThat(third.digest()).isEqualTo(first.digest());
  }

  @Test
  void changedAppFileGivesANewDigest() throws Exception {
    AssembleStep step = step(dir.resolve("work"));
    AssembledImage before = assemble(step, source, Map.of(), new RecordingLog());
    Files.writeString(
        source.resolve("app.py"), "# changed\n", java.nio.file.StandardOpenOption.APPEND);
    AssembledImage after = assemble(step, source, Map.of(), new RecordingLog());

    assertThat(after.digest()).isNotEqualTo(before.digest());
  }

  @Test
  void secondBuildWithTheSameDependenciesReusesTheUnpackedLayer() throws Exception {
    AssembleStep step = step(dir.resolve("work"));
    assemble(step, source, Map.of(), new RecordingLog());
    Path unpacked = step.dependencyLayerDirectory(layerBlob);
    FileTime directoryTime = Files.getLastModifiedTime(unpacked);
    Object fileKey =
        Files.readAttributes(
                unpacked.resolve("gunicorn/__init__.py"),
                java.nio.file.attribute.BasicFileAttributes.class)
            .fileKey();

    Path selectors = dir.resolve("work/jib/app/selectors");
    assertThat(countFiles(selectors)).isEqualTo(3); // launcher, dependencies, app

    // The same work directory, and a blob store that would fail any download.
    AssembleStep offline =
        step(dir.resolve("work"), LayerBlobSource.cacheService("http://127.0.0.1:1"));
    RecordingLog secondLog = new RecordingLog();
    Path otherCheckout = AssembleFixture.writeSource(dir.resolve("another-checkout"));
    assemble(offline, otherCheckout, Map.of(), secondLog);

    // jib keys its layer cache by source paths and mtimes: only the app layer, from a new
    // checkout path, is new; the unpacked dependencies and the launcher were cache hits.
    assertThat(countFiles(selectors)).isEqualTo(4);

    assertThat(unpacked).isEqualTo(dir.resolve("work/layers").resolve(layerBlob.hex()));
    assertThat(Files.getLastModifiedTime(unpacked)).isEqualTo(directoryTime);
    assertThat(
            Files.readAttributes(
                    unpacked.resolve("gunicorn/__init__.py"),
                    java.nio.file.attribute.BasicFileAttributes.class)
                .fileKey())
        .isEqualTo(fileKey);
    assertThat(secondLog.text()).contains("Reusing the dependency layer");
    try (Stream<Path> entries = Files.list(dir.resolve("work/layers"))) {
      assertThat(entries).containsExactly(unpacked);
    }
  }

  @Test
  void planWithoutPackageManagerGetsNoDependencyLayer() throws Exception {
    AssembledImage image =
        step(dir.resolve("work"))
            .run(
                new StepContext(
                    AssembleFixture.task(AssembleFixture.plan(null, Map.of()), null),
                    source,
                    new RecordingLog()));

    ImageContents contents =
        ImageContents.fromDockerTarball(Path.of(image.reference().substring(4)));
    assertThat(contents.layers()).hasSize(3);
    assertThat(contents.files().keySet()).noneMatch(path -> path.startsWith("opt/kiln/deps/"));
    assertThat(dir.resolve("work/layers")).doesNotExist();
  }

  @Test
  void appValuesForPortAndGunicornArgumentsWinAndPortIsExposed() throws Exception {
    AssembledImage image =
        assemble(
            step(dir.resolve("work")),
            source,
            Map.of("PORT", "5000", "GUNICORN_CMD_ARGS", "--workers 3"),
            new RecordingLog());

    ImageContents contents =
        ImageContents.fromDockerTarball(Path.of(image.reference().substring(4)));
    assertThat(contents.env()).contains("PORT=5000", "GUNICORN_CMD_ARGS=--workers 3");
    assertThat(contents.containerConfig().get("ExposedPorts").has("5000/tcp")).isTrue();
  }

  @Test
  void sourceDirOfTheAppSpecBecomesApp() throws Exception {
    Path monorepo = dir.resolve("monorepo");
    AssembleFixture.writeSource(monorepo.resolve("services/web"));
    Files.writeString(monorepo.resolve("README.md"), "top level\n");
    var plan = AssembleFixture.plan("pip", Map.of());
    plan = plan.withSourceDir("services/web");
    AssembledImage image =
        step(dir.resolve("work"))
            .run(
                new StepContext(
                    AssembleFixture.task(plan, layerBlob), monorepo, new RecordingLog()));

    Map<String, ImageContents.Entry> files =
        ImageContents.fromDockerTarball(Path.of(image.reference().substring(4))).files();
    assertThat(files)
        .containsKey("app/app.py")
        .doesNotContainKey("app/README.md")
        .doesNotContainKey("app/services");
  }

  @Test
  void aDockerfilePlanOnAWorkerWithoutADockerfileBuilderFailsWithNoBuilder() throws Exception {
    var plan =
        new dev.kiln.events.BuildPlanSummary(
            "dockerfile",
            ".",
            null,
            null,
            null,
            null,
            null,
            null,
            List.of(),
            null,
            null,
            Map.of(),
            List.of(),
            null);
    java.nio.file.Files.writeString(source.resolve("Dockerfile"), "FROM scratch\n");

    assertThatThrownBy(
            () ->
                step(dir.resolve("work"))
                    .run(
                        new StepContext(
                            AssembleFixture.task(plan, null), source, new RecordingLog())))
        .isInstanceOf(StepFailure.class)
        .hasMessageContaining("has no Dockerfile builder configured")
        .extracting(failure -> ((StepFailure) failure).code())
        .isEqualTo(DockerfileBuild.NO_BUILDER);
    assertThat(images).doesNotExist();
  }

  @Test
  void sourceDirOutsideTheCheckoutFails() {
    var plan = AssembleFixture.plan("pip", Map.of());
    var escaping = plan.withSourceDir("../elsewhere");

    assertThatThrownBy(
            () ->
                step(dir.resolve("work"))
                    .run(
                        new StepContext(
                            AssembleFixture.task(escaping, layerBlob), source, new RecordingLog())))
        .isInstanceOf(StepFailure.class)
        .hasMessageContaining("'../elsewhere' is not a directory inside the repository")
        .extracting(failure -> ((StepFailure) failure).code())
        .isEqualTo(AssembleStep.FAILED);
  }

  @Test
  void symlinksInsideTheAppAreCopiedAndThoseLeadingOutAreLeftOutWithAWarning() throws Exception {
    Files.createSymbolicLink(source.resolve("wsgi.py"), Path.of("app.py"));
    Path secret = Files.writeString(dir.resolve("worker-secret.txt"), "do not ship\n");
    Files.createSymbolicLink(source.resolve("secret.txt"), secret);
    Files.createSymbolicLink(source.resolve("assets"), Path.of("static"));
    RecordingLog log = new RecordingLog();

    AssembledImage image = assemble(step(dir.resolve("work")), source, Map.of(), log);

    Map<String, ImageContents.Entry> files =
        ImageContents.fromDockerTarball(Path.of(image.reference().substring(4))).files();
    assertThat(files.get("app/wsgi.py").text()).isEqualTo(files.get("app/app.py").text());
    assertThat(files).doesNotContainKeys("app/secret.txt", "app/assets");
    assertThat(log.text())
        .contains(
            "WARN        Left out the symlink secret.txt from /app: it "
                + "points outside the app");
    assertThat(log.text())
        .contains("Left out the symlink assets from /app: it points to a directory");
  }

  @Test
  void pythonWithoutCatalogEntryFailsNamingTheCatalog() {
    var step =
        step(
            dir.resolve("work"),
            LayerBlobSource.cacheService(cache.baseUrl()),
            Map.of("3.11.2", "tar:" + baseImage));

    assertThatThrownBy(() -> assemble(step, source, Map.of(), new RecordingLog()))
        .isInstanceOf(StepFailure.class)
        .hasMessageContaining("no runtime for Python " + PYTHON)
        .hasMessageContaining("KILN_RUNTIME_CATALOG")
        .extracting(failure -> ((StepFailure) failure).code())
        .isEqualTo(RuntimeStore.UNAVAILABLE);
  }

  @Test
  void missingBaseTarballFailsNamingTheReferenceAndLeavesNoImage() {
    Path missing = dir.resolve("nowhere/python.tar");
    var step =
        step(
            dir.resolve("work"),
            LayerBlobSource.cacheService(cache.baseUrl()),
            Map.of(PYTHON, "tar:" + missing));

    assertThatThrownBy(() -> assemble(step, source, Map.of(), new RecordingLog()))
        .isInstanceOf(StepFailure.class)
        .hasMessageContaining("tar:" + missing)
        .hasMessageContaining("KILN_RUNTIME_CATALOG")
        .extracting(failure -> ((StepFailure) failure).code())
        .isEqualTo(RuntimeStore.UNAVAILABLE);
    assertThat(images.resolve(TENANT).resolve(APP).resolve(COMMIT + ".tar")).doesNotExist();
  }

  @Test
  void corruptBaseTarballFailsAsUnavailableAndLeavesNoImage() throws Exception {
    Files.writeString(baseImage, "this is not a tar");

    assertThatThrownBy(
            () -> assemble(step(dir.resolve("work")), source, Map.of(), new RecordingLog()))
        .isInstanceOf(StepFailure.class)
        .hasMessageContaining("tar:" + baseImage)
        .extracting(failure -> ((StepFailure) failure).code())
        .isEqualTo(RuntimeStore.UNAVAILABLE);
    assertThat(images.resolve(TENANT).resolve(APP).resolve(COMMIT + ".tar")).doesNotExist();
  }

  @Test
  void dependencyLayerMissingFromTheStoreFailsAndUnpacksNothing() throws Exception {
    Digest unknown = Digest.of("sha256:" + "ab".repeat(32));
    var task = AssembleFixture.task(AssembleFixture.plan("pip", Map.of()), unknown);

    assertThatThrownBy(
            () -> step(dir.resolve("work")).run(new StepContext(task, source, new RecordingLog())))
        .isInstanceOf(StepFailure.class)
        .hasMessageContaining("not in the cache-service")
        .extracting(failure -> ((StepFailure) failure).code())
        .isEqualTo(AssembleStep.FAILED);
    try (Stream<Path> leftovers = Files.list(dir.resolve("work/layers"))) {
      assertThat(leftovers).isEmpty();
    }
  }

  @Test
  void corruptDependencyBlobIsRejectedByItsHash() throws Exception {
    Digest claimed = Digest.of("sha256:" + "cd".repeat(32));
    var task = AssembleFixture.task(AssembleFixture.plan("pip", Map.of()), claimed);

    try (CasStandIn corrupt = CasStandIn.start()) {
      corrupt.serve(claimed, AssembleFixture.dependencyLayerTar());
      assertThatThrownBy(
              () ->
                  step(dir.resolve("work"), LayerBlobSource.cacheService(corrupt.url()))
                      .run(new StepContext(task, source, new RecordingLog())))
          .isInstanceOf(StepFailure.class)
          .hasMessageContaining("when asked for " + claimed);
    }
    try (Stream<Path> leftovers = Files.list(dir.resolve("work/layers"))) {
      assertThat(leftovers).isEmpty();
    }
  }

  @Test
  void invalidPortFailsSayingWhatToSet() {
    assertThatThrownBy(
            () ->
                assemble(
                    step(dir.resolve("work")), source, Map.of("PORT", "http"), new RecordingLog()))
        .isInstanceOf(StepFailure.class)
        .hasMessageContaining("PORT is 'http'")
        .hasMessageContaining("1 to 65535");
  }

  private static long countFiles(Path directory) throws IOException {
    try (Stream<Path> files = Files.list(directory)) {
      return files.count();
    }
  }
}
