package dev.kiln.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.events.EventCodec;
import dev.kiln.events.PushEvent;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** The coordinator's HTTP API as the command line uses it. */
final class CoordinatorClient {
  record Accepted(String buildId, String status) {}

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String baseUrl;
  private final String token;

  /**
   * @param token the bearer token every request sends (see {@link FarmSecrets#clientToken})
   */
  CoordinatorClient(String baseUrl, String token) {
    this.baseUrl = baseUrl.replaceAll("/+$", "");
    this.token = token;
  }

  private HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create(baseUrl + path))
        .timeout(Duration.ofSeconds(30))
        .header("Authorization", "Bearer " + token);
  }

  JsonNode send(String method, String path, String jsonBody) {
    HttpRequest.BodyPublisher body =
        jsonBody == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(jsonBody);
    return send(
        request(path).header("Content-Type", "application/json").method(method, body).build());
  }

  Accepted push(PushEvent push) {
    HttpRequest request =
        request("/v1/pushes")
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(EventCodec.toJson(push)))
            .build();
    JsonNode body = send(request);
    return new Accepted(body.path("buildId").asText(), body.path("status").asText());
  }

  JsonNode get(String path) {
    return send(request(path).GET().build());
  }

  /**
   * {@code GET path} with {@code accept}, handing each line of the answer to {@code onLine} as it
   * arrives (a log as text, or Server-Sent Events), with no overall timeout.
   */
  void streamLines(String path, String accept, java.util.function.Consumer<String> onLine) {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(baseUrl + path))
            .header("Authorization", "Bearer " + token)
            .header("Accept", accept)
            .GET()
            .build();
    try {
      HttpResponse<java.util.stream.Stream<String>> response =
          http.send(request, HttpResponse.BodyHandlers.ofLines());
      if (response.statusCode() >= 400) {
        String body = String.join("\n", response.body().toList());
        JsonNode error;
        try {
          error = EventCodec.mapper().readTree(body);
        } catch (IOException e) {
          error = EventCodec.mapper().createObjectNode();
        }
        throw new UserError(
            "the coordinator refused the request (HTTP "
                + response.statusCode()
                + "): "
                + error.path("error").asText(body),
            response.statusCode() >= 500 ? 1 : 2);
      }
      try (java.util.stream.Stream<String> lines = response.body()) {
        lines.forEach(onLine);
      }
    } catch (ConnectException e) {
      throw new UserError(
          "cannot reach the coordinator at " + baseUrl + "; is `./kiln up` running?", 1);
    } catch (IOException | java.io.UncheckedIOException e) {
      throw new UserError(
          "talking to the coordinator at " + baseUrl + " failed: " + e.getMessage(), 1);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UserError("interrupted", 1);
    }
  }

  private JsonNode send(HttpRequest request) {
    try {
      HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
      JsonNode body =
          response.body().isBlank()
              ? EventCodec.mapper().createObjectNode()
              : EventCodec.mapper().readTree(response.body());
      if (response.statusCode() == 401) {
        throw new UserError(
            "the coordinator did not accept the token (HTTP 401): "
                + body.path("error").asText(response.body())
                + ". Pass --token or KILN_TOKEN; on the farm's machine the operator token is in"
                + " <home>/secrets/operator-token",
            2);
      }
      if (response.statusCode() >= 400) {
        throw new UserError(
            "the coordinator refused the request (HTTP "
                + response.statusCode()
                + "): "
                + body.path("error").asText(response.body())
                + (body.hasNonNull("code") ? " [" + body.path("code").asText() + "]" : ""),
            response.statusCode() >= 500 ? 1 : 2);
      }
      return body;
    } catch (ConnectException e) {
      throw new UserError(
          "cannot reach the coordinator at " + baseUrl + "; is `./kiln up` running?", 1);
    } catch (IOException e) {
      throw new UserError(
          "talking to the coordinator at " + baseUrl + " failed: " + e.getMessage(), 1);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UserError("interrupted", 1);
    }
  }
}
