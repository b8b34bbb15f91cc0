package dev.kiln.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Finding and reusing cached runtime tarballs; building is covered by the real build test. */
class LocalRuntimeImageTest {
  private static final String TARBALL = "debian-bookworm-python3.tar";

  @TempDir Path work;
  private Path rootfs;
  private final List<String> progress = new ArrayList<>();

  @BeforeEach
  void createRootfs() throws IOException {
    rootfs = Files.createDirectories(work.resolve("rootfs"));
    Files.createDirectories(rootfs.resolve("usr/bin"));
    Files.writeString(rootfs.resolve("usr/bin/python3"), "#!interpreter\n");
  }

  @Test
  void reusesTheTarballInTheRuntimesDirectoryWithoutBuilding() throws Exception {
    Path runtimes = work.resolve("runtimes");
    writeRuntimeTarball(
        runtimes.resolve(TARBALL), LocalRuntimeImage.imageConfig("bookworm", "3.11.2", "2.36"));

    RuntimeImage image = runtimeImage(runtimes, work.resolve("machine")).ensureAvailable();

    assertThat(image)
        .isEqualTo(
            new RuntimeImage(
                runtimes.resolve(TARBALL).toAbsolutePath(),
                "kiln/python-runtime:bookworm",
                "3.11.2",
                "2.36",
                false));
    assertThat(image.pythonMinorVersion()).isEqualTo("3.11");
    assertThat(progress)
        .singleElement()
        .asString()
        .startsWith(
            "Using the local Debian bookworm Python runtime kiln/python-runtime:bookworm"
                + " (Python 3.11.2)");
  }

  @Test
  void takesTheTarballFromTheMachineCacheIntoTheRuntimesDirectory() throws Exception {
    Path machine = work.resolve("machine");
    writeRuntimeTarball(
        machine.resolve(TARBALL), LocalRuntimeImage.imageConfig("bookworm", "3.11.4", "2.36"));
    Path runtimes = work.resolve("home/runtimes");

    RuntimeImage image = runtimeImage(runtimes, machine).ensureAvailable();

    assertThat(image.tarball()).isEqualTo(runtimes.resolve(TARBALL).toAbsolutePath());
    assertThat(image.pythonVersion()).isEqualTo("3.11.4");
    assertThat(image.freshlyBuilt()).isFalse();
    assertThat(Files.mismatch(image.tarball(), machine.resolve(TARBALL))).isEqualTo(-1);
    try (var files = Files.list(runtimes)) {
      assertThat(files.map(path -> path.getFileName().toString())).containsExactly(TARBALL);
    }
  }

  @Test
  void findsNothingCachedWhenThereIsNoTarball() {
    assertThat(runtimeImage(work.resolve("runtimes"), work.resolve("machine")).findCached())
        .isEmpty();
  }

  @Test
  void ignoresCachedFilesThatAreNotCurrentRuntimeTarballs() throws Exception {
    Path garbage = Files.writeString(work.resolve("garbage.tar"), "definitely not a tarball");
    Path olderFormat = work.resolve("older.tar");
    ImageConfig current = LocalRuntimeImage.imageConfig("bookworm", "3.11.2", "2.36");
    Map<String, String> labels = new java.util.HashMap<>(current.labels());
    labels.put(LocalRuntimeImage.FORMAT_LABEL, "0");
    writeRuntimeTarball(
        olderFormat,
        new ImageConfig(
            current.architecture(),
            current.env(),
            current.cmd(),
            current.user(),
            current.workingDir(),
            labels,
            current.createdBy()));

    LocalRuntimeImage bookworm = LocalRuntimeImage.forSuite("bookworm", work);
    assertThat(bookworm.readCached(garbage)).isEmpty();
    assertThat(bookworm.readCached(olderFormat)).isEmpty();
    Path otherSuite = work.resolve("trixie.tar");
    writeRuntimeTarball(otherSuite, LocalRuntimeImage.imageConfig("trixie", "3.13.5", "2.41"));
    assertThat(bookworm.readCached(otherSuite)).isEmpty();
  }

  @Test
  void aMirrorThatIsNotAUrlIsRejectedWithAnExample() {
    assertThatThrownBy(
            () -> LocalRuntimeImage.forSuite("bookworm", work).withMirror("deb.debian.org"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'deb.debian.org'")
        .hasMessageContaining("http://deb.debian.org/debian");
  }

  @Test
  void aSuiteNameThatIsNotOneIsRejected() {
    assertThatThrownBy(() -> LocalRuntimeImage.forSuite("../bookworm", work))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not a Debian suite name");
    assertThat(LocalRuntimeImage.forSuite("forky", work).tarball())
        .isEqualTo(work.resolve("debian-forky-python3.tar").toAbsolutePath());
  }

  @Test
  void onlyDebootstrapPhasesAreReportedNotEachPackage() {
    assertThat(LocalRuntimeImage.isDebootstrapMilestone("I: Retrieving libc6 2.36-9+deb12u10"))
        .isFalse();
    assertThat(LocalRuntimeImage.isDebootstrapMilestone("I: Unpacking apt...")).isFalse();
    assertThat(LocalRuntimeImage.isDebootstrapMilestone("I: Installing core packages...")).isTrue();
    assertThat(LocalRuntimeImage.isDebootstrapMilestone("E: Couldn't download packages")).isTrue();
    assertThat(LocalRuntimeImage.isDebootstrapMilestone("dpkg: warning: something")).isFalse();
  }

  private LocalRuntimeImage runtimeImage(Path runtimes, Path machine) {
    return LocalRuntimeImage.forSuite("bookworm", runtimes)
        .withMachineCache(machine)
        .withProgress(progress::add);
  }

  private void writeRuntimeTarball(Path tarball, ImageConfig config) throws IOException {
    DockerArchive.write(
        rootfs, LayerTarWriter.keepingOwners(), config, "kiln/python-runtime:bookworm", tarball);
  }
}
