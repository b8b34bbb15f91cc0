package dev.kiln.coordinator;

import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * The dashboard's static files ({@code GET /dashboard} and {@code /dashboard/…}), served from the
 * coordinator's jar without authentication: they hold no data, the page asks for a token and sends
 * it to the JSON API itself. Read from the jar once, when the routes are made, so no request reads
 * the jar on the event loop.
 */
final class DashboardPage {
  static final String PATH = "/dashboard";

  /**
   * Scripts and styles from this origin only, no inline script, no plugins, no framing: a build log
   * or app name that slipped into markup could still not run.
   */
  static final String CONTENT_SECURITY_POLICY =
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
          + " img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

  private record Asset(String contentType, Buffer body) {}

  private final Map<String, Asset> assets;

  private DashboardPage(Map<String, Asset> assets) {
    this.assets = assets;
  }

  /**
   * The page's files, read from the classpath once per JVM (a restarted coordinator reuses them).
   */
  static DashboardPage load() {
    return Loaded.PAGE;
  }

  /**
   * Holder idiom: the jar is read when the first coordinator makes its routes, then never again.
   */
  private static final class Loaded {
    static final DashboardPage PAGE = read();
  }

  private static DashboardPage read() {
    Asset index = read("index.html", "text/html; charset=utf-8");
    return new DashboardPage(
        Map.of(
            PATH,
            index,
            PATH + "/",
            index,
            PATH + "/index.html",
            index,
            PATH + "/dashboard.js",
            read("dashboard.js", "text/javascript; charset=utf-8"),
            PATH + "/dashboard.css",
            read("dashboard.css", "text/css; charset=utf-8"),
            // Browsers ask for an icon anyway; one of our own saves a 404 on every load.
            PATH + "/favicon.svg",
            read("favicon.svg", "image/svg+xml")));
  }

  private static Asset read(String name, String contentType) {
    String resource = "/dashboard/" + name;
    try (InputStream in = DashboardPage.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(resource + " is missing from the coordinator's jar");
      }
      return new Asset(contentType, Buffer.buffer(in.readAllBytes()));
    } catch (IOException e) {
      throw new UncheckedIOException("could not read " + resource, e);
    }
  }

  void routes(Router router) {
    router.get("/").handler(ctx -> ctx.redirect(PATH));
    router.get(PATH).handler(this::serve);
    router.get(PATH + "/*").handler(this::serve);
  }

  private void serve(RoutingContext ctx) {
    Asset asset = assets.get(ctx.request().path());
    if (asset == null) {
      ctx.next(); // the router's 404
      return;
    }
    ctx.response()
        .putHeader("Content-Type", asset.contentType())
        .putHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        .putHeader("X-Content-Type-Options", "nosniff")
        .putHeader("Referrer-Policy", "no-referrer")
        // Always revalidated: after an upgrade the page and its script must match the API.
        .putHeader("Cache-Control", "no-cache")
        .end(asset.body());
  }
}
