package dev.kiln.cache;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.kiln.events.Digest;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;

/**
 * A private PEP 503 index over real HTTP on 127.0.0.1 that answers only requests carrying its HTTP
 * Basic credentials (401 otherwise), serving the wheels in a directory: {@code /simple/<project>/}
 * links {@code /files/<filename>#sha256=…}. It records every request, so a test can see what
 * reached it and with which credentials. A page can be replaced by any bytes ({@link #servePage})
 * to play a hostile index.
 */
final class BasicAuthIndexServer implements AutoCloseable {
  record Seen(String path, String authorization) {}

  private final Path wheels;
  private final String expectedAuthorization;
  private final HttpServer server;
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final List<Seen> seen = new CopyOnWriteArrayList<>();
  private final Map<String, byte[]> pages = new ConcurrentHashMap<>();

  private BasicAuthIndexServer(Path wheels, String username, String password) throws IOException {
    this.wheels = wheels;
    this.expectedAuthorization =
        "Basic "
            + Base64.getEncoder()
                .encodeToString((username + ":" + password).getBytes(StandardCharsets.UTF_8));
    this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", this::handle);
    server.setExecutor(executor);
    server.start();
  }

  static BasicAuthIndexServer start(Path wheels, String username, String password)
      throws IOException {
    return new BasicAuthIndexServer(wheels, username, password);
  }

  String indexUrl() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/simple/";
  }

  List<Seen> requests() {
    return List.copyOf(seen);
  }

  /** Serve these bytes at {@code path} (e.g. {@code /simple/demo-pkg/}) instead. */
  void servePage(String path, byte[] body) {
    pages.put(path, body);
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getPath();
      String authorization = exchange.getRequestHeaders().getFirst("Authorization");
      seen.add(new Seen(path, authorization));
      if (!expectedAuthorization.equals(authorization)) {
        exchange.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"private\"");
        send(exchange, 401, "credentials required".getBytes(StandardCharsets.UTF_8));
        return;
      }
      byte[] replaced = pages.get(path);
      if (replaced != null) {
        send(exchange, 200, replaced);
      } else if (path.equals("/simple/")) {
        StringBuilder html = new StringBuilder("<html><body>\n");
        for (String project : projects()) {
          html.append("<a href=\"").append(project).append("/\">").append(project).append("</a>\n");
        }
        send(
            exchange,
            200,
            html.append("</body></html>\n").toString().getBytes(StandardCharsets.UTF_8));
      } else if (path.startsWith("/simple/") && path.endsWith("/")) {
        String project = path.substring("/simple/".length(), path.length() - 1);
        StringBuilder html = new StringBuilder("<html><body>\n");
        boolean any = false;
        for (Path wheel : files()) {
          String name = wheel.getFileName().toString();
          if (projectOf(name).equals(project)) {
            any = true;
            html.append("<a href=\"/files/")
                .append(name)
                .append("#sha256=")
                .append(Digest.compute(wheel).hex())
                .append("\">")
                .append(name)
                .append("</a>\n");
          }
        }
        if (!any) {
          send(exchange, 404, "no such project".getBytes(StandardCharsets.UTF_8));
          return;
        }
        send(
            exchange,
            200,
            html.append("</body></html>\n").toString().getBytes(StandardCharsets.UTF_8));
      } else if (path.startsWith("/files/")) {
        Path file = wheels.resolve(path.substring("/files/".length()));
        if (!file.normalize().startsWith(wheels) || !Files.isRegularFile(file)) {
          send(exchange, 404, "no such file".getBytes(StandardCharsets.UTF_8));
          return;
        }
        send(exchange, 200, Files.readAllBytes(file));
      } else {
        send(exchange, 404, "no such path".getBytes(StandardCharsets.UTF_8));
      }
    }
  }

  private List<Path> files() throws IOException {
    try (Stream<Path> listing = Files.list(wheels)) {
      return listing.filter(Files::isRegularFile).sorted().toList();
    }
  }

  private List<String> projects() throws IOException {
    return files().stream().map(f -> projectOf(f.getFileName().toString())).distinct().toList();
  }

  private static String projectOf(String filename) {
    return filename
        .substring(0, filename.indexOf('-'))
        .toLowerCase(Locale.ROOT)
        .replaceAll("[-_.]+", "-");
  }

  private static void send(HttpExchange exchange, int status, byte[] body) throws IOException {
    exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
