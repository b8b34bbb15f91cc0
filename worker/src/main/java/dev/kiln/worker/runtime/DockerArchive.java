package dev.kiln.worker.runtime;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.events.Digest;
import dev.kiln.worker.runtime.TarWriter.Owner;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarFile;

/**
 * Writes and reads single-layer images in the format {@code docker save} produces, without a Docker
 * daemon: {@code <config-sha256>.json}, {@code manifest.json} and {@code <diff-id>/layer.tar.gz}.
 * {@link Reader} reads any such tarball with one image (as {@code docker save}, jib's {@code
 * TarImage} in Docker format, or this class write them), whatever its number of layers.
 *
 * <p>The layer is stored gzip-compressed: {@code docker load} decompresses it, and jib (reading the
 * tarball as a base image through {@code TarImage}) takes a compressed layer as it is instead of
 * compressing it again on every build with a cold cache. The config and manifest come first so
 * {@link #readConfig} finds them without reading past the layer.
 */
final class DockerArchive {

  private static final long FIXED_MTIME = 0;

  private DockerArchive() {}

  /** What was written; digests are {@code sha256:<hex>}. */
  record Written(String diffId, String configDigest, long layerEntries, long archiveBytes) {}

  /**
   * Archives {@code rootfs} as the image's only layer and writes the image tarball to {@code
   * destination} atomically: a temp file next to it, fsync, then a rename, so readers see either
   * the previous file or the complete new one.
   */
  static Written write(
      Path rootfs, LayerTarWriter layerWriter, ImageConfig config, String repoTag, Path destination)
      throws IOException {
    Path directory = destination.toAbsolutePath().getParent();
    Files.createDirectories(directory);
    String unique = UUID.randomUUID().toString();
    Path layerFile = directory.resolve("." + destination.getFileName() + "." + unique + ".layer");
    Path archiveFile = directory.resolve("." + destination.getFileName() + "." + unique + ".tmp");
    try {
      MessageDigest uncompressed = Digest.newSha256();
      LayerTarWriter.Stats stats;
      try (OutputStream file = Files.newOutputStream(layerFile);
          GZIPOutputStream gzip =
              new GZIPOutputStream(new BufferedOutputStream(file, 1 << 16), 1 << 16);
          DigestOutputStream digesting = new DigestOutputStream(gzip, uncompressed);
          BufferedOutputStream buffered = new BufferedOutputStream(digesting, 1 << 16)) {
        stats = layerWriter.write(rootfs, buffered);
      }
      String diffHex = Digest.fromSha256(uncompressed).hex();
      byte[] configJson = config.toJson("sha256:" + diffHex).getBytes(StandardCharsets.UTF_8);
      String configHex = Digest.compute(configJson).hex();
      String layerEntry = diffHex + "/layer.tar.gz";
      String manifest =
          "[{\"Config\":"
              + ImageConfig.Json.string(configHex + ".json")
              + ",\"RepoTags\":"
              + ImageConfig.Json.array(List.of(repoTag))
              + ",\"Layers\":"
              + ImageConfig.Json.array(List.of(layerEntry))
              + "}]";

      try (OutputStream file = Files.newOutputStream(archiveFile);
          BufferedOutputStream buffered = new BufferedOutputStream(file, 1 << 16);
          InputStream layer = Files.newInputStream(layerFile)) {
        TarWriter tar = new TarWriter(buffered);
        tar.file(configHex + ".json", 0644, FIXED_MTIME, Owner.ROOT, configJson);
        tar.file(
            "manifest.json",
            0644,
            FIXED_MTIME,
            Owner.ROOT,
            manifest.getBytes(StandardCharsets.UTF_8));
        tar.directory(diffHex, 0755, FIXED_MTIME, Owner.ROOT);
        tar.file(layerEntry, 0644, FIXED_MTIME, Owner.ROOT, Files.size(layerFile), layer);
        tar.finish();
      }
      try (FileChannel channel = FileChannel.open(archiveFile, StandardOpenOption.WRITE)) {
        channel.force(true);
      }
      long size = Files.size(archiveFile);
      moveAtomically(archiveFile, destination);
      return new Written("sha256:" + diffHex, "sha256:" + configHex, stats.entries(), size);
    } finally {
      Files.deleteIfExists(layerFile);
      Files.deleteIfExists(archiveFile);
    }
  }

