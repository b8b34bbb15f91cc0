package dev.kiln.installer.wheel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.events.Digest;
import dev.kiln.installer.ArtifactFile;
import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.LockedDistribution;
import dev.kiln.installer.TargetEnvironment;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class WheelChooserTest {
  private static final TargetEnvironment BOOKWORM_312 =
      TargetEnvironment.linuxX86_64("3.12.7", "2.36");

  private static ArtifactFile file(String filename) {
    return new ArtifactFile(filename, hash(filename), null, -1);
  }

  private static Digest hash(String filename) {
    return Digest.compute(filename.getBytes(StandardCharsets.UTF_8));
  }

  private static List<ArtifactFile> files(String... filenames) {
    return Arrays.stream(filenames).map(WheelChooserTest::file).toList();
  }

  private static LockedDistribution unhashed(String name, String version) {
    return new LockedDistribution(name, version, List.of(), Set.of());
  }

  private static LockedDistribution hashed(String name, String version, String... allowed) {
    return new LockedDistribution(
        name,
        version,
        List.of(),
        Arrays.stream(allowed).map(WheelChooserTest::hash).collect(Collectors.toSet()));
  }

  private static String choose(LockedDistribution locked, List<ArtifactFile> offered)
      throws InstallerException {
    return WheelChooser.choose(locked, offered, BOOKWORM_312).filename();
  }

  private static final List<ArtifactFile> NUMPY =
      files(
          "numpy-2.1.3.tar.gz",
          "numpy-2.1.3-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
          "numpy-2.1.3-cp312-cp312-macosx_14_0_arm64.whl",
          "numpy-2.1.3-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
          "numpy-2.1.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
          "numpy-2.1.3-cp312-cp312-musllinux_1_2_x86_64.whl",
          "numpy-2.1.3-cp312-cp312-win_amd64.whl",
          "numpy-2.1.3-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
          "numpy-2.2.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");

  @Test
  void theWheelForTheTargetsCpythonAndGlibcIsChosen() throws InstallerException {
    assertThat(choose(unhashed("numpy", "2.1.3"), NUMPY))
        .isEqualTo("numpy-2.1.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        // offered (space-separated) | chosen
        "x-1.0-py3-none-any.whl x-1.0-cp312-cp312-manylinux_2_28_x86_64.whl"
            + " | x-1.0-cp312-cp312-manylinux_2_28_x86_64.whl",
        "x-1.0-cp312-cp312-manylinux_2_17_x86_64.whl x-1.0-cp312-cp312-manylinux_2_28_x86_64.whl"
            + " | x-1.0-cp312-cp312-manylinux_2_28_x86_64.whl",
        "x-1.0-cp39-abi3-manylinux_2_17_x86_64.whl x-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"
            + " | x-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
        "x-1.0-cp39-abi3-manylinux_2_17_x86_64.whl x-1.0-cp310-abi3-manylinux_2_17_x86_64.whl"
            + " | x-1.0-cp310-abi3-manylinux_2_17_x86_64.whl",
        "x-1.0-cp39-abi3-manylinux_2_17_x86_64.whl x-1.0-py3-none-any.whl"
            + " | x-1.0-cp39-abi3-manylinux_2_17_x86_64.whl",
        "x-1.0-py2.py3-none-any.whl x-1.0.tar.gz | x-1.0-py2.py3-none-any.whl",
        "x-1.0-py3-none-any.whl x-1.0-py312-none-any.whl | x-1.0-py312-none-any.whl",
        "x-1.0-py3-none-any.whl x-1.0-cp312-none-any.whl | x-1.0-cp312-none-any.whl",
        "x-1.0-cp312-cp312-linux_x86_64.whl x-1.0-cp312-cp312-manylinux1_x86_64.whl"
            + " | x-1.0-cp312-cp312-manylinux1_x86_64.whl",
        "x-1.0-1-py3-none-any.whl x-1.0-2-py3-none-any.whl x-1.0-py3-none-any.whl"
            + " | x-1.0-2-py3-none-any.whl",
        "x-1.0.tar.gz x-1.0-cp313-cp313-manylinux_2_17_x86_64.whl | x-1.0.tar.gz",
        "x-1.0.zip x-1.0.tar.gz | x-1.0.tar.gz",
        "x-1.0.0-py3-none-any.whl | x-1.0.0-py3-none-any.whl",
        "X-1.0-py3-none-any.whl | X-1.0-py3-none-any.whl",
      })
  void theBestRankedFittingFileWins(String offered, String chosen) throws InstallerException {
    assertThat(choose(unhashed("x", "1.0"), files(offered.split(" ")))).isEqualTo(chosen);
  }

  @Test
  void theLockedHashesDecideAmongFittingFiles() throws InstallerException {
    LockedDistribution locked =
        hashed(
            "numpy",
            "2.1.3",
            "numpy-2.1.3-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "numpy-2.1.3.tar.gz");
    // The cp312 wheel fits best, but the lock does not allow its hash: the sdist it allows wins.
    assertThat(choose(locked, NUMPY)).isEqualTo("numpy-2.1.3.tar.gz");
  }

  @Test
  void aFileTheLockListsWinsATieAndNeedsNoIndex() throws InstallerException {
    ArtifactFile listed =
        new ArtifactFile(
            "attrs-24.2.0-py3-none-any.whl",
            hash("the lock's copy"),
            "https://files.example/attrs-24.2.0-py3-none-any.whl",
            63001);
    LockedDistribution locked =
        new LockedDistribution("attrs", "24.2.0", List.of(listed), Set.of());
    assertThat(WheelChooser.choose(locked, files("attrs-24.2.0-py3-none-any.whl"), BOOKWORM_312))
        .isEqualTo(listed);
    assertThat(WheelChooser.choose(locked, List.of(), BOOKWORM_312)).isEqualTo(listed);
  }

  @Test
  void aLocalVersionIsNotTheSameVersion() throws InstallerException {
    List<ArtifactFile> offered =
        files(
            "torch-2.3.0+cpu-cp312-cp312-linux_x86_64.whl",
            "torch-2.3.0-cp312-cp312-manylinux1_x86_64.whl");
    assertThat(choose(unhashed("torch", "2.3.0+cpu"), offered))
        .isEqualTo("torch-2.3.0+cpu-cp312-cp312-linux_x86_64.whl");
    assertThat(choose(unhashed("torch", "2.3.0"), offered))
        .isEqualTo("torch-2.3.0-cp312-cp312-manylinux1_x86_64.whl");
  }

  @Test
  void anSdistWithDashesInItsNameIsFound() throws InstallerException {
    assertThat(
            choose(
                unhashed("python-dateutil", "2.8.2"),
                files("python-dateutil-2.8.2.tar.gz", "python_dateutil-2.8.1.tar.gz")))
        .isEqualTo("python-dateutil-2.8.2.tar.gz");
  }

  @Test
  void theChoiceDoesNotDependOnTheOrderFilesAreOffered() throws InstallerException {
    List<ArtifactFile> offered =
        files(
            "x-1.0-py3-none-any.whl",
            "x-1.0-py2.py3-none-any.whl",
            "x-1.0-py3-none-any.whl.metadata",
            "x-1.0.tar.gz");
    String first = choose(unhashed("x", "1.0"), offered);
    for (int i = 0; i < 10; i++) {
      List<ArtifactFile> shuffled = new java.util.ArrayList<>(offered);
      java.util.Collections.shuffle(shuffled, new java.util.Random(i));
      assertThat(choose(unhashed("x", "1.0"), shuffled)).isEqualTo(first);
    }
    assertThat(first).isEqualTo("x-1.0-py2.py3-none-any.whl");
  }

  @Test
  void whenNothingFitsEveryFileIsListedWithItsReason() {
    LockedDistribution locked = unhashed("numpy", "2.1.3");
    List<ArtifactFile> offered =
        files(
            "numpy-2.1.3-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "numpy-2.1.3-cp312-cp312-macosx_14_0_arm64.whl",
            "numpy-2.1.3-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
            "numpy-2.1.3-cp312-cp312-manylinux_2_38_x86_64.manylinux_2_39_x86_64.whl",
            "numpy-2.1.3-cp312-cp312-musllinux_1_2_x86_64.whl",
            "numpy-2.1.3-cp312-cp312-win_amd64.whl",
            "numpy-2.1.3-cp313-abi3-manylinux_2_17_x86_64.whl",
            "numpy-2.1.3-cp312-cp312t-manylinux_2_17_x86_64.whl",
            "numpy-2.1.3-pp310-pypy310_pp73-manylinux_2_17_x86_64.whl",
            "numpy-2.1.3-py2-none-any.whl",
            "numpy-2.1.3-cp27-cp27mu-win32.whl",
            "numpy-2.2.0-cp312-cp312-manylinux_2_17_x86_64.whl",
            "numpy-2.1.3-cp312-cp312.whl",
            "numpy-2.1.3.exe",
            "scipy-2.1.3-py3-none-any.whl");
    assertThatThrownBy(() -> WheelChooser.choose(locked, offered, BOOKWORM_312))
        .isInstanceOf(InstallerException.class)
        .hasFieldOrPropertyWithValue("code", Codes.NO_COMPATIBLE_FILE)
        .hasMessage(
            """
            No file of numpy 2.1.3 fits CPython 3.12.7 on Linux x86_64 with glibc 2.36:
              numpy-2.1.3-cp27-cp27mu-win32.whl: built for CPython 2.7 (cp27-cp27mu); the runtime \
            is CPython 3.12; built for Windows (win32)
              numpy-2.1.3-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl: built for \
            CPython 3.11 (cp311-cp311); the runtime is CPython 3.12
              numpy-2.1.3-cp312-cp312-macosx_14_0_arm64.whl: built for macOS (macosx_14_0_arm64)
              numpy-2.1.3-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl: built for \
            aarch64 (manylinux_2_17_aarch64, manylinux2014_aarch64); the runtime is x86_64
              numpy-2.1.3-cp312-cp312-manylinux_2_38_x86_64.manylinux_2_39_x86_64.whl: needs glibc \
            2.38 or newer; the runtime has glibc 2.36
              numpy-2.1.3-cp312-cp312-musllinux_1_2_x86_64.whl: built for musl libc \
            (musllinux_1_2_x86_64); the runtime uses glibc
              numpy-2.1.3-cp312-cp312-win_amd64.whl: built for Windows (win_amd64)
              numpy-2.1.3-cp312-cp312.whl: 'numpy-2.1.3-cp312-cp312.whl' is not a wheel file name: \
            it has 4 parts separated by '-', but a wheel name has 5 or 6: \
            {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl
              numpy-2.1.3-cp312-cp312t-manylinux_2_17_x86_64.whl: built for an ABI of CPython 3.12 \
            the runtime does not have (cp312-cp312t); the runtime is CPython 3.12
              numpy-2.1.3-cp313-abi3-manylinux_2_17_x86_64.whl: needs CPython 3.13 or newer \
            (cp313-abi3); the runtime is CPython 3.12
              numpy-2.1.3-pp310-pypy310_pp73-manylinux_2_17_x86_64.whl: built for PyPy \
            (pp310-pypy310_pp73); the runtime is CPython 3.12
              numpy-2.1.3-py2-none-any.whl: built for Python 2 (py2-none); the runtime is CPython \
            3.12
              numpy-2.1.3.exe: neither a wheel nor a source distribution (.tar.gz, .zip, .tar.bz2, \
            .tgz, .tar.xz, .tar)
              numpy-2.2.0-cp312-cp312-manylinux_2_17_x86_64.whl: version 2.2.0, not the locked 2.1.3
              scipy-2.1.3-py3-none-any.whl: a file of scipy, not of numpy
            Lock a version of numpy that publishes a wheel for CPython 3.12 on Linux x86_64 (glibc \
            2.36 or older), or choose a runtime whose Python and glibc the locked files \
            support.""");
  }

  @Test
  void aFittingFileOutsideTheLockedHashesIsNamedAsSuch() {
    LockedDistribution locked = hashed("flask", "3.0.3", "some other file");
    assertThatThrownBy(
            () -> WheelChooser.choose(locked, files("flask-3.0.3-py3-none-any.whl"), BOOKWORM_312))
        .isInstanceOf(InstallerException.class)
        .hasMessageContaining(
            "flask-3.0.3-py3-none-any.whl: fits the runtime, but its hash "
                + hash("flask-3.0.3-py3-none-any.whl")
                + " is not one the lock allows")
        .hasMessageEndingWith(
            "Re-lock flask so the lock records the hashes of the files this runtime needs.");
  }

  @Test
  void noFilesAtAllSaysSo() {
    assertThatThrownBy(() -> WheelChooser.choose(unhashed("ghost", "1.0"), List.of(), BOOKWORM_312))
        .isInstanceOf(InstallerException.class)
        .hasFieldOrPropertyWithValue("code", Codes.NO_COMPATIBLE_FILE)
        .hasMessage(
            "No file of ghost 1.0 can be installed: the lock lists none and the index offers none."
                + " Check that ghost 1.0 exists on the package index Kiln uses, or re-lock.");
  }

  @Test
  void anOlderGlibcRuntimeFallsBackToOlderManylinuxWheels() throws InstallerException {
    TargetEnvironment buster = TargetEnvironment.linuxX86_64("3.12.7", "2.28");
    List<ArtifactFile> offered =
        files(
            "x-1.0-cp312-cp312-manylinux_2_34_x86_64.whl",
            "x-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
    assertThat(WheelChooser.choose(unhashed("x", "1.0"), offered, buster).filename())
        .isEqualTo("x-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
    assertThat(WheelChooser.choose(unhashed("x", "1.0"), offered, BOOKWORM_312).filename())
        .isEqualTo("x-1.0-cp312-cp312-manylinux_2_34_x86_64.whl");
  }

  @Test
  void aChooserRanksTagsForItsTarget() {
    WheelChooser chooser = WheelChooser.forTarget(BOOKWORM_312);
    assertThat(chooser.rank(WheelTag.parse("cp312-cp312-manylinux_2_36_x86_64"))).hasValue(0);
    assertThat(chooser.rank(WheelTag.parse("py3-none-any"))).isPresent();
    assertThat(chooser.rank(WheelTag.parse("cp312-cp312-win_amd64"))).isEmpty();
    assertThat(chooser.rank(WheelFilename.parse("x-1-py2.py3-none-any.whl")))
        .isEqualTo(chooser.rank(WheelTag.parse("py3-none-any")));
  }
}
