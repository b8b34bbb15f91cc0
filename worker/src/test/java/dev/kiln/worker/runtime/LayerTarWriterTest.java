package dev.kiln.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.worker.runtime.TarWriter.Owner;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The layer writer on a small synthetic rootfs, read back with an independent tar reader. */
class LayerTarWriterTest {

  private static final Instant SOURCE_TIME = Instant.parse("2023-04-09T12:00:00Z");

  @TempDir Path rootfs;

  @BeforeEach
  void createRootfs() throws Exception {
    Files.createDirectories(rootfs.resolve("usr/bin"));
    Files.createDirectories(rootfs.resolve("usr/lib/python3.11"));
    Files.createDirectories(rootfs.resolve("dev"));
    Files.createDirectories(rootfs.resolve("app"));
    Files.writeString(rootfs.resolve("usr/bin/python3.11"), "#!interpreter\n");
    Files.setPosixFilePermissions(
        rootfs.resolve("usr/bin/python3.11"), PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.createSymbolicLink(rootfs.resolve("usr/bin/python3"), Path.of("python3.11"));
    Files.writeString(rootfs.resolve("usr/lib/python3.11/os.py"), "import sys\n");
    Files.setLastModifiedTime(
        rootfs.resolve("usr/lib/python3.11/os.py"), FileTime.from(SOURCE_TIME));
    Files.writeString(rootfs.resolve("usr/bin/zz-last"), "z");
    Files.writeString(rootfs.resolve("usr/bin/Aa-first"), "a");
    Files.createLink(rootfs.resolve("usr/bin/perl5.36"), rootfs.resolve("usr/bin/python3.11"));
    run("mkfifo", rootfs.resolve("dev/initctl").toString());
    if (LocalRuntimeImage.isRoot()) {
      run("mknod", rootfs.resolve("dev/null").toString(), "c", "1", "3");
    }
  }

  @Test
  void sameTreeGivesTheSameBytes() throws Exception {
    byte[] first = layer(LayerTarWriter.keepingOwners());
    byte[] second = layer(LayerTarWriter.keepingOwners());

    assertThat(sha256(second)).isEqualTo(sha256(first));
  }

  @Test
  void entriesComeDepthFirstInByteOrderOfTheirNames() throws Exception {
    List<String> names = new ArrayList<>(entries(layer(LayerTarWriter.keepingOwners())).keySet());

    assertThat(names)
        .containsExactly(
            "app/",
            "dev/",
            "usr/",
            "usr/bin/",
            "usr/bin/Aa-first",
            "usr/bin/perl5.36",
            "usr/bin/python3",
            "usr/bin/python3.11",
            "usr/bin/zz-last",
            "usr/lib/",
            "usr/lib/python3.11/",
            "usr/lib/python3.11/os.py");
  }

  @Test
  void deviceNodesAndFifosAreLeftOut() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    LayerTarWriter.Stats stats = LayerTarWriter.keepingOwners().write(rootfs, out);

    assertThat(entries(out.toByteArray()))
        .doesNotContainKeys("dev/initctl", "dev/null")
        .containsKey("dev/");
    assertThat(stats.skippedSpecialFiles()).isGreaterThanOrEqualTo(1);
  }

  @Test
  void symlinksStayLinks() throws Exception {
    TarArchiveEntry python3 = entries(layer(LayerTarWriter.keepingOwners())).get("usr/bin/python3");

    assertThat(python3.isSymbolicLink()).isTrue();
    assertThat(python3.getLinkName()).isEqualTo("python3.11");
  }

  @Test
  void aSecondPathToTheSameFileBecomesAHardLinkToTheFirst() throws Exception {
    Map<String, TarArchiveEntry> entries = entries(layer(LayerTarWriter.keepingOwners()));

    assertThat(entries.get("usr/bin/perl5.36").isFile()).isTrue();
    assertThat(entries.get("usr/bin/python3.11").isLink()).isTrue();
    assertThat(entries.get("usr/bin/python3.11").getLinkName()).isEqualTo("usr/bin/perl5.36");
  }

