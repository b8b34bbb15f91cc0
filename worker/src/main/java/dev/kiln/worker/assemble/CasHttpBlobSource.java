package dev.kiln.worker.assemble;

import dev.kiln.events.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;

/** Reads blobs from the cache-service's {@code /cas/{sha256}} endpoint. */
final class CasHttpBlobSource implements LayerBlobSource {
  private final String baseUrl;
  private final HttpClient http;

  CasHttpBlobSource(String baseUrl) {
    URI parsed = URI.create(baseUrl);
    if (!"http".equals(parsed.getScheme()) && !"https".equals(parsed.getScheme())) {
      throw new IllegalArgumentException(
          "cache-service URL '" + baseUrl + "' must start with http:// or https://");
    }
    this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
    this.http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10))
        .build();
  }

  @Override
  public boolean download(Digest blob, Path destination) throws IOException {
    URI uri = URI.create(baseUrl + "/cas/" + blob.hex());
    HttpResponse<InputStream> response;
    try {
      response = http.send(HttpRequest.newBuilder(uri).GET().build(),
          HttpResponse.BodyHandlers.ofInputStream());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while downloading " + uri, e);
    }
    try (InputStream body = response.body()) {
      if (response.statusCode() == 404) {
        return false;
      }
      if (response.statusCode() != 200) {
        String text = new String(body.readNBytes(2000), StandardCharsets.UTF_8).strip();
        throw new IOException("cache-service answered " + response.statusCode() + " to GET " + uri
            + (text.isEmpty() ? "" : ": " + text));
      }
      Path parent = destination.toAbsolutePath().getParent();
      Files.createDirectories(parent);
      Path temporary = Files.createTempFile(parent, ".download-", ".tmp");
      try {
        MessageDigest sha256 = sha256();
        try (InputStream hashing = new DigestInputStream(body, sha256);
            OutputStream out = Files.newOutputStream(temporary)) {
          hashing.transferTo(out);
        }
        String received = HexFormat.of().formatHex(sha256.digest());
        if (!received.equals(blob.hex())) {
          throw new IOException("cache-service sent sha256:" + received + " when asked for " + blob
              + " (" + uri + "); its store may be corrupt");
        }
        Files.move(temporary, destination,
            StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return true;
      } finally {
        Files.deleteIfExists(temporary);
      }
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256", e);
    }
  }

  @Override
  public String toString() {
    return "cache-service at " + baseUrl;
  }
}
