package dev.kiln.cli.bench;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The PEP 503 index the bench uses: project pages and wheel files, from file:// or http(s)://. */
final class LocalIndex {
  static final String MIRROR = "/opt/pypi/simple/";

  private final String url;
  private final Path downloads;
  private final Map<String, IndexPage> pages = new ConcurrentHashMap<>();
  private final HttpClient http =
      HttpClient.newBuilder()
          .connectTimeout(Duration.ofSeconds(10))
          .followRedirects(HttpClient.Redirect.NORMAL)
          .build();

  LocalIndex(String url, Path downloads) {
    this.url = url.endsWith("/") ? url : url + "/";
    this.downloads = downloads;
  }

  String url() {
    return url;
  }

  IndexPage page(String project) {
    return pages.computeIfAbsent(
        IndexPage.normalize(project),
        name -> {
          URI page = URI.create(url + name + "/");
          return IndexPage.parse(page, new String(read(page), StandardCharsets.UTF_8));
        });
  }

  /** The wheel file on this machine: the mirror's own file, or a download of it. */
  Path wheel(String project, String filename) throws IOException {
    IndexPage.FileLink link =
        page(project)
            .file(filename)
            .orElseThrow(
                () -> new BenchFailure("the index lists no " + filename + " for " + project));
    if (link.url().getScheme().equals("file")) {
      return Path.of(link.url());
    }
    Path target = downloads.resolve(filename);
    if (!Files.isRegularFile(target)) {
      Files.createDirectories(downloads);
      Files.write(target, read(link.url()));
    }
    return target;
  }

  private byte[] read(URI uri) {
    try {
      if (uri.getScheme().equals("file")) {
        Path path = Path.of(uri);
        if (Files.isDirectory(path)) {
          path = path.resolve("index.html");
        }
        return Files.readAllBytes(path);
      }
      HttpResponse<InputStream> response =
          http.send(
              HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(2)).GET().build(),
              HttpResponse.BodyHandlers.ofInputStream());
      try (InputStream body = response.body()) {
        if (response.statusCode() != 200) {
          throw new BenchFailure("GET " + uri + " answered HTTP " + response.statusCode());
        }
        return body.readAllBytes();
      }
    } catch (IOException e) {
      throw new BenchFailure("cannot read " + uri + " from the index: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BenchFailure("interrupted");
    }
  }
}
