package dev.kiln.worker.install;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LayerTarTest {
  @TempDir Path tmp;

  private static final String LONG_NAME = "pkg/" + "very_long_module_name_".repeat(8) + "end.py";

  private Path tree(String name, String mode, long mtimeMillis, boolean reverseCreation)
      throws Exception {
    Path root = Files.createDirectories(tmp.resolve(name));
    List<Map.Entry<String, String>> files =
        new ArrayList<>(
            List.of(
                Map.entry("pkg/__init__.py", "x = 1\n"),
                Map.entry("pkg/sub/data.txt", "data\n"),
                Map.entry("bin/tool", "#!/usr/bin/env python3\n"),
                Map.entry(LONG_NAME, "long\n"),
                Map.entry("pkg/é.py", "unicode\n")));
    if (reverseCreation) {
      java.util.Collections.reverse(files);
    }
    for (var file : files) {
      Path path = root.resolve(file.getKey());
      Files.createDirectories(path.getParent());
      Files.writeString(path, file.getValue());
      Files.setPosixFilePermissions(path, PosixFilePermissions.fromString(mode));
      Files.setLastModifiedTime(path, FileTime.fromMillis(mtimeMillis));
    }
    Files.setPosixFilePermissions(
        root.resolve("bin/tool"), PosixFilePermissions.fromString("rwxr-x---"));
    Files.createSymbolicLink(root.resolve("pkg/link.py"), Path.of("__init__.py"));
    return root;
  }

  private static Map<String, TarArchiveEntry> entries(Path tar, Map<String, String> contents)
      throws Exception {
    Map<String, TarArchiveEntry> entries = new LinkedHashMap<>();
    try (InputStream in = Files.newInputStream(tar);
        TarArchiveInputStream archive = new TarArchiveInputStream(in)) {
      for (TarArchiveEntry entry; (entry = archive.getNextEntry()) != null; ) {
        entries.put(entry.getName(), entry);
        if (entry.isFile()) {
          contents.put(entry.getName(), new String(archive.readAllBytes(), StandardCharsets.UTF_8));
        }
      }
    }
    return entries;
  }

  @Test
  void theSameTreeGivesTheSameBytesWhateverItsTimesModesAndCreationOrder() throws Exception {
    LayerTar.Written first =
        LayerTar.write(tree("a", "rw-r--r--", 1_000_000L, false), tmp.resolve("a.tar"));
    LayerTar.Written second =
        LayerTar.write(tree("b", "rw-rw----", 2_000_000_000L, true), tmp.resolve("b.tar"));

    assertThat(second.sha256()).isEqualTo(first.sha256());
    assertThat(Files.mismatch(tmp.resolve("a.tar"), tmp.resolve("b.tar"))).isEqualTo(-1L);
    assertThat(first.size()).isEqualTo(Files.size(tmp.resolve("a.tar")));
  }

  @Test
  void entriesAreSortedRelativeOwnedByRootWithFixedTimesAndNormalisedModes() throws Exception {
    LayerTar.write(tree("a", "rw-------", 1_000_000L, false), tmp.resolve("a.tar"));
    Map<String, String> contents = new LinkedHashMap<>();
    Map<String, TarArchiveEntry> entries = entries(tmp.resolve("a.tar"), contents);

    assertThat(entries.keySet())
        .containsExactly(
            "bin/",
            "bin/tool",
            "pkg/",
            "pkg/__init__.py",
            "pkg/link.py",
            "pkg/sub/",
            "pkg/sub/data.txt",
            LONG_NAME,
            "pkg/é.py");
    assertThat(contents.get(LONG_NAME)).isEqualTo("long\n");
    assertThat(contents.get("pkg/é.py")).isEqualTo("unicode\n");
    assertThat(entries.get("bin/tool").getMode()).isEqualTo(0755);
    assertThat(entries.get("pkg/__init__.py").getMode()).isEqualTo(0644);
    assertThat(entries.get("pkg/").getMode()).isEqualTo(0755);
    assertThat(entries.get("pkg/link.py").isSymbolicLink()).isTrue();
    assertThat(entries.get("pkg/link.py").getLinkName()).isEqualTo("__init__.py");
    assertThat(entries.values())
        .allSatisfy(
            entry -> {
              assertThat(entry.getModTime().getTime()).isEqualTo(LayerTar.MTIME_SECONDS * 1000);
              assertThat(entry.getLongUserId()).isZero();
              assertThat(entry.getLongGroupId()).isZero();
              assertThat(entry.getUserName()).isEmpty();
            });
  }
}
