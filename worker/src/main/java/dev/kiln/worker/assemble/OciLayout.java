package dev.kiln.worker.assemble;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * One app's images as an OCI image layout directory ({@code oci-layout}, {@code index.json}, {@code
 * blobs/sha256/…}): every build of the app adds its manifest to the index under its tag, and a blob
 * the layout already holds — the base image's layers, an unchanged dependency layer — is kept once
 * on disk, however many images reference it. Each build adds only what is new: usually the app
 * layer, its config and its manifest.
 *
 * <p>Images arrive as the OCI layout tarball jib writes; {@link #add} takes its blobs (each checked
 * against its digest, written next to its final name and renamed, so a reader never sees half a
 * blob) and then names the manifest in {@code index.json}, replaced atomically under a lock that
 * holds between threads and processes. Tools that read OCI layouts take it as it is ({@code skopeo
 * copy oci:DIR:TAG …}, {@code crane}, containerd's importer after a {@code tar}).
 */
final class OciLayout {
  static final String REF_NAME = "org.opencontainers.image.ref.name";
  private static final Pattern BLOB = Pattern.compile("blobs/sha256/([0-9a-f]{64})");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<Path, Object> IN_PROCESS = new ConcurrentHashMap<>();

  private final Path directory;

  OciLayout(Path directory) {
    this.directory = directory.toAbsolutePath().normalize();
  }

  Path directory() {
    return directory;
  }

  /** What one {@link #add} wrote and what it found already there. */
  record Added(String manifestDigest, int blobsWritten, int blobsShared, long bytesWritten) {}

  /**
   * Adds the image in {@code ociTarball} (an OCI image layout in a tar, as jib writes it) under
   * {@code tag}, replacing an earlier image of that tag.
   *
   * @throws IOException when the tarball is not a one-image OCI layout, a blob does not match its
   *     digest, or the layout cannot be written
   */
  Added add(Path ociTarball, String tag) throws IOException {
    Files.createDirectories(blobs());
    int written = 0;
    int shared = 0;
    long bytes = 0;
    JsonNode manifest = null;
    try (InputStream file = Files.newInputStream(ociTarball);
        TarArchiveInputStream tar = new TarArchiveInputStream(file)) {
      for (TarArchiveEntry entry; (entry = tar.getNextEntry()) != null; ) {
        String name =
            entry.getName().startsWith("./") ? entry.getName().substring(2) : entry.getName();
        var blob = BLOB.matcher(name);
        if (blob.matches() && entry.isFile()) {
          Path target = blobs().resolve(blob.group(1));
          if (Files.isRegularFile(target) && Files.size(target) == entry.getSize()) {
            shared++;
            continue; // content-addressed: same name, same bytes
          }
          bytes += writeBlob(tar, blob.group(1), target);
          written++;
        } else if (name.equals("index.json")) {
          JsonNode index = JSON.readTree(tar.readAllBytes());
          JsonNode manifests = index.path("manifests");
          if (!manifests.isArray() || manifests.size() != 1) {
            throw new IOException(
                ociTarball
                    + " is not a one-image OCI layout: its index.json names "
                    + manifests.size()
                    + " manifests");
          }
          manifest = manifests.get(0);
        }
      }
    }
    if (manifest == null || !manifest.path("digest").asText().startsWith("sha256:")) {
      throw new IOException(ociTarball + " has no index.json naming its manifest");
    }
    String digest = manifest.get("digest").asText();
    if (!Files.isRegularFile(blobs().resolve(digest.substring("sha256:".length())))) {
      throw new IOException(ociTarball + " names manifest " + digest + " but does not hold it");
    }
    ObjectNode named = ((ObjectNode) manifest.deepCopy());
    named.putObject("annotations").put(REF_NAME, tag);
    name(named, tag);
    return new Added(digest, written, shared, bytes);
  }

  /** The manifest digest the index names {@code tag} by, or null. */
  String manifestOf(String tag) throws IOException {
    Path index = directory.resolve("index.json");
    if (!Files.isRegularFile(index)) {
      return null;
    }
    for (JsonNode manifest : JSON.readTree(index.toFile()).path("manifests")) {
      if (tag.equals(manifest.path("annotations").path(REF_NAME).asText(null))) {
        return manifest.path("digest").asText(null);
      }
    }
    return null;
  }

  private Path blobs() {
    return directory.resolve("blobs").resolve("sha256");
  }

  private static long writeBlob(InputStream in, String hex, Path target) throws IOException {
    Path temporary = Files.createTempFile(target.getParent(), "." + hex.substring(0, 12), ".tmp");
    try {
      MessageDigest sha256 = sha256();
      long size;
      try (OutputStream out = new DigestOutputStream(Files.newOutputStream(temporary), sha256)) {
        size = in.transferTo(out);
      }
      String actual = HexFormat.of().formatHex(sha256.digest());
      if (!actual.equals(hex)) {
        throw new IOException("blob " + hex + " in the image tarball has digest " + actual);
      }
      Files.move(
          temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      return size;
    } finally {
      Files.deleteIfExists(temporary);
    }
  }

  private void name(ObjectNode manifest, String tag) throws IOException {
    Object monitor = IN_PROCESS.computeIfAbsent(directory, d -> new Object());
    synchronized (monitor) {
      try (FileChannel lockFile =
              FileChannel.open(
                  directory.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
          FileLock lock = lockFile.lock()) {
        Path layoutFile = directory.resolve("oci-layout");
        if (!Files.isRegularFile(layoutFile)) {
          replace(
              layoutFile, "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes(StandardCharsets.UTF_8));
        }
        Path indexFile = directory.resolve("index.json");
        ObjectNode index;
        if (Files.isRegularFile(indexFile)) {
          index = (ObjectNode) JSON.readTree(indexFile.toFile());
        } else {
          index = JSON.createObjectNode().put("schemaVersion", 2);
          index.put("mediaType", "application/vnd.oci.image.index.v1+json");
        }
        ArrayNode kept = JSON.createArrayNode();
        for (JsonNode earlier : index.path("manifests")) {
          if (!tag.equals(earlier.path("annotations").path(REF_NAME).asText(null))) {
            kept.add(earlier);
          }
        }
        kept.add(manifest);
        index.set("manifests", kept);
        replace(indexFile, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(index));
      }
    }
  }

  private void replace(Path file, byte[] content) throws IOException {
    Path temporary = Files.createTempFile(directory, "." + file.getFileName(), ".tmp");
    try {
      Files.write(temporary, content);
      Files.move(
          temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(temporary);
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
