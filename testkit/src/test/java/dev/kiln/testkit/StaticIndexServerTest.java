package dev.kiln.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StaticIndexServerTest {
  private final HttpClient http =
      HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();

  @TempDir Path wheels;

  @Test
  void servesPep503PagesWithHashesAndRequiresPythonAndCountsRequests() throws Exception {
    Path wheel = WheelBuilder.wheel("demo-pkg", "1.0").requiresPython(">=3.9").writeTo(wheels);
    String sha =
        HexFormat.of()
            .formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(wheel)));

    try (StaticIndexServer index = StaticIndexServer.start(wheels)) {
      HttpResponse<String> root = get(index, "/simple/");
      HttpResponse<String> page = get(index, "/simple/demo-pkg/");
      HttpResponse<byte[]> file =
          http.send(
              HttpRequest.newBuilder(
                      URI.create(
                          index.baseUrl()
                              + StaticIndexServer.filePath(wheel.getFileName().toString())))
                  .build(),
              BodyHandlers.ofByteArray());

      assertThat(root.body()).contains("<a href=\"demo-pkg/\">demo-pkg</a>");
      assertThat(page.body())
          .contains(
              "<a href=\"../../files/demo_pkg-1.0-py3-none-any.whl#sha256="
                  + sha
                  + "\" data-requires-python=\"&gt;=3.9\">");
      assertThat(file.body()).isEqualTo(Files.readAllBytes(wheel));
      assertThat(index.requestCount("/simple/demo-pkg/")).isEqualTo(1);
      assertThat(index.fileRequestCount()).isEqualTo(1);
    }
  }

  @Test
  void redirectsToNormalizedNamesAndAnswers404ForUnknownProjects() throws Exception {
    WheelBuilder.wheel("demo-pkg", "1.0").writeTo(wheels);

    try (StaticIndexServer index = StaticIndexServer.start(wheels)) {
      HttpResponse<String> redirect = get(index, "/simple/Demo_Pkg/");
      HttpResponse<String> unknown = get(index, "/simple/nothing/");

      assertThat(redirect.statusCode()).isEqualTo(301);
      assertThat(redirect.headers().firstValue("Location")).contains("/simple/demo-pkg/");
      assertThat(unknown.statusCode()).isEqualTo(404);
    }
  }

  private HttpResponse<String> get(StaticIndexServer index, String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(index.baseUrl() + path)).build(),
        BodyHandlers.ofString());
  }
}