  static void moveAtomically(Path source, Path target) throws IOException {
    try {
      Files.move(
          source, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException(
          "Cannot move " + source + " to " + target + " atomically; keep them on one file system",
          e);
    }
  }

  /**
   * The image configuration JSON of a tarball this class wrote, or empty when the file is not such
   * a tarball (unreadable, truncated, or written by something else).
   */
  static Optional<String> readConfig(Path tarball) {
    try (InputStream in = Files.newInputStream(tarball)) {
      byte[] header = new byte[TarWriter.BLOCK];
      // Only the first entries are read: write() puts the configuration there.
      for (int entry = 0; entry < 4; entry++) {
        if (in.readNBytes(header, 0, header.length) != header.length || header[0] == 0) {
          return Optional.empty();
        }
        String name = field(header, 0, 100);
        long size = Long.parseLong(field(header, 124, 12).trim(), 8);
        if (name.endsWith(".json") && !name.equals("manifest.json") && size < 1 << 20) {
          byte[] content = in.readNBytes((int) size);
          return content.length == size
              ? Optional.of(new String(content, StandardCharsets.UTF_8))
              : Optional.empty();
        }
        long padded = (size + TarWriter.BLOCK - 1) / TarWriter.BLOCK * TarWriter.BLOCK;
        in.skipNBytes(padded);
      }
      return Optional.empty();
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  private static String field(byte[] header, int offset, int length) {
    int end = offset;
    while (end < offset + length && header[end] != 0) {
      end++;
    }
    return new String(header, offset, end - offset, StandardCharsets.US_ASCII);
  }

  /**
   * The archive is not a readable {@code docker save} tarball of one image; the message says why.
   */
  static final class MalformedArchiveException extends IOException {
    private static final long serialVersionUID = 1L;

    MalformedArchiveException(String message) {
      super(message);
    }

    MalformedArchiveException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * A {@code docker save} tarball opened for reading: its manifest (which must describe exactly one
   * image), the image configuration, and the layers in order, each decompressed and checked against
   * the configuration's {@code rootfs.diff_ids}.
   *
   * <p>The tarball is read in place (random access), so layers are never copied out of it. Its
   * entry names are only looked up, never used as paths.
   */
  static final class Reader implements Closeable {
    /** manifest.json and the configuration are read into memory; real ones are a few KiB. */
    static final int MAX_JSON_BYTES = 16 << 20;

    /** A tar ends with zero blocks padded to its record size; more than this after it is junk. */
    private static final long MAX_TRAILING_BYTES = 16 << 20;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path tarball;
    private final TarFile tar;
    private final String configJson;
    private final List<String> layers;
    private final List<Digest> diffIds;
    private final Map<String, TarArchiveEntry> files;

    private Reader(
        Path tarball,
        TarFile tar,
        Map<String, TarArchiveEntry> files,
        String configJson,
        List<String> layers,
        List<Digest> diffIds) {
      this.tarball = tarball;
      this.tar = tar;
      this.files = files;
      this.configJson = configJson;
      this.layers = List.copyOf(layers);
      this.diffIds = List.copyOf(diffIds);
    }

    /**
     * Opens {@code tarball} and reads its manifest and configuration.
     *
     * @throws MalformedArchiveException when it is not a docker-save tarball of exactly one image
     */
    static Reader open(Path tarball) throws IOException {
      try (InputStream in = Files.newInputStream(tarball)) {
        byte[] magic = in.readNBytes(2);
        if (magic.length == 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b) {
          throw new MalformedArchiveException(
              "it is gzip-compressed; decompress it first (gunzip), as docker load would");
        }
      }
      TarFile tar;
      try {
        tar = new TarFile(tarball);
      } catch (IOException e) {
        throw new MalformedArchiveException("it is not a tar archive (" + e.getMessage() + ")", e);
      }
      try {
        Map<String, TarArchiveEntry> files = new HashMap<>();
        for (TarArchiveEntry entry : tar.getEntries()) {
          if (entry.isFile()
              && !entry.isDirectory()
              && !entry.isSymbolicLink()
              && !entry.isLink()) {
            // Later entries of the same name win, as they would when extracting.
            files.put(withoutDotSlash(entry.getName()), entry);
          }
        }
        JsonNode manifest = parse(read(tar, files, "manifest.json"), "manifest.json");
        if (!manifest.isArray() || manifest.size() != 1) {
          throw new MalformedArchiveException(
              "its manifest.json describes "
                  + (manifest.isArray() ? manifest.size() + " images" : "no image list")
                  + "; Kiln unpacks tarballs of exactly one image (docker save one image)");
        }
        JsonNode image = manifest.get(0);
        String configName = text(image.get("Config"), "manifest.json: Config");
        JsonNode layerNames = image.get("Layers");
        if (layerNames == null || !layerNames.isArray()) {
          throw new MalformedArchiveException("its manifest.json has no Layers list");
        }
        List<String> layers = new ArrayList<>();
        for (JsonNode layer : layerNames) {
          String name = withoutDotSlash(text(layer, "manifest.json: Layers"));
          if (!files.containsKey(name)) {
            throw new MalformedArchiveException(
                "its manifest.json lists the layer " + name + ", which the tarball does not hold");
          }
          layers.add(name);
        }
        byte[] configBytes = read(tar, files, configName);
        JsonNode config = parse(configBytes, configName);
        List<Digest> diffIds = new ArrayList<>();
        for (JsonNode diffId : config.path("rootfs").path("diff_ids")) {
          try {
            diffIds.add(Digest.of(text(diffId, configName + ": rootfs.diff_ids")));
          } catch (IllegalArgumentException e) {
            throw new MalformedArchiveException(
                "its configuration " + configName + " has a bad diff_id: " + e.getMessage(), e);
          }
        }
        if (diffIds.size() != layers.size()) {
          throw new MalformedArchiveException(
              "its configuration "
                  + configName
                  + " lists "
                  + diffIds.size()
                  + " layer digests (rootfs.diff_ids) for the "
                  + layers.size()
                  + " layers in manifest.json");
        }
        return new Reader(
            tarball, tar, files, new String(configBytes, StandardCharsets.UTF_8), layers, diffIds);
      } catch (IOException | RuntimeException e) {
        tar.close();
        throw e;
      }
    }

    /** The image configuration JSON, as stored. */
    String configJson() {
      return configJson;
    }

    /** The layers' names inside the tarball, lowest first. */
    List<String> layers() {
      return layers;
    }

    /**
     * Opens layer {@code index} as an uncompressed tar stream (gzip is detected by its magic
     * bytes). Read the tar to its end, then call {@link Layer#verify()}.
     */
    Layer openLayer(int index) throws IOException {
      String name = layers.get(index);
      BufferedInputStream stored =
          new BufferedInputStream(tar.getInputStream(files.get(name)), 1 << 16);
      stored.mark(4);
      byte[] magic = stored.readNBytes(4);
      stored.reset();
      InputStream uncompressed;
      if (magic.length >= 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b) {
        uncompressed = new GZIPInputStream(stored, 1 << 16);
      } else if (magic.length == 4
          && (magic[0] & 0xff) == 0x28
          && (magic[1] & 0xff) == 0xb5
          && (magic[2] & 0xff) == 0x2f
          && (magic[3] & 0xff) == 0xfd) {
        stored.close();
        throw new MalformedArchiveException(
            "its layer "
                + name
                + " is zstd-compressed, which Kiln does not read; save the image with gzip or"
                + " uncompressed layers (docker save does)");
      } else {
        uncompressed = stored;
      }
      return new Layer(name, diffIds.get(index), uncompressed);
    }

    @Override
    public void close() throws IOException {
      tar.close();
    }

    @Override
    public String toString() {
      return tarball.toString();
    }

    /** One layer's uncompressed content, hashed as it is read. */
    static final class Layer implements Closeable {
      private final String name;
      private final Digest expected;
      private final InputStream uncompressed;
      private final MessageDigest sha256 = Digest.newSha256();
      private final DigestInputStream content;

      private Layer(String name, Digest expected, InputStream uncompressed) {
        this.name = name;
        this.expected = expected;
        this.uncompressed = uncompressed;
        this.content = new DigestInputStream(uncompressed, sha256);
      }

      /** The uncompressed tar stream. */
      InputStream content() {
        return content;
      }

      /**
       * Reads what the tar reader left (the end-of-archive padding) and checks the layer's digest,
       * so a truncated or corrupted layer is an error rather than a quietly incomplete tree.
       */
      void verify() throws IOException {
        byte[] buffer = new byte[1 << 16];
        long trailing = 0;
        for (int read; (read = content.read(buffer)) != -1; ) {
          trailing += read;
          if (trailing > MAX_TRAILING_BYTES) {
            throw new MalformedArchiveException(
                "its layer " + name + " has more than 16 MiB of data after the end of its tar");
          }
        }
        Digest actual = Digest.fromSha256(sha256);
        if (!actual.equals(expected)) {
          throw new MalformedArchiveException(
              "its layer "
                  + name
                  + " has the digest "
                  + actual
                  + " but the image configuration expects "
                  + expected
                  + "; the tarball is corrupted or was edited");
        }
      }

      @Override
      public void close() throws IOException {
        uncompressed.close();
      }
    }

    private static byte[] read(TarFile tar, Map<String, TarArchiveEntry> files, String name)
        throws IOException {
      TarArchiveEntry entry = files.get(withoutDotSlash(name));
      if (entry == null) {
        throw new MalformedArchiveException(
            "it has no "
                + name
                + "; is it a docker save tarball? (OCI layout archives without manifest.json are"
                + " not supported)");
      }
      if (entry.getSize() > MAX_JSON_BYTES) {
        throw new MalformedArchiveException(
            "its " + name + " is " + entry.getSize() + " bytes, more than the 16 MiB allowed");
      }
      try (InputStream in = tar.getInputStream(entry)) {
        byte[] content = in.readNBytes(MAX_JSON_BYTES);
        if (content.length != entry.getSize()) {
          throw new MalformedArchiveException("its " + name + " is truncated");
        }
        return content;
      }
    }

    private static JsonNode parse(byte[] json, String name) throws MalformedArchiveException {
      try {
        return JSON.readTree(json);
      } catch (IOException e) {
        throw new MalformedArchiveException(
            "its "
                + name
                + " is not valid JSON ("
                + (e instanceof JsonProcessingException syntax
                    ? syntax.getOriginalMessage()
                    : e.getMessage())
                + ")",
            e);
      }
    }

    private static String text(JsonNode node, String what) throws MalformedArchiveException {
      if (node == null || !node.isTextual() || node.asText().isEmpty()) {
        throw new MalformedArchiveException(what + " is missing or not a string");
      }
      return node.asText();
    }

    private static String withoutDotSlash(String name) {
      String stripped = name;
      while (stripped.startsWith("./")) {
        stripped = stripped.substring(2);
      }
      return stripped;
    }
  }
}
