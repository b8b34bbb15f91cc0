package dev.kiln.worker.assemble;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.events.Digest;
import dev.kiln.worker.steps.StepFailure;
import dev.kiln.worker.testsupport.CacheServiceFixture;
import dev.kiln.worker.testsupport.RecordingLog;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MaterializedLayersTest {
  @TempDir static Path shared;
  private static CacheServiceFixture cache;

  @TempDir Path dir;
  private MaterializedLayers layers;

  @BeforeAll
  static void startCacheService() throws Exception {
    cache = CacheServiceFixture.start(shared);
  }

  @AfterAll
  static void stopCacheService() {
    cache.close();
  }

  @BeforeEach
  void setUp() {
    layers =
        new MaterializedLayers(
            dir.resolve("layers"), LayerBlobSource.cacheService(cache.baseUrl()));
  }

  private Digest store(TestTars.Layer layer) throws Exception {
    return CacheBlobs.put(cache, layer.bytes(), dir.resolve("scratch"));
  }

  @Test
  void aDependencyLayerStoredInImageFormUnpacksToTheSameTreeAsOneStoredBefore() throws Exception {
    TestTars.Layer relative =
        new TestTars.Layer()
            .directory("pkg")
            .file("pkg/__init__.py", "x = 1\n", 0644)
            .file("bin/tool", "#!/bin/sh\n", 0755)
            .hardlink("bin/tool-again", "bin/tool")
            .symlink("pkg/alias.py", "__init__.py");
    Path relativeTar = Files.write(dir.resolve("relative.tar"), relative.bytes());
    DependencyImageLayer.write(relativeTar, dir.resolve("image.tar"));
    assertThat(DependencyImageLayer.isImageForm(dir.resolve("image.tar"))).isTrue();
    assertThat(DependencyImageLayer.isImageForm(relativeTar)).isFalse();
    MaterializedLayers dependencies =
        MaterializedLayers.ofDependencyLayers(
            dir.resolve("deps"), LayerBlobSource.cacheService(cache.baseUrl()));

    Path fromImageForm =
        dependencies.materialize(
            CacheBlobs.put(
                cache, Files.readAllBytes(dir.resolve("image.tar")), dir.resolve("scratch")),
            new RecordingLog());
    Path fromRelative =
        dependencies.materialize(
            CacheBlobs.put(cache, Files.readAllBytes(relativeTar), dir.resolve("scratch")),
            new RecordingLog());

    assertThat(tree(fromImageForm)).isEqualTo(tree(fromRelative));
    assertThat(tree(fromImageForm))
        .containsOnlyKeys(
            "pkg", "pkg/__init__.py", "pkg/alias.py", "bin", "bin/tool", "bin/tool-again")
        .containsEntry("pkg/alias.py", "x = 1\n")
        .containsEntry("bin/tool-again", "#!/bin/sh\n");
  }

  private static java.util.Map<String, String> tree(Path root) throws Exception {
    java.util.Map<String, String> files = new java.util.TreeMap<>();
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path path : (Iterable<Path>) walk::iterator) {
        if (!path.equals(root)) {
          files.put(
              root.relativize(path).toString(),
              Files.isRegularFile(path) ? Files.readString(path) : "");
        }
      }
    }
    return files;
  }

  @Test
  void unpacksWithNormalisedModesAndFixedTimes() throws Exception {
    Digest blob =
        store(
            new TestTars.Layer()
                .file("./pkg/__init__.py", "x = 1\n", 0600)
                .file("bin/tool", "#!/bin/sh\n", 0700));

    Path unpacked = layers.materialize(blob, new RecordingLog());

    assertThat(unpacked).isEqualTo(dir.resolve("layers").resolve(blob.hex()));
    assertThat(Files.readString(unpacked.resolve("pkg/__init__.py"))).isEqualTo("x = 1\n");
    assertThat(
            PosixFilePermissions.toString(
                Files.getPosixFilePermissions(unpacked.resolve("pkg/__init__.py"))))
        .isEqualTo("rw-r--r--");
    assertThat(
            PosixFilePermissions.toString(
                Files.getPosixFilePermissions(unpacked.resolve("bin/tool"))))
        .isEqualTo("rwxr-xr-x");
    try (Stream<Path> tree = Files.walk(unpacked)) {
      assertThat(tree)
          .allSatisfy(
              path ->
                  assertThat(Files.getLastModifiedTime(path).toInstant())
                      .isEqualTo(MaterializedLayers.FIXED_MTIME));
    }
  }

  @Test
  void concurrentBuildsUnpackingOneLayerAllSucceedWithOneDirectory() throws Exception {
    TestTars.Layer layer = new TestTars.Layer();
    for (int i = 0; i < 200; i++) {
      layer.file("pkg/module" + i + ".py", "x = " + i + "\n", 0644);
    }
    Digest blob = store(layer);
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(8);
    try {
      java.util.List<java.util.concurrent.Future<Path>> builds = new java.util.ArrayList<>();
      for (int i = 0; i < 8; i++) {
        builds.add(pool.submit(() -> layers.materialize(blob, new RecordingLog())));
      }
      for (var build : builds) {
        assertThat(build.get(60, java.util.concurrent.TimeUnit.SECONDS))
            .isEqualTo(dir.resolve("layers").resolve(blob.hex()));
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(
            Files.readString(dir.resolve("layers").resolve(blob.hex()).resolve("pkg/module7.py")))
        .isEqualTo("x = 7\n");
  }

  @Test
  void symlinksInsideTheLayerBecomeCopiesAndOthersAreLeftOutWithAWarning() throws Exception {
    Digest blob =
        store(
            new TestTars.Layer()
                .file("pkg/real.py", "real\n", 0644)
                .symlink("pkg/alias.py", "real.py")
                .symlink("pkg/chain.py", "alias.py")
                .symlink("pkg/escape.py", "../../etc/passwd")
                .symlink("pkg/absolute.py", "/etc/passwd")
                .hardlink("pkg/hard.py", "pkg/real.py"));
    RecordingLog log = new RecordingLog();

    Path unpacked = layers.materialize(blob, log);

    assertThat(Files.readString(unpacked.resolve("pkg/alias.py"))).isEqualTo("real\n");
    assertThat(Files.readString(unpacked.resolve("pkg/chain.py"))).isEqualTo("real\n");
    assertThat(Files.isSymbolicLink(unpacked.resolve("pkg/alias.py"))).isFalse();
    assertThat(Files.readString(unpacked.resolve("pkg/hard.py"))).isEqualTo("real\n");
    assertThat(unpacked.resolve("pkg/escape.py")).doesNotExist();
    assertThat(Files.exists(unpacked.resolve("pkg/absolute.py"), LinkOption.NOFOLLOW_LINKS))
        .isFalse();
    assertThat(log.text())
        .contains("Left out the symlink pkg/escape.py", "points outside the layer");
  }

  @Test
  void entriesEscapingTheLayerFailTheBuildAndLeaveNothing() throws Exception {
    Digest blob =
        store(
            new TestTars.Layer()
                .file("ok.py", "fine\n", 0644)
                .file("../outside.py", "bad\n", 0644));

    assertThatThrownBy(() -> layers.materialize(blob, new RecordingLog()))
        .isInstanceOf(StepFailure.class)
        .hasMessageContaining("'../outside.py' would land outside the layer");
    assertThat(dir.resolve("outside.py")).doesNotExist();
    try (Stream<Path> leftovers = Files.list(dir.resolve("layers"))) {
      assertThat(leftovers).isEmpty();
    }
  }

  @Test
  void aLayerOfSymlinksToOneLargeFileIsStoppedAndLeavesNothing() throws Exception {
    // 1 MiB once in the tar, copied for each of 100 links: 100 MiB from a tar of about 1 MiB.
    TestTars.Layer bomb = new TestTars.Layer().file("big.bin", "x".repeat(1 << 20), 0644);
    for (int i = 0; i < 100; i++) {
      bomb.symlink("copy" + i + ".bin", "big.bin");
    }
    Digest blob = store(bomb);

    assertThatThrownBy(() -> layers.materialize(blob, new RecordingLog()))
        .isInstanceOfSatisfying(
            StepFailure.class, e -> assertThat(e.code()).isEqualTo("install::decompression-limit"))
        .hasMessageContaining(blob.toString())
        .hasMessageContaining("symbolic links");
    try (Stream<Path> leftovers = Files.list(dir.resolve("layers"))) {
      assertThat(leftovers).isEmpty();
    }
  }

  @Test
  void unreachableStoreFailsNamingIt() {
    var offline =
        new MaterializedLayers(
            dir.resolve("layers"), LayerBlobSource.cacheService("http://127.0.0.1:1"));

    assertThatThrownBy(
            () -> offline.materialize(Digest.of("sha256:" + "ab".repeat(32)), new RecordingLog()))
        .isInstanceOf(StepFailure.class)
        .hasMessageContaining("cache-service at http://127.0.0.1:1")
        .hasMessageContaining("Check that the cache-service is running");
  }
}