  @Test
  void mtimesAndModesComeFromTheDiskSoPythonBytecodeStaysValid() throws Exception {
    run("chmod", "2750", rootfs.resolve("usr/bin/zz-last").toString());

    Map<String, TarArchiveEntry> entries = entries(layer(LayerTarWriter.keepingOwners()));

    assertThat(entries.get("usr/lib/python3.11/os.py").getModTime().toInstant())
        .isEqualTo(SOURCE_TIME);
    assertThat(entries.get("usr/bin/zz-last").getMode() & 07777).isEqualTo(02750);
  }

  @Test
  void ownersAreNumericFromTheDiskUnlessOverridden() throws Exception {
    int uid = (Integer) Files.getAttribute(rootfs.resolve("usr/bin/zz-last"), "unix:uid");
    LayerTarWriter writer = LayerTarWriter.keepingOwners().withOwner("app", new Owner(1000, 1000));

    Map<String, TarArchiveEntry> entries = entries(layer(writer));

    assertThat(entries.get("app/").getLongUserId()).isEqualTo(1000);
    assertThat(entries.get("app/").getLongGroupId()).isEqualTo(1000);
    assertThat(entries.get("usr/bin/zz-last").getLongUserId()).isEqualTo(uid);
    assertThat(entries.get("usr/bin/zz-last").getUserName()).isEmpty();
  }

  @Test
  void contentIsStoredExactly() throws Exception {
    TarArchiveInputStream tar =
        new TarArchiveInputStream(new ByteArrayInputStream(layer(LayerTarWriter.keepingOwners())));
    for (TarArchiveEntry entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
      if (entry.getName().equals("usr/lib/python3.11/os.py")) {
        assertThat(new String(tar.readAllBytes(), StandardCharsets.UTF_8))
            .isEqualTo("import sys\n");
        return;
      }
    }
    throw new AssertionError("os.py is missing from the layer");
  }

  @Test
  void longAndNonAsciiNamesAndLinkTargetsSurviveThroughPaxHeaders() throws Exception {
    String longDirectory = "usr/share/" + "a-rather-long-directory-name/".repeat(4);
    Files.createDirectories(rootfs.resolve(longDirectory));
    Files.writeString(rootfs.resolve(longDirectory + "données-é.txt"), "x");
    Files.createSymbolicLink(
        rootfs.resolve("usr/bin/long-link"), Path.of("/" + longDirectory + "données-é.txt"));

    Map<String, TarArchiveEntry> entries = entries(layer(LayerTarWriter.keepingOwners()));

    assertThat(entries).containsKey(longDirectory + "données-é.txt");
    assertThat(entries.get("usr/bin/long-link").getLinkName())
        .isEqualTo("/" + longDirectory + "données-é.txt");
  }

  @Test
  void aMissingRootIsReportedByPath() {
    Path missing = rootfs.resolve("nope");

    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> LayerTarWriter.keepingOwners().write(missing, new ByteArrayOutputStream()))
        .hasMessageContaining(missing.toString());
  }

  private byte[] layer(LayerTarWriter writer) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    writer.write(rootfs, out);
    return out.toByteArray();
  }

  static Map<String, TarArchiveEntry> entries(byte[] tar) throws IOException {
    Map<String, TarArchiveEntry> entries = new LinkedHashMap<>();
    try (TarArchiveInputStream in = new TarArchiveInputStream(new ByteArrayInputStream(tar))) {
      for (TarArchiveEntry entry = in.getNextEntry(); entry != null; entry = in.getNextEntry()) {
        entries.put(entry.getName(), entry);
      }
    }
    return entries;
  }

  static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  private static void run(String... command) throws Exception {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor()).as("%s: %s", String.join(" ", command), output).isZero();
  }
}
