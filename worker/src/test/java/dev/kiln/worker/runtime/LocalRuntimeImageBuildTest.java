package dev.kiln.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;

/**
 * The real thing: debootstrap on the first run on a machine (CI installs debootstrap), the cached
 * tarball afterwards. Checks the layer inside the tarball, read with an independent tar reader.
 */
class LocalRuntimeImageBuildTest {

  @Test
  void buildsOrReusesARuntimeWithPython3AndTheAppUser() throws Exception {
    List<String> progress = Collections.synchronizedList(new ArrayList<>());

    RuntimeImage image = TestRuntimeImages.ensureAvailable(progress::add);

    assertThat(image.reference()).isEqualTo("kiln/python-runtime:bookworm");
    assertThat(image.pythonVersion()).isEqualTo("3.11.2");
    assertThat(image.glibc()).isEqualTo("2.36");
    assertThat(progress)
        .anySatisfy(
            line ->
                assertThat(line)
                    .containsAnyOf(
                        "Building a local Debian bookworm Python runtime",
                        "Using the local Debian bookworm Python runtime"));

    Map<String, TarArchiveEntry> layer = new HashMap<>();
    String passwd = null;
    try (InputStream outer = Files.newInputStream(image.tarball());
        TarArchiveInputStream archive = new TarArchiveInputStream(outer)) {
      for (TarArchiveEntry file = archive.getNextEntry();
          file != null;
          file = archive.getNextEntry()) {
        if (!file.getName().endsWith("/layer.tar.gz")) {
          continue;
        }
        TarArchiveInputStream entries = new TarArchiveInputStream(new GZIPInputStream(archive));
        for (TarArchiveEntry entry = entries.getNextEntry();
            entry != null;
            entry = entries.getNextEntry()) {
          layer.put(entry.getName(), entry);
          if (entry.getName().equals("etc/passwd")) {
            passwd = new String(entries.readAllBytes(), StandardCharsets.UTF_8);
          }
        }
      }
    }

    assertThat(layer)
        .containsKeys(
            "usr/bin/python3",
            "usr/bin/python3.11",
            "etc/ssl/certs/ca-certificates.crt",
            "etc/services",
            "usr/share/zoneinfo/Europe/Berlin");
    assertThat(layer.get("usr/bin/python3").getLinkName()).isEqualTo("python3.11");
    assertThat(layer.get("app/").getLongUserId()).isEqualTo(1000);
    assertThat(passwd).contains("app:x:1000:1000::/app:/bin/sh");
    assertThat(layer.values())
        .noneMatch(entry -> entry.isCharacterDevice() || entry.isBlockDevice() || entry.isFIFO());
    assertThat(layer.keySet())
        .noneMatch(name -> name.matches("var/lib/apt/lists/.*_(Packages|Release|InRelease)"))
        .noneMatch(name -> name.endsWith(".deb"))
        .noneMatch(name -> name.startsWith("usr/share/man/") && !name.equals("usr/share/man/"));
  }
}
