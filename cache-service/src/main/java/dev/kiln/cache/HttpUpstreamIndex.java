package dev.kiln.cache;

import io.vertx.core.Future;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** An upstream PEP 503 index served over HTTP(S), read as HTML. */
final class HttpUpstreamIndex implements UpstreamIndex {
  // PEP 503 HTML is the one form every index serves; PEP 691 JSON is optional for them.
  private static final String ACCEPT_HTML = "application/vnd.pypi.simple.v1+html, text/html;q=0.9";

  private final URI root;
  private final UpstreamHttp http;

  HttpUpstreamIndex(URI root, UpstreamHttp http) {
    this.root = root;
    this.http = http;
  }

  @Override
  public String location() {
    return root.toString();
  }

  @Override
  public Future<List<String>> projectNames() {
    return http.get(root, ACCEPT_HTML, "the project list")
        .map(body -> SimpleHtml.projectNames(body.toString(StandardCharsets.UTF_8)));
  }

  @Override
  public Future<ProjectPage> projectPage(String normalizedName) {
    URI page = root.resolve(SimpleIndexFormat.pathSegment(normalizedName) + "/");
    return http.get(page, ACCEPT_HTML, "project '" + normalizedName + "'")
        .map(body -> SimpleHtml.projectPage(
            normalizedName, body.toString(StandardCharsets.UTF_8), page));
  }
}
