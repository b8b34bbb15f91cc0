package dev.kiln.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.buildpack.RuntimeCatalog;
import dev.kiln.worker.assemble.AssembleStep;
import dev.kiln.worker.sandbox.Sandbox;
import dev.kiln.worker.steps.StepFailure;
import dev.kiln.worker.testsupport.RecordingLog;
import dev.kiln.worker.testsupport.TestRootfs;
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
 * Runtimes as verified facts, against the real offline bookworm runtime (debootstrapped once per
 * machine) and real bubblewrap: what the catalog says is checked against what the image has.
 */
class RuntimeStoreTest {
  private static final String BOOKWORM = "debootstrap:bookworm";
  private static ExecutorService jib;

  @TempDir Path temp;

  @BeforeAll
  static void start() {
    jib = AssembleStep.newJibExecutor();
  }

  @AfterAll
  static void stop() {
    jib.shutdownNow();
  }

  private RuntimeStore store(RuntimeCatalog.Runtime... runtimes) {
    return new RuntimeStore(
        RuntimeStore.Settings.in(temp.resolve("runtimes")),
        RuntimeCatalog.of(List.of(runtimes)),
        new Sandbox(Sandbox.Settings.defaults()),
        jib);
  }

  @Test
  void aDebootstrappedSuiteIsVerifiedFromItsLabelsAndUnpackedOnceForTheSandbox() throws Exception {
    RuntimeStore store = store(new RuntimeCatalog.Runtime("3.11.2", BOOKWORM, "2.36"));
    RecordingLog log = new RecordingLog();

    RuntimeStore.VerifiedRuntime runtime = store.forPython("3.11.2", log);

    assertThat(runtime.python()).isEqualTo("3.11.2");
    assertThat(runtime.glibc()).isEqualTo("2.36");
    assertThat(runtime.evidence()).isEqualTo("labels");
    assertThat(runtime.base()).isInstanceOf(RuntimeImageReference.Tarball.class);
    Path rootfs = store.rootfs(runtime, log);
    assertThat(rootfs.resolve("usr/bin/python3")).exists();
    for (String mountPoint : Sandbox.MOUNT_POINTS) {
      assertThat(rootfs.resolve(mountPoint.substring(1))).isDirectory();
    }
    assertThat(store.rootfs(store.forPython("3.11.2", log), log)).isEqualTo(rootfs);
  }

  @Test
  void aCatalogThatMisstatesThePythonVersionIsRefusedWithBothVersions() {
    RuntimeStore store = store(new RuntimeCatalog.Runtime("3.11.10", BOOKWORM, "2.36"));

    assertThatThrownBy(() -> store.forPython("3.11.10", new RecordingLog()))
        .isInstanceOfSatisfying(
            StepFailure.class,
            failure -> {
              assertThat(failure.code()).isEqualTo(RuntimeStore.VERSION_MISMATCH);
              assertThat(failure.getMessage())
                  .contains("says debootstrap:bookworm has Python 3.11.10")
                  .contains("the image has Python 3.11.2")
                  .contains("\"python\": \"3.11.2\"")
                  .contains("KILN_RUNTIME_CATALOG");
            });
  }

  @Test
  void aCatalogPromisingANewerGlibcThanTheImageHasIsRefusedAndAnOlderOneIsFine() throws Exception {
    assertThatThrownBy(
            () ->
                store(new RuntimeCatalog.Runtime("3.11.2", BOOKWORM, "2.39"))
                    .forPython("3.11.2", new RecordingLog()))
        .isInstanceOfSatisfying(
            StepFailure.class,
            failure -> {
              assertThat(failure.code()).isEqualTo(RuntimeStore.VERSION_MISMATCH);
              assertThat(failure.getMessage()).contains("on glibc 2.39").contains("glibc 2.36");
            });

    assertThat(
            store(new RuntimeCatalog.Runtime("3.11.2", BOOKWORM, "2.17"))
                .forPython("3.11.2", new RecordingLog())
                .glibc())
        .isEqualTo("2.36");
  }

  @Test
  void anImageThatSaysNothingAboutItselfIsProbedInTheSandbox() throws Exception {
    Path unlabelled = temp.resolve("unlabelled.tar");
    DockerArchive.write(
        TestRootfs.bookworm(),
        LayerTarWriter.keepingOwners(),
        new ImageConfig(
            "amd64",
            List.of("PATH=/usr/local/bin:/usr/bin:/bin"),
            List.of("python3"),
            "0:0",
            "/",
            Map.of(),
            "a runtime without Kiln's labels"),
        "example/python:unlabelled",
        unlabelled);
    RuntimeStore store = store(new RuntimeCatalog.Runtime("3.11.2", "tar:" + unlabelled, "2.36"));

    RuntimeStore.VerifiedRuntime runtime = store.forPython("3.11.2", new RecordingLog());

    assertThat(runtime.evidence()).isEqualTo("probe");
    assertThat(runtime.python()).isEqualTo("3.11.2");
    assertThat(runtime.glibc()).isEqualTo("2.36");
  }

  @Test
  void anUnreachableRegistryFailsAsUnavailableNamingTheReference() {
    RuntimeStore store =
        store(new RuntimeCatalog.Runtime("3.12.7", "registry:127.0.0.1:9/python:3.12.7", "2.36"));

    assertThatThrownBy(() -> store.forPython("3.12.7", new RecordingLog()))
        .isInstanceOfSatisfying(
            StepFailure.class,
            failure -> {
              assertThat(failure.code()).isEqualTo(RuntimeStore.UNAVAILABLE);
              assertThat(failure.getMessage()).contains("127.0.0.1:9/python:3.12.7");
            });
    assertThat(System.getProperty("jib.httpTimeout")).isNotNull();
  }

  @Test
  void aRegistryWhoseNameDoesNotResolveFailsWithoutJibsMinuteOfRetries() {
    RuntimeStore store =
        store(
            new RuntimeCatalog.Runtime(
                "3.12.7", "registry.invalid/library/python:3.12.7-slim", "2.36"));

    assertThatThrownBy(() -> store.forPython("3.12.7", new RecordingLog()))
        .isInstanceOfSatisfying(
            StepFailure.class,
            failure -> {
              assertThat(failure.code()).isEqualTo(RuntimeStore.UNAVAILABLE);
              assertThat(failure.getMessage())
                  .contains("registry.invalid/library/python:3.12.7-slim")
                  .contains("the name registry.invalid does not resolve");
            });
  }

  @Test
  void aVersionThisWorkersCatalogDoesNotHaveIsUnavailable() {
    RuntimeStore store = store(new RuntimeCatalog.Runtime("3.11.2", BOOKWORM, "2.36"));

    assertThatThrownBy(() -> store.forPython("3.13.5", new RecordingLog()))
        .isInstanceOfSatisfying(
            StepFailure.class,
            failure -> {
              assertThat(failure.code()).isEqualTo(RuntimeStore.UNAVAILABLE);
              assertThat(failure.getMessage()).contains("no runtime for Python 3.13.5");
            });
  }

  @Test
  void aMissingTarballIsUnavailable() {
    Path missing = temp.resolve("nowhere.tar");
    RuntimeStore store = store(new RuntimeCatalog.Runtime("3.11.2", "tar:" + missing, "2.36"));
    assertThatThrownBy(() -> store.forPython("3.11.2", new RecordingLog()))
        .isInstanceOf(StepFailure.class)
        .hasMessageContaining(missing.toString());
    assertThat(Files.exists(missing)).isFalse();
  }
}
