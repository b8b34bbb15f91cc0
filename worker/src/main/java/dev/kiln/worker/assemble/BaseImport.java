package dev.kiln.worker.assemble;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarFile;

/**
 * Turns a base image tarball ({@code docker save} format: {@code manifest.json}, the config, one
 * entry per layer) into an image of an {@link OciLayout}: gzip-compressed layers are stored byte
 * for byte as the tarball holds them (uncompressed ones are compressed once), with an OCI manifest
 * naming them. Done once per tarball; every later build only names the manifest.
 */
final class BaseImport {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long MAX_JSON_BYTES = 16 << 20;
  static final String UNCOMPRESSED_LAYER = "application/vnd.oci.image.layer.v1.tar";
  static final String GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";

  private BaseImport() {}

  /** Names one version of the tarball: its path, size and modification time. */
  static String key(Path tarball) throws IOException {
    Path real = tarball.toRealPath();
    String identity =
        real + "\n" + Files.size(real) + "\n" + Files.getLastModifiedTime(real).toMillis();
    return HexFormat.of()
        .formatHex(sha256().digest(identity.getBytes(StandardCharsets.UTF_8)))
        .substring(0, 24);
  }

  /**
   * Imports the image in {@code tarball} into {@code layout} under {@code tag}.
   *
   * @return the manifest's digest, {@code sha256:<hex>}
   * @throws IOException when it is not a one-image {@code docker save} tarball
   */
  static String importInto(Path tarball, OciLayout layout, String tag) throws IOException {
    try (TarFile tar = new TarFile(tarball)) {
      JsonNode manifests = JSON.readTree(read(tar, tarball, "manifest.json"));
      if (!manifests.isArray() || manifests.size() != 1) {
        throw new IOException(tarball + " does not hold exactly one image (manifest.json)");
      }
      JsonNode image = manifests.get(0);
      byte[] config = read(tar, tarball, image.path("Config").asText());
      ObjectNode manifest = JSON.createObjectNode();
      manifest.put("schemaVersion", 2);
      manifest.put("mediaType", "application/vnd.oci.image.manifest.v1+json");
      manifest.set("config", store(layout, config, "application/vnd.oci.image.config.v1+json"));
      ArrayNode layers = manifest.putArray("layers");
      for (JsonNode name : image.path("Layers")) {
        TarArchiveEntry entry = entry(tar, tarball, name.asText());
        layers.add(storeLayer(layout, tar, entry));
      }
      return layout.putManifest(
          JSON.writeValueAsBytes(manifest), "application/vnd.oci.image.manifest.v1+json", tag);
    }
  }

  /**
   * Adds to {@code layout} the image {@code baseTag} names with one more layer on top, the
   * uncompressed {@code layerHex} (already kept in the layout), and names it {@code tag}. The
   * config gains the layer's diff id (the same digest, as it is not compressed) and a history
   * entry.
   *
   * @return the new manifest's digest, {@code sha256:<hex>}
   */
  static String withLayer(
      OciLayout layout,
      String baseTag,
      String layerHex,
      long layerSize,
      String createdBy,
      String tag)
      throws IOException {
    OciLayout.Manifest base = layout.manifest(baseTag);
    if (base == null) {
      throw new IOException("the layout " + layout.directory() + " has no image " + baseTag);
    }
    ObjectNode manifest = (ObjectNode) JSON.readTree(base.bytes());
    String configDigest = manifest.path("config").path("digest").asText("");
    if (!configDigest.startsWith("sha256:")) {
      throw new IOException("the image " + baseTag + " names no config");
    }
    Path configBlob = layout.blob(configDigest.substring("sha256:".length()));
    if (Files.size(configBlob) > MAX_JSON_BYTES) {
      throw new IOException("the config of " + baseTag + " is larger than a configuration can be");
    }
    ObjectNode config = (ObjectNode) JSON.readTree(Files.readAllBytes(configBlob));
    ObjectNode rootfs = config.withObjectProperty("rootfs");
    rootfs.put("type", "layers");
    rootfs.withArrayProperty("diff_ids").add("sha256:" + layerHex);
    ObjectNode history = config.withArrayProperty("history").addObject();
    history.put("created", "1970-01-01T00:00:00Z");
    history.put("created_by", createdBy);
    manifest.set(
        "config",
        store(layout, JSON.writeValueAsBytes(config), "application/vnd.oci.image.config.v1+json"));
    manifest.withArrayProperty("layers").add(descriptor(UNCOMPRESSED_LAYER, layerHex, layerSize));
    return layout.putManifest(
        JSON.writeValueAsBytes(manifest), "application/vnd.oci.image.manifest.v1+json", tag);
  }

  private static ObjectNode store(OciLayout layout, byte[] content, String mediaType)
      throws IOException {
    String hex = HexFormat.of().formatHex(sha256().digest(content));
    Path directory = Files.createDirectories(layout.blob(hex).getParent());
    Path temporary = Files.createTempFile(directory, ".base-", ".tmp");
    try {
      Files.write(temporary, content);
      layout.keep(temporary, hex);
    } finally {
      Files.deleteIfExists(temporary);
    }
    return descriptor(mediaType, hex, content.length);
  }

  private static ObjectNode storeLayer(OciLayout layout, TarFile tar, TarArchiveEntry entry)
      throws IOException {
    Path directory = Files.createDirectories(layout.blob("x").getParent());
    Path temporary = Files.createTempFile(directory, ".base-layer-", ".tmp");
    try {
      MessageDigest digest = sha256();
      try (InputStream in = new BufferedInputStream(tar.getInputStream(entry));
          OutputStream stored = new DigestOutputStream(Files.newOutputStream(temporary), digest)) {
        in.mark(2);
        boolean gzip = in.read() == 0x1f && in.read() == 0x8b;
        in.reset();
        if (gzip) {
          in.transferTo(stored);
        } else {
          // jib takes registry layers as compressed blobs: compress an uncompressed one, once.
          try (OutputStream compressed = new GZIPOutputStream(stored, 1 << 16)) {
            in.transferTo(compressed);
          }
        }
      }
      String hex = HexFormat.of().formatHex(digest.digest());
      long size = Files.size(temporary);
      layout.keep(temporary, hex);
      return descriptor(GZIP_LAYER, hex, size);
    } finally {
      Files.deleteIfExists(temporary);
    }
  }

  private static ObjectNode descriptor(String mediaType, String hex, long size) {
    ObjectNode descriptor = JSON.createObjectNode();
    descriptor.put("mediaType", mediaType);
    descriptor.put("digest", "sha256:" + hex);
    descriptor.put("size", size);
    return descriptor;
  }

  private static TarArchiveEntry entry(TarFile tar, Path tarball, String name) throws IOException {
    String wanted = name.startsWith("./") ? name.substring(2) : name;
    for (TarArchiveEntry entry : tar.getEntries()) {
      String entryName =
          entry.getName().startsWith("./") ? entry.getName().substring(2) : entry.getName();
      if (entryName.equals(wanted) && entry.isFile()) {
        return entry;
      }
    }
    throw new IOException(tarball + " names '" + name + "' but does not hold it");
  }

  private static byte[] read(TarFile tar, Path tarball, String name) throws IOException {
    TarArchiveEntry entry = entry(tar, tarball, name);
    if (entry.getSize() > MAX_JSON_BYTES) {
      throw new IOException(tarball + ": '" + name + "' is larger than a configuration can be");
    }
    try (InputStream in = tar.getInputStream(entry)) {
      return in.readAllBytes();
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
