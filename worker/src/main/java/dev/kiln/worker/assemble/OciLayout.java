package dev.kiln.worker.assemble;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One app's images as an OCI image layout directory ({@code oci-layout}, {@code index.json}, {@code
 * blobs/sha256/…}): every build of the app adds its manifest to the index under its tag, and a blob
 * the layout already holds — the base image's layers, an unchanged dependency layer — is kept once
 * on disk, however many images reference it. Each build adds only what is new: usually the app
 * layer, its config and its manifest.
 *
 * <p>Images arrive through {@link LayoutRegistry}, as jib pushes them: blobs (each checked against
 * its digest before it is renamed into place, so a reader never sees half a blob), then the
 * manifest, named by its tag in {@code index.json}, which is replaced atomically under a lock that
 * holds between threads and processes. Tools that read OCI layouts take it as it is ({@code skopeo
 * copy oci:DIR:TAG …}, {@code crane}, containerd's importer after a {@code tar}).
 */
final class OciLayout {
  static final String REF_NAME = "org.opencontainers.image.ref.name";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<Path, Object> IN_PROCESS = new ConcurrentHashMap<>();

  private final Path directory;

  OciLayout(Path directory) {
    this.directory = directory.toAbsolutePath().normalize();
  }

  Path directory() {
    return directory;
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

  /** Where the blob of digest {@code sha256:<hex>} is (or would be) kept. */
  Path blob(String hex) {
    return blobs().resolve(hex);
  }

  /** Keeps {@code verified} (its digest already checked) as blob {@code hex}; moves it. */
  void keep(Path verified, String hex) throws IOException {
    Files.createDirectories(blobs());
    Path target = blob(hex);
    if (Files.isRegularFile(target)) {
      return; // content-addressed: the same bytes are there
    }
    Files.move(
        verified, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /**
   * Keeps blob {@code hex} of another layout here too, as a hard link (a copy where links do not
   * work): the base image's layers are stored once on disk however many apps build on it.
   */
  void link(Path source, String hex) throws IOException {
    Files.createDirectories(blobs());
    Path target = blob(hex);
    if (Files.isRegularFile(target)) {
      return;
    }
    Path temporary =
        blobs().resolve("." + hex.substring(0, 12) + "-" + java.util.UUID.randomUUID() + ".tmp");
    try {
      try {
        Files.createLink(temporary, source);
      } catch (IOException | UnsupportedOperationException e) {
        Files.copy(source, temporary);
      }
      keep(temporary, hex);
    } finally {
      Files.deleteIfExists(temporary);
    }
  }

  /** A manifest as a registry serves it. */
  record Manifest(String digest, String mediaType, byte[] bytes) {}

  /**
   * Stores a manifest and, when {@code reference} is a tag, names it by that tag in the index.
   *
   * @return its digest, {@code sha256:<hex>}
   */
  String putManifest(byte[] manifest, String mediaType, String reference) throws IOException {
    String hex = HexFormat.of().formatHex(sha256().digest(manifest));
    Files.createDirectories(blobs());
    if (!Files.isRegularFile(blob(hex))) {
      Path temporary = Files.createTempFile(blobs(), ".manifest-", ".tmp");
      try {
        Files.write(temporary, manifest);
        keep(temporary, hex);
      } finally {
        Files.deleteIfExists(temporary);
      }
    }
    String digest = "sha256:" + hex;
    if (!reference.startsWith("sha256:")) {
      ObjectNode descriptor = JSON.createObjectNode();
      String type = mediaType;
      if (type == null || type.isBlank()) {
        type =
            JSON.readTree(manifest)
                .path("mediaType")
                .asText("application/vnd.oci.image.manifest.v1+json");
      }
      descriptor.put("mediaType", type);
      descriptor.put("digest", digest);
      descriptor.put("size", manifest.length);
      descriptor.putObject("annotations").put(REF_NAME, reference);
      name(descriptor, reference);
    }
    return digest;
  }

  /** The manifest a tag or digest names, or null. */
  Manifest manifest(String reference) throws IOException {
    String digest = reference.startsWith("sha256:") ? reference : manifestOf(reference);
    if (digest == null || !Files.isRegularFile(blob(digest.substring("sha256:".length())))) {
      return null;
    }
    byte[] bytes = Files.readAllBytes(blob(digest.substring("sha256:".length())));
    String type;
    try {
      type =
          JSON.readTree(bytes)
              .path("mediaType")
              .asText("application/vnd.oci.image.manifest.v1+json");
    } catch (IOException e) {
      return null; // a layer, not a manifest
    }
    return new Manifest(digest, type, bytes);
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
