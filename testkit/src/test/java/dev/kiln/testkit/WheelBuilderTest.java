package dev.kiln.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WheelBuilderTest {
  @TempDir Path dir;

  @Test
  void sameInputsGiveIdenticalBytes() {
    byte[] first = demo().bytes();
    byte[] second = demo().bytes();

    assertThat(first).isEqualTo(second);
  }

  @Test
  void writesAPep427WheelNamedByTheSpec() throws Exception {
    Path wheel = demo().writeTo(dir);

    assertThat(wheel.getFileName()).hasToString("demo_pkg-1.0-py3-none-any.whl");
    Map<String, String> entries = unzip(Files.readAllBytes(wheel));
    assertThat(entries.keySet())
        .containsExactly(
            "demo_pkg/__init__.py",
            "demo_pkg-1.0.dist-info/METADATA",
            "demo_pkg-1.0.dist-info/WHEEL",
            "demo_pkg-1.0.dist-info/entry_points.txt",
            "demo_pkg-1.0.dist-info/RECORD");
    assertThat(entries.get("demo_pkg-1.0.dist-info/METADATA"))
        .isEqualTo(
            "Metadata-Version: 2.1\nName: Demo-Pkg\nVersion: 1.0\nRequires-Python: >=3.9\n"
                + "Requires-Dist: other>=1\n");
    assertThat(entries.get("demo_pkg-1.0.dist-info/WHEEL"))
        .contains("Wheel-Version: 1.0")
        .contains("Root-Is-Purelib: true")
        .contains("Tag: py3-none-any");
    assertThat(entries.get("demo_pkg-1.0.dist-info/entry_points.txt"))
        .isEqualTo("[console_scripts]\ndemo = demo_pkg:main\n");
  }

  @Test
  void recordHashesMatchTheEntries() throws Exception {
    Map<String, String> entries = unzip(demo().bytes());

    String[] lines = entries.get("demo_pkg-1.0.dist-info/RECORD").split("\n");
    assertThat(lines).hasSize(5);
    for (String line : lines) {
      String[] fields = line.split(",", -1);
      if (fields[0].endsWith("RECORD")) {
        assertThat(fields[1]).isEmpty();
        continue;
      }
      byte[] content = entries.get(fields[0]).getBytes(StandardCharsets.UTF_8);
      String hash =
          Base64.getUrlEncoder()
              .withoutPadding()
              .encodeToString(MessageDigest.getInstance("SHA-256").digest(content));
      assertThat(fields[1]).isEqualTo("sha256=" + hash);
      assertThat(fields[2]).isEqualTo(Integer.toString(content.length));
    }
  }

  @Test
  void defaultModuleIsThePackageInit() throws Exception {
    Map<String, String> entries = unzip(WheelBuilder.wheel("Plain.Name", "2.0").bytes());

    assertThat(entries).containsEntry("plain_name/__init__.py", "__version__ = \"2.0\"\n");
  }

  @Test
  void invalidNamesAndPathsAreRefusedWithTheRule() {
    assertThatThrownBy(() -> WheelBuilder.wheel("-bad", "1.0"))
        .hasMessageContaining("not a valid Python project name");
    assertThatThrownBy(() -> WheelBuilder.wheel("ok", "1.0").module("../evil.py", ""))
        .hasMessageContaining("must be relative");
  }

  @Test
  void aTagTripleNamesTheWheelAndMakesItImpure() throws Exception {
    WheelBuilder builder = demo().tag("cp313", "cp313", "manylinux_2_17_x86_64");

    Path wheel = builder.writeTo(dir);

    assertThat(wheel.getFileName())
        .hasToString("demo_pkg-1.0-cp313-cp313-manylinux_2_17_x86_64.whl");
    assertThat(unzip(Files.readAllBytes(wheel)).get("demo_pkg-1.0.dist-info/WHEEL"))
        .isEqualTo(
            "Wheel-Version: 1.0\nGenerator: kiln-testkit\nRoot-Is-Purelib: false\n"
                + "Tag: cp313-cp313-manylinux_2_17_x86_64\n");
  }

  @Test
  void compressedTagSetsStayInTheFilenameAndExpandToOneTagLineEach() throws Exception {
    WheelBuilder builder =
        demo().tag("cp312.cp313", "abi3", "manylinux_2_17_x86_64.manylinux2014_x86_64");

    assertThat(builder.filename())
        .isEqualTo("demo_pkg-1.0-cp312.cp313-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
    assertThat(builder.tags())
        .containsExactly(
            "cp312-abi3-manylinux_2_17_x86_64",
            "cp312-abi3-manylinux2014_x86_64",
            "cp313-abi3-manylinux_2_17_x86_64",
            "cp313-abi3-manylinux2014_x86_64");
    assertThat(unzip(builder.bytes()).get("demo_pkg-1.0.dist-info/WHEEL"))
        .contains("Root-Is-Purelib: false\n")
        .contains(
            "Tag: cp312-abi3-manylinux_2_17_x86_64\nTag: cp312-abi3-manylinux2014_x86_64\n"
                + "Tag: cp313-abi3-manylinux_2_17_x86_64\nTag: cp313-abi3-manylinux2014_x86_64\n");
  }

  @Test
  void pureTagSetsKeepRootIsPurelib() throws Exception {
    WheelBuilder builder = demo().tag("py2.py3", "none", "any");

    assertThat(builder.filename()).isEqualTo("demo_pkg-1.0-py2.py3-none-any.whl");
    assertThat(unzip(builder.bytes()).get("demo_pkg-1.0.dist-info/WHEEL"))
        .contains("Root-Is-Purelib: true\nTag: py2-none-any\nTag: py3-none-any\n");
  }

  @Test
  void binaryFilesAreStoredAsGivenRecordedAndReproducible() throws Exception {
    byte[] native1 = new byte[256];
    for (int i = 0; i < native1.length; i++) {
      native1[i] = (byte) i;
    }
    WheelBuilder builder =
        demo()
            .tag("cp313", "cp313", "linux_x86_64")
            .file("demo_pkg/_speedups.cpython-313-x86_64-linux-gnu.so", native1);
    byte[] first = builder.bytes();
    native1[0] = 42; // the builder took a copy

    Map<String, byte[]> entries = unzipBytes(builder.bytes());

    assertThat(builder.bytes()).isEqualTo(first);
    byte[] stored = entries.get("demo_pkg/_speedups.cpython-313-x86_64-linux-gnu.so");
    assertThat(stored).hasSize(256);
    assertThat(stored[0]).isZero();
    assertThat(stored[255]).isEqualTo((byte) 255);
    assertThat(new String(entries.get("demo_pkg-1.0.dist-info/RECORD"), StandardCharsets.UTF_8))
        .contains(
            "demo_pkg/_speedups.cpython-313-x86_64-linux-gnu.so,sha256="
                + urlsafeSha256(stored)
                + ",256\n");
  }

  @Test
  void invalidTagsAreRefusedWithTheRule() {
    assertThatThrownBy(() -> WheelBuilder.wheel("ok", "1.0").tag("cp313", "cp313", "linux-x86"))
        .hasMessageContaining("not a usable platform tag");
    assertThatThrownBy(() -> WheelBuilder.wheel("ok", "1.0").tag("", "none", "any"))
        .hasMessageContaining("not a usable python tag");
    assertThatThrownBy(() -> WheelBuilder.wheel("ok", "1.0").tag("cp313", "cp313.", "any"))
        .hasMessageContaining("not a usable ABI tag");
  }

  @Test
  void verbatimDistInfoFilesReplaceTheGeneratedMetadataButNeverWheelOrRecord() throws Exception {
    byte[] metadata =
        "Metadata-Version: 2.1\nName: Demo-Pkg\nVersion: 1.0\n\nBody\n"
            .getBytes(StandardCharsets.UTF_8);
    Map<String, String> entries =
        unzip(
            WheelBuilder.wheel("Demo-Pkg", "1.0")
                .distInfoFile("METADATA", metadata)
                .distInfoFile(
                    "entry_points.txt",
                    "[console_scripts]\nx = y:z\n".getBytes(StandardCharsets.UTF_8))
                .bytes());

    assertThat(entries.get("demo_pkg-1.0.dist-info/METADATA"))
        .isEqualTo(new String(metadata, StandardCharsets.UTF_8));
    assertThat(entries.get("demo_pkg-1.0.dist-info/entry_points.txt"))
        .isEqualTo("[console_scripts]\nx = y:z\n");
    assertThatThrownBy(() -> WheelBuilder.wheel("ok", "1.0").distInfoFile("RECORD", new byte[0]))
        .hasMessageContaining("other than WHEEL or RECORD");
    assertThatThrownBy(
            () ->
                demo()
                    .distInfoFile(
                        "entry_points.txt", "[console_scripts]\n".getBytes(StandardCharsets.UTF_8))
                    .bytes())
        .hasMessageContaining("both console scripts and a verbatim entry_points.txt");
  }

  @Test
  void pipPicksACp313WheelForCpython313AndRejectsItFor311() throws Exception {
    Path wheels = Files.createDirectories(dir.resolve("wheels"));
    WheelBuilder.wheel("fast-thing", "2.0")
        .tag("cp313", "cp313", "manylinux_2_17_x86_64.manylinux2014_x86_64")
        .file("fast_thing/_speedups.cpython-313-x86_64-linux-gnu.so", new byte[] {0x7f, 'E', 'L'})
        .module("fast_thing/__init__.py", "")
        .writeTo(wheels);

    Pip.Result for313 = download(wheels, "3.13", "manylinux_2_17_x86_64", "for313");
    Pip.Result for313Legacy = download(wheels, "3.13", "manylinux2014_x86_64", "for313legacy");
    Pip.Result for311 = download(wheels, "3.11", "manylinux_2_17_x86_64", "for311");

    String filename = "fast_thing-2.0-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
    assertThat(for313.exitCode()).as(for313.output()).isZero();
    assertThat(dir.resolve("for313").resolve(filename)).exists();
    assertThat(for313Legacy.exitCode()).as(for313Legacy.output()).isZero();
    assertThat(dir.resolve("for313legacy").resolve(filename)).exists();
    assertThat(for311.exitCode()).as(for311.output()).isNotZero();
    assertThat(for311.output()).contains("No matching distribution found for fast-thing");
    assertThat(dir.resolve("for311").resolve(filename)).doesNotExist();
  }

  private Pip.Result download(Path wheels, String pythonVersion, String platform, String dest)
      throws Exception {
    return Pip.run(
        dir,
        "download",
        "--only-binary=:all:",
        "--python-version",
        pythonVersion,
        "--implementation",
        "cp",
        "--platform",
        platform,
        "--no-index",
        "--find-links",
        wheels.toString(),
        "--dest",
        dir.resolve(dest).toString(),
        "fast-thing");
  }

  private static WheelBuilder demo() {
    return WheelBuilder.wheel("Demo-Pkg", "1.0")
        .module("demo_pkg/__init__.py", "def main():\n    print('hi')\n")
        .requires("other>=1")
        .requiresPython(">=3.9")
        .consoleScript("demo", "demo_pkg:main");
  }

  private static Map<String, String> unzip(byte[] wheel) throws IOException {
    Map<String, String> entries = new LinkedHashMap<>();
    unzipBytes(wheel)
        .forEach((name, content) -> entries.put(name, new String(content, StandardCharsets.UTF_8)));
    return entries;
  }

  private static Map<String, byte[]> unzipBytes(byte[] wheel) throws IOException {
    Map<String, byte[]> entries = new LinkedHashMap<>();
    try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(wheel))) {
      for (ZipEntry entry; (entry = zip.getNextEntry()) != null; ) {
        entries.put(entry.getName(), zip.readAllBytes());
      }
    }
    return entries;
  }

  private static String urlsafeSha256(byte[] content) throws Exception {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(MessageDigest.getInstance("SHA-256").digest(content));
  }
}
