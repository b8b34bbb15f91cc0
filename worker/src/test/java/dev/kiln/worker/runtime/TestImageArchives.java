package dev.kiln.worker.runtime;

import dev.kiln.events.Digest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Builds docker-save tarballs for tests, entry by entry with commons-compress: names are written
 * exactly as given (absolute, with {@code ..}), so tests can build the archives an attacker would.
 */
final class TestImageArchives {

  static final Instant MTIME = Instant.parse("2023-04-09T12:00:00Z");

  private TestImageArchives() {}

  static Layer layer() {
    return new Layer();
  }

  /** One layer tar; entries keep the order they are added in. */
  static final class Layer {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final TarArchiveOutputStream tar;
    private boolean gzip;
    private byte[] finished;

    private Layer() {
      tar = new TarArchiveOutputStream(bytes, "UTF-8");
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
    }

    /** Stores the layer gzip-compressed, as docker save of a pulled image and jib do. */
    Layer gzipped() {
      gzip = true;
      return this;
    }

    Layer directory(String name) {
      return directory(name, 0755, 0, 0);
    }

    Layer directory(String name, int mode, int uid, int gid) {
      TarArchiveEntry entry = entry(name.endsWith("/") ? name : name + "/", TarConstants.LF_DIR);
      entry.setMode(mode);
      entry.setUserId(uid);
      entry.setGroupId(gid);
      return add(entry, new byte[0]);
    }

    Layer file(String name, String content) {
      return file(name, content, 0644, 0, 0);
    }

    Layer file(String name, String content, int mode, int uid, int gid) {
      TarArchiveEntry entry = entry(name, TarConstants.LF_NORMAL);
      entry.setMode(mode);
      entry.setUserId(uid);
      entry.setGroupId(gid);
      return add(entry, content.getBytes(StandardCharsets.UTF_8));
    }

    Layer symlink(String name, String target) {
      TarArchiveEntry entry = entry(name, TarConstants.LF_SYMLINK);
      entry.setLinkName(target);
      entry.setMode(0777);
      return add(entry, new byte[0]);
    }

    Layer hardLink(String name, String existing) {
      TarArchiveEntry entry = entry(name, TarConstants.LF_LINK);
      entry.setLinkName(existing);
      entry.setMode(0644);
      return add(entry, new byte[0]);
    }

    /** A character device, block device or FIFO ({@link TarConstants#LF_CHR} etc.). */
    Layer special(String name, byte type) {
      TarArchiveEntry entry = entry(name, type);
      entry.setMode(0666);
      entry.setDevMajor(1);
      entry.setDevMinor(3);
      return add(entry, new byte[0]);
    }

    private static TarArchiveEntry entry(String name, byte type) {
      TarArchiveEntry entry = new TarArchiveEntry(name, type, true);
      entry.setModTime(MTIME.toEpochMilli());
      return entry;
    }

    private Layer add(TarArchiveEntry entry, byte[] content) {
      try {
        entry.setSize(content.length);
        tar.putArchiveEntry(entry);
        tar.write(content);
        tar.closeArchiveEntry();
        return this;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    /** The uncompressed tar; the layer takes no more entries afterwards. */
    byte[] tar() {
      try {
        if (finished == null) {
          tar.finish();
          finished = bytes.toByteArray();
        }
        return finished;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    /** What goes into the image tarball: the tar, compressed if asked to. */
    byte[] stored() {
      byte[] uncompressed = tar();
      if (!gzip) {
        return uncompressed;
      }
      ByteArrayOutputStream compressed = new ByteArrayOutputStream();
      try (GZIPOutputStream out = new GZIPOutputStream(compressed)) {
        out.write(uncompressed);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return compressed.toByteArray();
    }
  }

  /** Writes a docker-save tarball of one image with these layers, lowest first. */
  static Path write(Path tarball, Layer... layers) throws IOException {
    List<byte[]> stored = new ArrayList<>();
    List<String> diffIds = new ArrayList<>();
    for (Layer layer : layers) {
      stored.add(layer.stored());
      diffIds.add(Digest.compute(layer.tar()).toString());
    }
    return writeRaw(tarball, stored, diffIds, null);
  }

  /**
   * Writes a docker-save tarball from stored layer bytes and the diff ids its configuration claims;
   * {@code manifest}, when not null, replaces the manifest.json that would describe them.
   */
  static Path writeRaw(
      Path tarball, List<byte[]> storedLayers, List<String> diffIds, String manifest)
      throws IOException {
    StringBuilder layerNames = new StringBuilder();
    List<String> names = new ArrayList<>();
    for (int index = 0; index < storedLayers.size(); index++) {
      String name = "layer" + index + "/layer.tar";
      names.add(name);
      layerNames.append(index == 0 ? "" : ",").append('"').append(name).append('"');
    }
    String config =
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/usr/bin\"]},"
            + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":["
            + String.join(",", diffIds.stream().map(id -> "\"" + id + "\"").toList())
            + "]}}";
    String manifestJson =
        manifest != null
            ? manifest
            : "[{\"Config\":\"config.json\",\"RepoTags\":[\"kiln/test:1\"],\"Layers\":["
                + layerNames
                + "]}]";
    Files.createDirectories(tarball.toAbsolutePath().getParent());
    try (OutputStream file = Files.newOutputStream(tarball);
        TarArchiveOutputStream tar = new TarArchiveOutputStream(file)) {
      for (int index = 0; index < storedLayers.size(); index++) {
        put(tar, names.get(index), storedLayers.get(index));
      }
      put(tar, "config.json", config.getBytes(StandardCharsets.UTF_8));
      put(tar, "manifest.json", manifestJson.getBytes(StandardCharsets.UTF_8));
    }
    return tarball;
  }

  private static void put(TarArchiveOutputStream tar, String name, byte[] content)
      throws IOException {
    TarArchiveEntry entry = new TarArchiveEntry(name);
    entry.setSize(content.length);
    entry.setModTime(MTIME.toEpochMilli());
    tar.putArchiveEntry(entry);
    tar.write(content);
    tar.closeArchiveEntry();
  }
}
