package dev.kiln.coordinator;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.events.EventCodec;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A blocking JSON HTTP client for tests (the JDK's). */
final class HttpJson {
  record Response(int status, JsonNode json, java.net.http.HttpHeaders headers) {}

  private final HttpClient client =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private final String base;
  private final String token;

  /** A client that sends the operator's token. */
  HttpJson(int port) {
    this(port, TestSecurity.OPERATOR_TOKEN);
  }

  /**
   * @param token the bearer token to send; null sends none
   */
  HttpJson(int port, String token) {
    this.base = "http://127.0.0.1:" + port;
    this.token = token;
  }

  int port() {
    return Integer.parseInt(base.replaceAll(".*:", ""));
  }

  /** The same server, another caller. */
  HttpJson as(String otherToken) {
    return new HttpJson(Integer.parseInt(base.replaceAll(".*:", "")), otherToken);
  }

  Response put(String path, String json) {
    return send(
        HttpRequest.newBuilder(URI.create(base + path))
            .header("Content-Type", "application/json")
            .PUT(HttpRequest.BodyPublishers.ofString(json)));
  }

  Response patch(String path, String json) {
    return send(
        HttpRequest.newBuilder(URI.create(base + path))
            .header("Content-Type", "application/json")
            .method("PATCH", HttpRequest.BodyPublishers.ofString(json)));
  }

  Response get(String path) {
    return send(HttpRequest.newBuilder(URI.create(base + path)).GET());
  }

  Response post(String path, String contentType, byte[] body) {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(base + path))
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (contentType != null) {
      request.header("Content-Type", contentType);
    }
    return send(request);
  }

  /** A POST with these headers as well (a forge's webhook delivery). */
  Response post(String path, java.util.Map<String, String> headers, byte[] body) {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(base + path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    headers.forEach(request::header);
    return send(request);
  }

  Response postJson(String path, String json) {
    return post(path, "application/json", json.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  Response delete(String path) {
    return send(HttpRequest.newBuilder(URI.create(base + path)).DELETE());
  }

  private Response send(HttpRequest.Builder request) {
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    try {
      HttpResponse<byte[]> response =
          client.send(
              request.timeout(Duration.ofSeconds(30)).build(),
              HttpResponse.BodyHandlers.ofByteArray());
      return new Response(
          response.statusCode(),
          response.body().length == 0
              ? EventCodec.mapper().createObjectNode()
              : EventCodec.mapper().readTree(response.body()),
          response.headers());
    } catch (IOException e) {
      throw new AssertionError("HTTP request failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
