package dev.kiln.worker.runtime;

import dev.kiln.events.Digest;
import dev.kiln.worker.runtime.TarWriter.Owner;
import java.io.BufferedOutputStream;
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
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.zip.GZIPOutputStream;

/**
 * Writes and reads single-layer images in the format {@code docker save} produces, without a Docker
 * daemon: {@code <config-sha256>.json}, {@code manifest.json} and {@code <diff-id>/layer.tar.gz}.
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
}
