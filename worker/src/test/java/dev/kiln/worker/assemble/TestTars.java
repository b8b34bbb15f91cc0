package dev.kiln.worker.assemble;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/** Writes the tars the tests need: layer tars and {@code docker save} image tarballs. */
final class TestTars {
  private static final ObjectMapper JSON = new ObjectMapper();

  private TestTars() {}

  /** A layer tar builder: entries in the order they are added. */
  static final class Layer {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes);

    Layer() {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
    }

    Layer directory(String name) throws IOException {
      TarArchiveEntry entry = new TarArchiveEntry(name.endsWith("/") ? name : name + "/");
      entry.setMode(040755);
      tar.putArchiveEntry(entry);
      tar.closeArchiveEntry();
      return this;
    }

    Layer file(String name, String content, int mode) throws IOException {
      byte[] data = content.getBytes(StandardCharsets.UTF_8);
      TarArchiveEntry entry = new TarArchiveEntry(name);
      entry.setMode(0100000 | mode);
      entry.setSize(data.length);
      entry.setModTime(1_700_000_000_000L);
      tar.putArchiveEntry(entry);
      tar.write(data);
      tar.closeArchiveEntry();
      return this;
    }

    Layer symlink(String name, String target) throws IOException {
      TarArchiveEntry entry = new TarArchiveEntry(name, TarArchiveEntry.LF_SYMLINK);
      entry.setLinkName(target);
      tar.putArchiveEntry(entry);
      tar.closeArchiveEntry();
      return this;
    }

    Layer hardlink(String name, String existing) throws IOException {
      TarArchiveEntry entry = new TarArchiveEntry(name, TarArchiveEntry.LF_LINK);
      entry.setLinkName(existing);
      tar.putArchiveEntry(entry);
      tar.closeArchiveEntry();
      return this;
    }

    byte[] bytes() throws IOException {
      tar.finish();
      return bytes.toByteArray();
    }
  }

  /** A layer tar of everything under {@code root} (regular files and directories). */
  static byte[] layerOf(Path root) throws IOException {
    Layer layer = new Layer();
    List<Path> paths;
    try (Stream<Path> walk = Files.walk(root)) {
      paths = new ArrayList<>(walk.filter(path -> !path.equals(root)).sorted().toList());
    }
    for (Path path : paths) {
      String name = root.relativize(path).toString();
      if (Files.isDirectory(path)) {
        layer.directory(name);
      } else {
        layer.file(name, Files.readString(path), Files.isExecutable(path) ? 0755 : 0644);
      }
    }
    return layer.bytes();
  }

  /**
   * Writes a {@code docker save} tarball with one layer holding {@code root}, named {@code
   * repoTag}, with {@code env} in its config.
   */
  static Path dockerSave(Path root, String repoTag, List<String> env, Path tarball)
      throws IOException {
    return dockerSave(root, repoTag, env, Map.of(), tarball);
  }

  /** The same, with {@code labels} in its config. */
  static Path dockerSave(
      Path root, String repoTag, List<String> env, Map<String, String> labels, Path tarball)
      throws IOException {
    byte[] layer = layerOf(root);
    String diffId = "sha256:" + sha256(layer);
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("architecture", "amd64");
    config.put("os", "linux");
    config.put("created", "1970-01-01T00:00:00Z");
    config.put("config", Map.of("Env", env, "Cmd", List.of("python3"), "Labels", labels));
    config.put("rootfs", Map.of("type", "layers", "diff_ids", List.of(diffId)));
    config.put(
        "history",
        List.of(Map.of("created", "1970-01-01T00:00:00Z", "created_by", "kiln test base image")));
    byte[] configJson = JSON.writeValueAsBytes(config);
    String configName = sha256(configJson) + ".json";
    String layerName = sha256(layer) + "/layer.tar";
    byte[] manifest =
        JSON.writeValueAsBytes(
            List.of(
                Map.of(
                    "Config",
                    configName,
                    "RepoTags",
                    List.of(repoTag),
                    "Layers",
                    List.of(layerName))));

    Files.createDirectories(tarball.toAbsolutePath().getParent());
    try (OutputStream out = Files.newOutputStream(tarball);
        TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      put(tar, configName, configJson);
      put(tar, layerName, layer);
      put(tar, "manifest.json", manifest);
    }
    return tarball;
  }

  private static void put(TarArchiveOutputStream tar, String name, byte[] data) throws IOException {
    TarArchiveEntry entry = new TarArchiveEntry(name);
    entry.setSize(data.length);
    entry.setMode(0100644);
    tar.putArchiveEntry(entry);
    tar.write(data);
    tar.closeArchiveEntry();
  }

  static String sha256(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
