package dev.kiln.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
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
    Map<String, String> entries = unzip(java.nio.file.Files.readAllBytes(wheel));
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

  private static WheelBuilder demo() {
    return WheelBuilder.wheel("Demo-Pkg", "1.0")
        .module("demo_pkg/__init__.py", "def main():\n    print('hi')\n")
        .requires("other>=1")
        .requiresPython(">=3.9")
        .consoleScript("demo", "demo_pkg:main");
  }

  private static Map<String, String> unzip(byte[] wheel) throws IOException {
    Map<String, String> entries = new LinkedHashMap<>();
    try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(wheel))) {
      for (ZipEntry entry; (entry = zip.getNextEntry()) != null; ) {
        entries.put(entry.getName(), new String(zip.readAllBytes(), StandardCharsets.UTF_8));
      }
    }
    return entries;
  }
}
