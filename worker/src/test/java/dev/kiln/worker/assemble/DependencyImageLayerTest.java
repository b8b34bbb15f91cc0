package dev.kiln.worker.assemble;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A stored dependency tar becomes the image layer at /opt/kiln/deps, and nothing else. */
class DependencyImageLayerTest {
  @TempDir Path dir;

  @Test
  void theSameStoredTarAlwaysGivesTheSameLayerUnderOptKilnDeps() throws IOException {
    Path stored =
        write(
            new TestTars.Layer()
                .directory("pkg")
                .file("pkg/__init__.py", "x = 1\n", 0600)
                .file("bin/tool", "#!/bin/sh\n", 0700)
                .hardlink("bin/tool-again", "bin/tool")
                .symlink("pkg/alias.py", "__init__.py")
                .file("pkg/" + "n".repeat(120) + ".py", "long name\n", 0644)
                .bytes());

    DependencyImageLayer.Written first = DependencyImageLayer.write(stored, dir.resolve("a.tar"));
    DependencyImageLayer.Written second = DependencyImageLayer.write(stored, dir.resolve("b.tar"));

    assertThat(first.hex()).isEqualTo(second.hex());
    assertThat(first.hex()).isEqualTo(TestTars.sha256(Files.readAllBytes(dir.resolve("a.tar"))));
    assertThat(first.size()).isEqualTo(Files.size(dir.resolve("a.tar")));
    assertThat(first.skipped()).isEmpty();
    Map<String, TarArchiveEntry> entries = entries(dir.resolve("a.tar"));
    assertThat(entries.keySet())
        .containsExactly(
            "opt/",
            "opt/kiln/",
            "opt/kiln/deps/",
            "opt/kiln/deps/pkg/",
            "opt/kiln/deps/pkg/__init__.py",
            "opt/kiln/deps/bin/tool",
            "opt/kiln/deps/bin/tool-again",
            "opt/kiln/deps/pkg/alias.py",
            "opt/kiln/deps/pkg/" + "n".repeat(120) + ".py");
    assertThat(entries.get("opt/kiln/deps/pkg/__init__.py").getMode() & 07777).isEqualTo(0644);
    assertThat(entries.get("opt/kiln/deps/bin/tool").getMode() & 07777).isEqualTo(0755);
    assertThat(entries.get("opt/kiln/deps/bin/tool-again").getLinkName())
        .isEqualTo("opt/kiln/deps/bin/tool");
    assertThat(entries.get("opt/kiln/deps/pkg/alias.py").getLinkName()).isEqualTo("__init__.py");
    for (TarArchiveEntry entry : entries.values()) {
      assertThat(entry.getLongUserId()).isZero();
      assertThat(entry.getLongGroupId()).isZero();
      assertThat(entry.getModTime().getTime()).isEqualTo(1000);
    }
  }

  @Test
  void attackAnEntryClimbingOutOfTheDependencyDirectoryFailsTheLayer() throws IOException {
    Path stored =
        write(
            new TestTars.Layer()
                .file("../../etc/cron.d/evil", "* * * * * root sh\n", 0644)
                .bytes());

    assertThatThrownBy(() -> DependencyImageLayer.write(stored, dir.resolve("out.tar")))
        .isInstanceOf(MaterializedLayers.LayerFormatException.class)
        .hasMessageContaining("outside the layer");
  }

  @Test
  void attackSymlinksOutOfTheLayerAreLeftOutWithANote() throws IOException {
    Path stored =
        write(
            new TestTars.Layer()
                .symlink("shadow", "/etc/shadow")
                .symlink("pkg/up", "../../../etc")
                .file("pkg/ok.py", "\n", 0644)
                .bytes());

    DependencyImageLayer.Written layer = DependencyImageLayer.write(stored, dir.resolve("out.tar"));

    assertThat(entries(dir.resolve("out.tar")).keySet())
        .containsExactly("opt/", "opt/kiln/", "opt/kiln/deps/", "opt/kiln/deps/pkg/ok.py");
    assertThat(layer.skipped())
        .hasSize(2)
        .allSatisfy(note -> assertThat(note).contains("points outside the layer"));
  }

  @Test
  void attackAHardLinkToAFileTheLayerDoesNotHoldFailsTheLayer() throws IOException {
    Path stored = write(new TestTars.Layer().hardlink("passwd", "/etc/passwd").bytes());

    assertThatThrownBy(() -> DependencyImageLayer.write(stored, dir.resolve("out.tar")))
        .isInstanceOf(MaterializedLayers.LayerFormatException.class)
        .hasMessageContaining("not an earlier regular file");
  }

  private Path write(byte[] tar) throws IOException {
    return Files.write(dir.resolve("stored-" + System.nanoTime() + ".tar"), tar);
  }

  private static Map<String, TarArchiveEntry> entries(Path tar) throws IOException {
    Map<String, TarArchiveEntry> entries = new LinkedHashMap<>();
    try (TarArchiveInputStream in = new TarArchiveInputStream(Files.newInputStream(tar))) {
      for (TarArchiveEntry entry = in.getNextEntry(); entry != null; entry = in.getNextEntry()) {
        entries.put(entry.getName(), entry);
      }
    }
    return entries;
  }
}
