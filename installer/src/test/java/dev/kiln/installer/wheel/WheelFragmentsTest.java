package dev.kiln.installer.wheel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.events.Digest;
import dev.kiln.installer.ArtifactFile;
import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.TargetEnvironment;
import dev.kiln.testkit.WheelBuilder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WheelFragmentsTest {
  private static final TargetEnvironment TARGET = TargetEnvironment.linuxX86_64("3.12.7", "2.36");
  private static final WheelFragments FRAGMENTS = new WheelFragments(TARGET);

  @TempDir Path work;

  @Test
  void fragmentIsASortedTarInTheLayerLayout() throws Exception {
    Path wheel =
        WheelBuilder.wheel("demo-pkg", "1.0")
            .module("demo_pkg/__init__.py", "def main():\n    print('hi')\n")
            .module("demo_pkg/sub/mod.py", "X = 1\n")
            .consoleScript("demo", "demo_pkg:main")
            .writeTo(work.resolve("wheels"));

    WheelFragment fragment = unpack(wheel);

    List<Trees.TarItem> items = Trees.list(fragment.tar());
    assertThat(items)
        .extracting(Trees.TarItem::name)
        .containsExactly(
            "bin/",
            "bin/demo",
            "demo_pkg/",
            "demo_pkg-1.0.dist-info/",
            "demo_pkg-1.0.dist-info/INSTALLER",
            "demo_pkg-1.0.dist-info/METADATA",
            "demo_pkg-1.0.dist-info/RECORD",
            "demo_pkg-1.0.dist-info/WHEEL",
            "demo_pkg-1.0.dist-info/entry_points.txt",
            "demo_pkg/__init__.py",
            "demo_pkg/sub/",
            "demo_pkg/sub/mod.py");
    assertThat(items).allSatisfy(item -> assertThat(item.mtime()).isEqualTo(1));
    assertThat(items).allSatisfy(item -> assertThat(item.uid()).isZero());
    assertThat(items).allSatisfy(item -> assertThat(item.gid()).isZero());
    assertThat(items)
        .allSatisfy(
            item ->
                assertThat(item.mode() & 07777)
                    .as(item.name())
                    .isEqualTo(item.dir() || item.name().startsWith("bin/") ? 0755 : 0644));
    assertThat(fragment.sha256()).isEqualTo(Digest.compute(fragment.tar()));
    assertThat(fragment.size()).isEqualTo(Files.size(fragment.tar()));
    assertThat(fragment.tar()).hasParent(work.resolve("scratch"));
    assertThat(fragment.tar().getFileName()).hasToString(fragment.sha256().hex() + ".tar");
    assertThat(fragment.requirement()).isEqualTo("demo-pkg==1.0");
    assertThat(fragment.topLevelNames()).containsExactly("demo_pkg");
    assertThat(fragment.scripts()).containsExactly("demo");
    assertThat(fragment.warnings()).isEmpty();
  }

  @Test
  void sameWheelGivesTheSameFragmentInAnyDirectory() throws Exception {
    WheelBuilder builder =
        WheelBuilder.wheel("demo-pkg", "1.0")
            .module("demo_pkg/__init__.py", "")
            .consoleScript("demo", "demo_pkg:main");
    Path first = builder.writeTo(work.resolve("one"));
    Path second = builder.writeTo(work.resolve("two/deeper"));

    WheelFragment a = FRAGMENTS.unpack(first, Digest.compute(first), work.resolve("s1"));
    WheelFragment b = FRAGMENTS.unpack(second, Digest.compute(second), work.resolve("s2/x"));

    assertThat(a.sha256()).isEqualTo(b.sha256());
    assertThat(Files.readAllBytes(a.tar())).isEqualTo(Files.readAllBytes(b.tar()));
  }

  @Test
  void consoleAndGuiScriptsBecomeLaunchersWithTheEnvShebang() throws Exception {
    Path wheel =
        RawWheel.of("demo", "1.0")
            .file("demo/__init__.py", "def main(): pass\n")
            .file(
                "demo-1.0.dist-info/entry_points.txt",
                "[console_scripts]\n"
                    + "demo = demo.cli:app.run [extra]\n"
                    + "# a comment\n"
                    + "[gui_scripts]\n"
                    + "demo-gui=demo:main\n"
                    + "[other.group]\n"
                    + "ignored = x\n")
            .writeTo(work.resolve("wheels"));

    WheelFragment fragment = unpack(wheel);

    Map<String, byte[]> contents = Trees.contents(fragment.tar());
    assertThat(text(contents.get("bin/demo")))
        .isEqualTo(
            "#!/usr/bin/env python3\n"
                + "# -*- coding: utf-8 -*-\n"
                + "import re\n"
                + "import sys\n"
                + "from demo.cli import app\n"
                + "if __name__ == '__main__':\n"
                + "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
                + "    sys.exit(app.run())\n");
    assertThat(text(contents.get("bin/demo-gui"))).contains("from demo import main\n");
    assertThat(fragment.scripts()).containsExactly("demo", "demo-gui");
  }

  @Test
  void pipAndEasyInstallGetTheTargetPythonsVersionedNames() throws Exception {
    Path wheel =
        RawWheel.of("pip", "24.0")
            .file("pip/__init__.py", "")
            .file(
                "pip-24.0.dist-info/entry_points.txt",
                "[console_scripts]\n"
                    + "pip = pip._internal.cli.main:main\n"
                    + "pip3 = pip._internal.cli.main:main\n"
                    + "pip3.9 = pip._internal.cli.main:main\n"
                    + "easy_install = setuptools.command.easy_install:main\n"
                    + "easy_install-3.9 = setuptools.command.easy_install:main\n")
            .writeTo(work.resolve("wheels"));

    assertThat(unpack(wheel).scripts())
        .containsExactly("easy_install", "easy_install-3.12", "pip", "pip3", "pip3.12");
  }

  @Test
  void dataSchemesGoWherePipTargetPutsThemAndHeadersNowhere() throws Exception {
    Path wheel =
        RawWheel.of("demo", "1.0")
            .file("demo-1.0.data/purelib/demo/__init__.py", "")
            .file("demo-1.0.data/platlib/demo/_speedups.cpython-312-x86_64-linux-gnu.so", "ELF")
            .file("demo-1.0.data/data/share/demo/readme.txt", "data")
            .file("demo-1.0.data/headers/demo.h", "int demo(void);")
            .file("demo-1.0.data/scripts/tool", "#!python\nprint('tool')\n")
            .file("demo-1.0.data/scripts/gui-tool", "#!pythonw -u\r\nprint('gui')\n")
            .file("demo-1.0.data/scripts/sh-tool", "#!/bin/sh\necho hi\n")
            .file("demo-1.0.data/scripts/python-tool", "#!/usr/bin/python3\nprint(1)\n")
            .writeTo(work.resolve("wheels"));

    WheelFragment fragment = unpack(wheel);

    Map<String, byte[]> contents = Trees.contents(fragment.tar());
    assertThat(contents.keySet())
        .containsExactly(
            "bin/gui-tool",
            "bin/python-tool",
            "bin/sh-tool",
            "bin/tool",
            "demo-1.0.dist-info/INSTALLER",
            "demo-1.0.dist-info/METADATA",
            "demo-1.0.dist-info/RECORD",
            "demo-1.0.dist-info/WHEEL",
            "demo/__init__.py",
            "demo/_speedups.cpython-312-x86_64-linux-gnu.so",
            "share/demo/readme.txt");
    assertThat(text(contents.get("bin/tool"))).isEqualTo("#!/usr/bin/env python3\nprint('tool')\n");
    assertThat(text(contents.get("bin/gui-tool")))
        .isEqualTo("#!/usr/bin/env python3\nprint('gui')\n");
    assertThat(text(contents.get("bin/sh-tool"))).isEqualTo("#!/bin/sh\necho hi\n");
    // Only #!python is pip's placeholder; other shebangs are the wheel's own choice.
    assertThat(text(contents.get("bin/python-tool"))).startsWith("#!/usr/bin/python3\n");
    assertThat(Trees.list(fragment.tar()))
        .filteredOn(item -> item.name().startsWith("bin/") && !item.dir())
        .allSatisfy(item -> assertThat(item.mode() & 07777).isEqualTo(0755));
    assertThat(fragment.topLevelNames()).containsExactly("demo");
    assertThat(fragment.scripts()).containsExactly("gui-tool", "python-tool", "sh-tool", "tool");
  }

  @Test
  void rootIsPurelibFalseInstallsIntoTheSameRoot() throws Exception {
    Path wheel =
        RawWheel.of("demo", "1.0")
            .wheelFile(
                "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp312-cp312-linux_x86_64\n")
            .file("demo/__init__.py", "")
            .writeTo(work.resolve("wheels"));

    assertThat(Trees.contents(unpack(wheel).tar())).containsKey("demo/__init__.py");
  }

  @Test
  void executableBitComesFromTheZipAttributes() throws Exception {
    Path wheel =
        RawWheel.of("demo", "1.0")
            .file("demo/__init__.py", "".getBytes(StandardCharsets.UTF_8), 0100644)
            .file("demo/helper", "#!/bin/sh\n".getBytes(StandardCharsets.UTF_8), 0100755)
            .file("demo/group-exec", "x".getBytes(StandardCharsets.UTF_8), 0100610)
            .file("demo/no-type-bits", "x".getBytes(StandardCharsets.UTF_8), 0755)
            .writeTo(work.resolve("wheels"));

    Map<String, Integer> modes = new java.util.TreeMap<>();
    Trees.list(unpack(wheel).tar()).forEach(item -> modes.put(item.name(), item.mode() & 07777));

    assertThat(modes)
        .containsEntry("demo/__init__.py", 0644)
        .containsEntry("demo/helper", 0755)
        .containsEntry("demo/group-exec", 0755)
        // pip makes a file executable only when the zip says it is a regular file
        .containsEntry("demo/no-type-bits", 0644);
  }

  @Test
  void installedRecordListsEveryFileWithItsSha256AndSize() throws Exception {
    Path wheel =
        RawWheel.of("demo", "1.0")
            .file("demo/__init__.py", "x = 1\n")
            .file("demo/odd,name.py", "y = 2\n")
            .file("demo-1.0.data/scripts/tool", "#!python\nprint('tool')\n")
            .file("demo-1.0.dist-info/direct_url.json", "{\"url\": \"file:///tmp/x.whl\"}")
            .file("demo-1.0.dist-info/INSTALLER", "pip\n")
            .recordHashAlgorithm("sha512")
            .writeTo(work.resolve("wheels"));

    Map<String, byte[]> contents = Trees.contents(unpack(wheel).tar());

    assertThat(contents).doesNotContainKey("demo-1.0.dist-info/direct_url.json");
    assertThat(text(contents.get("demo-1.0.dist-info/INSTALLER"))).isEqualTo("kiln\n");
    String record = text(contents.get("demo-1.0.dist-info/RECORD"));
    assertThat(record.lines())
        .containsExactly(
            "bin/tool," + sha256Field(contents.get("bin/tool")) + ",37",
            "demo-1.0.dist-info/INSTALLER,"
                + sha256Field(contents.get("demo-1.0.dist-info/INSTALLER"))
                + ",5",
            "demo-1.0.dist-info/METADATA,"
                + sha256Field(contents.get("demo-1.0.dist-info/METADATA"))
                + ","
                + contents.get("demo-1.0.dist-info/METADATA").length,
            "demo-1.0.dist-info/RECORD,,",
            "demo-1.0.dist-info/WHEEL,"
                + sha256Field(contents.get("demo-1.0.dist-info/WHEEL"))
                + ","
                + contents.get("demo-1.0.dist-info/WHEEL").length,
            "demo/__init__.py," + sha256Field(contents.get("demo/__init__.py")) + ",6",
            "\"demo/odd,name.py\"," + sha256Field(contents.get("demo/odd,name.py")) + ",6");
  }

  @Test
  void setuptoolsWrappersForEntryPointsAreLeftToTheLaunchers() throws Exception {
    Path wheel =
        RawWheel.of("demo", "1.0")
            .file("demo/__init__.py", "def main(): pass\n")
            .file("demo-1.0.data/scripts/demo", "#!python\nold wrapper\n")
            .file("demo-1.0.data/scripts/demo-script.py", "#!python\nold wrapper\n")
            .file("demo-1.0.data/scripts/demo.exe", "MZ")
            .file("demo-1.0.data/scripts/other", "#!python\nkept\n")
            .file("demo-1.0.dist-info/entry_points.txt", "[console_scripts]\ndemo = demo:main\n")
            .writeTo(work.resolve("wheels"));

    WheelFragment fragment = unpack(wheel);

    assertThat(fragment.scripts()).containsExactly("demo", "other");
    assertThat(text(Trees.contents(fragment.tar()).get("bin/demo")))
        .contains("from demo import main");
  }

  @Test
  void longAndNonAsciiNamesTravelInPaxHeaders() throws Exception {
    String longName = "demo/" + "very_long_directory_name/".repeat(5) + "módulo.py";
    Path wheel =
        RawWheel.of("demo", "1.0").file(longName, "x = 1\n").writeTo(work.resolve("wheels"));

    WheelFragment fragment = unpack(wheel);
    Path extracted = work.resolve("extracted");
    Trees.extract(fragment.tar(), extracted);

    assertThat(Trees.contents(fragment.tar())).containsKey(longName);
    assertThat(extracted.resolve(longName)).hasContent("x = 1\n");
  }

  @Test
  void newerWheelMinorVersionIsAWarning() throws Exception {
    Path wheel =
        RawWheel.of("demo", "1.0")
            .wheelFile("Wheel-Version: 1.9\nRoot-Is-Purelib: true\n")
            .file("demo.py", "")
            .writeTo(work.resolve("wheels"));

    WheelFragment fragment = unpack(wheel);

    assertThat(fragment.warnings())
        .singleElement()
        .satisfies(
            warning -> {
              assertThat(warning.code()).isEqualTo(Codes.NEWER_WHEEL_VERSION);
              assertThat(warning.message()).contains("demo-1.0-py3-none-any.whl", "1.9");
            });
    assertThat(fragment.topLevelNames()).containsExactly("demo");
  }

  @Test
  void wheelVersionTwoIsRefused() throws Exception {
    Path wheel =
        RawWheel.of("demo", "1.0")
            .wheelFile("Wheel-Version: 2.0\n")
            .file("demo.py", "")
            .writeTo(work.resolve("wheels"));

    assertCode(wheel, Codes.UNSUPPORTED_WHEEL_VERSION, "version 2.0 wheel");
  }

  @Test
  void fileThatIsNotAZipIsInvalid() throws Exception {
    Path wheel = work.resolve("demo-1.0-py3-none-any.whl");
    Files.write(wheel, "not a zip".getBytes(StandardCharsets.UTF_8));

    assertCode(wheel, Codes.INVALID_WHEEL, "not a zip");
  }

  @Test
  void damagedCompressedDataIsInvalid() throws Exception {
    byte[] text = new byte[20_000];
    for (int i = 0; i < text.length; i++) {
      text[i] = (byte) ('a' + i * 7 % 26);
    }
    byte[] zip = RawWheel.of("demo", "1.0").file("demo/data.txt", text).bytes();
    long header = ZipBytes.centralField(zip, "demo/data.txt", ZipBytes.LOCAL_HEADER_OFFSET);
    for (int i = 0; i < 40; i++) {
      zip[(int) header + 60 + i] ^= 0x5a;
    }
    Path wheel = work.resolve("demo-1.0-py3-none-any.whl");
    Files.write(wheel, zip);

    assertCode(wheel, Codes.INVALID_WHEEL, "damaged zip");
  }

  @Test
  void badWheelFileNameIsInvalid() throws Exception {
    Path wheel = RawWheel.of("demo", "1.0").file("demo.py", "").writeTo(work.resolve("w"));
    Path renamed = Files.move(wheel, work.resolve("demo.whl"));

    assertCode(renamed, Codes.INVALID_WHEEL, "is not a wheel file name");
  }

  @Test
  void entryPointWithoutAFunctionIsInvalid() throws Exception {
    Path wheel =
        RawWheel.of("demo", "1.0")
            .file("demo.py", "")
            .file("demo-1.0.dist-info/entry_points.txt", "[console_scripts]\ndemo = demo\n")
            .writeTo(work.resolve("wheels"));

    assertCode(wheel, Codes.INVALID_WHEEL, "no function to call");
  }

  @Test
  void sizeTheLockGivesIsChecked() throws Exception {
    Path wheel = RawWheel.of("demo", "1.0").file("demo.py", "").writeTo(work.resolve("wheels"));
    ArtifactFile locked =
        new ArtifactFile(
            "demo-1.0-py3-none-any.whl", Digest.compute(wheel), null, Files.size(wheel) + 1);

    assertThatThrownBy(() -> FRAGMENTS.unpack(locked, wheel, work.resolve("scratch")))
        .isInstanceOfSatisfying(
            InstallerException.class, e -> assertThat(e.code()).isEqualTo(Codes.HASH_MISMATCH))
        .hasMessageContaining("bytes long, but the lock says");
  }

  @Test
  void storeFileWithoutTheWheelNameUnpacksUnderTheLockedName() throws Exception {
    Path wheel = RawWheel.of("demo", "1.0").file("demo.py", "").writeTo(work.resolve("wheels"));
    Path inStore = Files.move(wheel, work.resolve(Digest.compute(wheel).hex()));
    ArtifactFile locked =
        new ArtifactFile("demo-1.0-py3-none-any.whl", Digest.compute(inStore), null, -1);

    WheelFragment fragment = FRAGMENTS.unpack(locked, inStore, work.resolve("scratch"));

    assertThat(fragment.requirement()).isEqualTo("demo==1.0");
  }

  @Test
  void topLevelNamesAreTheImportableOnes() throws Exception {
    Path wheel =
        RawWheel.of("demo", "1.0")
            .file("demo/__init__.py", "")
            .file("nspkg/part/__init__.py", "")
            .file("single.py", "")
            .file("_native.cpython-312-x86_64-linux-gnu.so", "ELF")
            .file("demo-nspkg.pth", "import x")
            .file("LICENSE", "MIT")
            .file("demo-1.0.data/data/share/thing.txt", "")
            .writeTo(work.resolve("wheels"));

    assertThat(unpack(wheel).topLevelNames()).containsExactly("_native", "demo", "nspkg", "single");
  }

  private WheelFragment unpack(Path wheel) throws Exception {
    return FRAGMENTS.unpack(wheel, Digest.compute(wheel), work.resolve("scratch"));
  }

  private void assertCode(Path wheel, String code, String messagePart) throws Exception {
    Path scratch = work.resolve("scratch");
    assertThatThrownBy(() -> FRAGMENTS.unpack(wheel, Digest.compute(wheel), scratch))
        .isInstanceOfSatisfying(InstallerException.class, e -> assertThat(e.code()).isEqualTo(code))
        .hasMessageContaining(messagePart);
    if (Files.exists(scratch)) {
      try (var left = Files.list(scratch)) {
        assertThat(left.toList()).isEmpty();
      }
    }
  }

  private static String text(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private static String sha256Field(byte[] content) {
    return RecordFile.sha256Field(Digest.newSha256().digest(content));
  }
}
