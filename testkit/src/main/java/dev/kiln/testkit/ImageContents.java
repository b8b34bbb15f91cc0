package dev.kiln.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * An image opened for assertions: its config, the files of each layer and, for registry images, the
 * manifest digest. Reads {@code docker save} tarballs and registries over plain HTTP.
 */
public record ImageContents(JsonNode config, List<Map<String, Entry>> layers, String digest) {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One tar entry of a layer. */
  public record Entry(
      String path,
      boolean directory,
      int mode,
      long uid,
      long gid,
      long mtimeSeconds,
      byte[] content) {
    public String text() {
      return new String(content, StandardCharsets.UTF_8);
    }
  }

  /** Every path in the image (later layers win), without the leading slash. */
  public Map<String, Entry> files() {
    Map<String, Entry> merged = new LinkedHashMap<>();
    layers.forEach(merged::putAll);
    return merged;
  }

  public JsonNode containerConfig() {
    return config.get("config");
  }

  public List<String> env() {
    List<String> env = new ArrayList<>();
    containerConfig().get("Env").forEach(value -> env.add(value.asText()));
    return env;
  }

  /** Reads a {@code docker save} tarball as jib writes it with {@code ImageFormat.Docker}. */
  public static ImageContents fromDockerTarball(Path tarball) throws IOException {
    Map<String, byte[]> members = members(tarball);
    JsonNode manifest = JSON.readTree(members.get("manifest.json")).get(0);
    JsonNode config = JSON.readTree(members.get(manifest.get("Config").asText()));
    List<Map<String, Entry>> layers = new ArrayList<>();
    for (JsonNode layer : manifest.get("Layers")) {
      layers.add(readLayer(members.get(layer.asText())));
    }
    return new ImageContents(config, layers, null);
  }

  /** The names {@code docker load} gives the image in a {@code docker save} tarball. */
  public static List<String> repoTags(Path tarball) throws IOException {
    List<String> tags = new ArrayList<>();
    JSON.readTree(members(tarball).get("manifest.json"))
        .get(0)
        .get("RepoTags")
        .forEach(tag -> tags.add(tag.asText()));
    return tags;
  }

  private static Map<String, byte[]> members(Path tarball) throws IOException {
    Map<String, byte[]> members = new HashMap<>();
    try (TarArchiveInputStream tar =
        new TarArchiveInputStream(new BufferedInputStream(Files.newInputStream(tarball)))) {
      TarArchiveEntry entry;
      while ((entry = tar.getNextEntry()) != null) {
        if (entry.isFile()) {
          members.put(entry.getName(), tar.readAllBytes());
        }
      }
    }
    return members;
  }

  /** Pulls {@code repository:reference} from a registry over plain HTTP. */
  public static ImageContents fromRegistry(String registry, String repository, String reference)
      throws IOException, InterruptedException {
    byte[] manifestBytes = get(registry, "/v2/" + repository + "/manifests/" + reference);
    JsonNode manifest = JSON.readTree(manifestBytes);
    JsonNode config =
        JSON.readTree(
            get(
                registry,
                "/v2/" + repository + "/blobs/" + manifest.get("config").get("digest").asText()));
    List<Map<String, Entry>> layers = new ArrayList<>();
    for (JsonNode layer : manifest.get("layers")) {
      layers.add(
          readLayer(get(registry, "/v2/" + repository + "/blobs/" + layer.get("digest").asText())));
    }
    return new ImageContents(config, layers, sha256(manifestBytes));
  }

  private static String sha256(byte[] bytes) {
    try {
      return "sha256:"
          + java.util.HexFormat.of()
              .formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  public static HttpResponse<byte[]> manifestResponse(
      String registry, String repository, String reference)
      throws IOException, InterruptedException {
    return send(registry, "/v2/" + repository + "/manifests/" + reference);
  }

  private static byte[] get(String registry, String path) throws IOException, InterruptedException {
    HttpResponse<byte[]> response = send(registry, path);
    if (response.statusCode() != 200) {
      throw new IOException(
          "GET "
              + path
              + " from "
              + registry
              + " answered "
              + response.statusCode()
              + ": "
              + new String(response.body(), StandardCharsets.UTF_8));
    }
    return response.body();
  }

  private static HttpResponse<byte[]> send(String registry, String path)
      throws IOException, InterruptedException {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("http://" + registry + path))
            .header(
                "Accept",
                String.join(
                    ",",
                    "application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.docker.distribution.manifest.v2+json"))
            .GET()
            .build();
    return HttpClient.newBuilder()
        .followRedirects(HttpClient.Redirect.NORMAL)
        .build()
        .send(request, HttpResponse.BodyHandlers.ofByteArray());
  }

  private static Map<String, Entry> readLayer(byte[] blob) throws IOException {
    InputStream in = new ByteArrayInputStream(blob);
    if (blob.length > 2 && (blob[0] & 0xff) == 0x1f && (blob[1] & 0xff) == 0x8b) {
      in = new GZIPInputStream(in);
    }
    Map<String, Entry> entries = new LinkedHashMap<>();
    try (TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
      TarArchiveEntry entry;
      while ((entry = tar.getNextEntry()) != null) {
        String name =
            entry.getName().replaceFirst("^\\./", "").replaceFirst("^/", "").replaceFirst("/$", "");
        entries.put(
            name,
            new Entry(
                name,
                entry.isDirectory(),
                entry.getMode() & 07777,
                entry.getLongUserId(),
                entry.getLongGroupId(),
                entry.getLastModifiedDate().getTime() / 1000,
                entry.isFile() ? tar.readAllBytes() : new byte[0]));
      }
    }
    return entries;
  }
}
