package dev.kiln.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.Jib;
import com.google.cloud.tools.jib.api.JibContainer;
import com.google.cloud.tools.jib.api.TarImage;
import com.google.cloud.tools.jib.api.buildplan.AbsoluteUnixPath;
import com.google.cloud.tools.jib.api.buildplan.ImageFormat;
import dev.kiln.worker.runtime.TarWriter.Owner;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The docker-save writer on a synthetic rootfs: format, digests, atomic write, jib as a reader. */
class DockerArchiveTest {
  private static final LocalRuntimeImage BOOKWORM =
      LocalRuntimeImage.forSuite("bookworm", java.nio.file.Path.of("unused"));

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path work;
  private Path rootfs;

  @BeforeEach
  void createRootfs() throws IOException {
    rootfs = work.resolve("rootfs");
    Files.createDirectories(rootfs.resolve("usr/bin"));
    Files.createDirectories(rootfs.resolve("etc"));
    Files.writeString(rootfs.resolve("usr/bin/python3.11"), "#!interpreter\n");
    Files.createSymbolicLink(rootfs.resolve("usr/bin/python3"), Path.of("python3.11"));
    Files.writeString(rootfs.resolve("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
    Files.writeString(rootfs.resolve("etc/group"), "root:x:0:\n");
    Files.writeString(rootfs.resolve("etc/shadow"), "root:*:19000:0:99999:7:::\n");
    Files.writeString(rootfs.resolve("etc/gshadow"), "root:*::\n");
    Rootfs.addAppUser(rootfs);
  }

  @Test
  void writesManifestConfigAndOneLayerAsDockerSaveDoes() throws Exception {
    Path tarball = work.resolve("out/runtime.tar");

    DockerArchive.Written written = write(tarball);

    Map<String, byte[]> files = outerEntries(tarball);
    JsonNode manifest = JSON.readTree(files.get("manifest.json"));
    assertThat(manifest).hasSize(1);
    assertThat(manifest.get(0).get("RepoTags").get(0).asText()).isEqualTo(BOOKWORM.reference());
    String configName = manifest.get(0).get("Config").asText();
    assertThat("sha256:" + configName.replace(".json", "")).isEqualTo(written.configDigest());
    assertThat(LayerTarWriterTest.sha256(files.get(configName)))
        .isEqualTo(configName.replace(".json", ""));

    JsonNode config = JSON.readTree(files.get(configName));
    byte[] layer = gunzip(files.get(manifest.get(0).get("Layers").get(0).asText()));
    assertThat(config.at("/rootfs/diff_ids/0").asText())
        .isEqualTo("sha256:" + LayerTarWriterTest.sha256(layer))
        .isEqualTo(written.diffId());
    assertThat(config.at("/config/Env").toString())
        .contains(
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "PYTHON_VERSION=3.11.2");
    assertThat(config.at("/config/User").asText()).isEqualTo("1000:1000");
    assertThat(config.at("/config/WorkingDir").asText()).isEqualTo("/app");
    assertThat(config.at("/os").asText()).isEqualTo("linux");
    assertThat(LayerTarWriterTest.entries(layer)).containsKeys("usr/bin/python3", "app/");
  }

  @Test
  void theSameRootfsGivesTheSameImageDigests() throws Exception {
    DockerArchive.Written first = write(work.resolve("first.tar"));
    DockerArchive.Written second = write(work.resolve("second.tar"));

    assertThat(second.diffId()).isEqualTo(first.diffId());
    assertThat(second.configDigest()).isEqualTo(first.configDigest());
    assertThat(LayerTarWriterTest.sha256(Files.readAllBytes(work.resolve("second.tar"))))
        .isEqualTo(LayerTarWriterTest.sha256(Files.readAllBytes(work.resolve("first.tar"))));
  }

  @Test
  void leavesOnlyTheFinishedTarballBehind() throws Exception {
    Path directory = Files.createDirectories(work.resolve("out"));

    write(directory.resolve("runtime.tar"));

    try (var files = Files.list(directory)) {
      assertThat(files.map(file -> file.getFileName().toString())).containsExactly("runtime.tar");
    }
  }

  @Test
  void aFailedWriteKeepsThePreviousTarballAndNoTempFiles() throws Exception {
    Path directory = Files.createDirectories(work.resolve("out"));
    Path tarball = directory.resolve("runtime.tar");
    Files.writeString(tarball, "previous");

    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                DockerArchive.write(
                    work.resolve("no-such-rootfs"),
                    LayerTarWriter.keepingOwners(),
                    LocalRuntimeImage.imageConfig("bookworm", "3.11.2", "2.36"),
                    BOOKWORM.reference(),
                    tarball))
        .isInstanceOf(IOException.class);

    assertThat(Files.readString(tarball)).isEqualTo("previous");
    try (var files = Files.list(directory)) {
      assertThat(files).containsExactly(tarball);
    }
  }

  @Test
  void readsBackTheConfigurationItWrote() throws Exception {
    Path tarball = work.resolve("runtime.tar");
    write(tarball);

    assertThat(DockerArchive.readConfig(tarball))
        .hasValueSatisfying(config -> assertThat(config).contains("\"PYTHON_VERSION=3.11.2\""));
  }

  @Test
  void theReaderOpensTheTarballAndChecksItsLayerAgainstTheDiffId() throws Exception {
    Path tarball = work.resolve("runtime.tar");
    DockerArchive.Written written = write(tarball);

    try (DockerArchive.Reader reader = DockerArchive.Reader.open(tarball)) {
      assertThat(reader.configJson()).contains(written.diffId());
      assertThat(reader.layers()).containsExactly(written.diffId().substring(7) + "/layer.tar.gz");
      try (DockerArchive.Reader.Layer layer = reader.openLayer(0)) {
        assertThat(LayerTarWriterTest.entries(layer.content().readAllBytes()))
            .containsKeys("usr/bin/python3", "app/");
        layer.verify();
      }
    }
  }

  @Test
  void findsNoConfigurationInFilesItDidNotWrite() throws Exception {
    Path garbage = Files.writeString(work.resolve("garbage.tar"), "not a tar at all");
    Path empty = Files.write(work.resolve("empty.tar"), new byte[0]);

    assertThat(DockerArchive.readConfig(garbage)).isEmpty();
    assertThat(DockerArchive.readConfig(empty)).isEmpty();
    assertThat(DockerArchive.readConfig(work.resolve("missing.tar"))).isEmpty();
  }

  @Test
  void jibBuildsOnTheTarballAsABaseImageAndKeepsItsSettings() throws Exception {
    Path base = work.resolve("runtime.tar");
    write(base);
    Path app =
        Files.writeString(
            Files.createDirectories(work.resolve("src")).resolve("main.py"), "print('hi')\n");
    Path image = work.resolve("app.tar");

    JibContainer container =
        Jib.from(TarImage.at(base).named(BOOKWORM.reference()))
            .setFormat(ImageFormat.Docker)
            .addLayer(List.of(app), AbsoluteUnixPath.get("/app"))
            .containerize(
                Containerizer.to(TarImage.at(image).named("kiln/test-app:1"))
                    .setBaseImageLayersCache(work.resolve("jib-base-cache"))
                    .setApplicationLayersCache(work.resolve("jib-app-cache")));

    assertThat(container.getDigest().toString()).startsWith("sha256:");
    Map<String, byte[]> files = outerEntries(image);
    JsonNode manifest = JSON.readTree(files.get("manifest.json"));
    JsonNode config = JSON.readTree(files.get(manifest.get(0).get("Config").asText()));
    assertThat(manifest.get(0).get("Layers")).hasSize(2);
    assertThat(config.at("/config/Env").toString()).contains("PYTHON_VERSION=3.11.2");
    assertThat(config.at("/config/User").asText()).isEqualTo("1000:1000");
    assertThat(config.at("/config/WorkingDir").asText()).isEqualTo("/app");
  }

  private DockerArchive.Written write(Path tarball) throws IOException {
    LayerTarWriter layer = LayerTarWriter.keepingOwners().withOwner("app", new Owner(1000, 1000));
    return DockerArchive.write(
        rootfs,
        layer,
        LocalRuntimeImage.imageConfig("bookworm", "3.11.2", "2.36"),
        BOOKWORM.reference(),
        tarball);
  }

  static Map<String, byte[]> outerEntries(Path tarball) throws IOException {
    Map<String, byte[]> files = new HashMap<>();
    try (InputStream file = Files.newInputStream(tarball);
        TarArchiveInputStream tar = new TarArchiveInputStream(file)) {
      for (TarArchiveEntry entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
        if (entry.isFile()) {
          files.put(entry.getName(), tar.readAllBytes());
        }
      }
    }
    return files;
  }

  static byte[] gunzip(byte[] compressed) throws IOException {
    try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(compressed))) {
      return in.readAllBytes();
    }
  }
}
