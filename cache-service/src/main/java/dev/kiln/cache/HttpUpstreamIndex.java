package dev.kiln.cache;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** An upstream PEP 503 index served over HTTP(S), read as HTML. */
final class HttpUpstreamIndex implements UpstreamIndex {
  // PEP 503 HTML is the one form every index serves; PEP 691 JSON is optional for them.
  private static final String ACCEPT_HTML = "application/vnd.pypi.simple.v1+html, text/html;q=0.9";

  private final Vertx vertx;
  private final URI root;
  private final UpstreamHttp http;
  private final long maxPageBytes;

  /**
   * @param maxPageBytes a page (or the project list) longer than this is refused (502) and not read
   *     further
   */
  HttpUpstreamIndex(Vertx vertx, URI root, UpstreamHttp http, long maxPageBytes) {
    this.vertx = vertx;
    this.root = root;
    this.http = http;
    this.maxPageBytes = maxPageBytes;
  }

  @Override
  public String location() {
    return UrlRedaction.mask(root);
  }

  @Override
  public Future<List<String>> projectNames() {
    // Parsed on a worker: a public index's project list runs to tens of megabytes.
    return http.get(root, ACCEPT_HTML, "the project list", maxPageBytes)
        .compose(
            body ->
                vertx.executeBlocking(
                    () -> SimpleHtml.projectNames(body.toString(StandardCharsets.UTF_8)), false));
  }

  @Override
  public Future<ProjectPage> projectPage(String normalizedName) {
    URI page = root.resolve(SimpleIndexFormat.pathSegment(normalizedName) + "/");
    return http.get(page, ACCEPT_HTML, "project '" + normalizedName + "'", maxPageBytes)
        .compose(
            body ->
                vertx.executeBlocking(
                    () ->
                        SimpleHtml.projectPage(
                            normalizedName, body.toString(StandardCharsets.UTF_8), page),
                    false));
  }
}
