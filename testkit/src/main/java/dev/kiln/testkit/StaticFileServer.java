package dev.kiln.testkit;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Serves the files under a directory over HTTP on 127.0.0.1 (a free port), as a plain static web
 * server would (e.g. an NLTK data tree, see {@link NltkDataTree}). Built on the JDK's own HTTP
 * server. Files are read on every request, so a test may change them while it runs; every request
 * is counted by path, so a test can assert that something never reached this server.
 */
public final class StaticFileServer implements AutoCloseable {
  private final Path directory;
  private final HttpServer server;
  private final ExecutorService executor;
  private final Map<String, AtomicInteger> requestCounts = new ConcurrentHashMap<>();
  private volatile boolean chunked;

  private StaticFileServer(Path directory) throws IOException {
    this.directory = directory.toAbsolutePath().normalize();
    this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    this.executor =
        Executors.newFixedThreadPool(
            4,
            runnable -> {
              Thread thread = new Thread(runnable, "static-files-" + server.getAddress().getPort());
              thread.setDaemon(true);
              return thread;
            });
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
  }

  /** Starts serving {@code directory} (which must exist). */
  public static StaticFileServer start(Path directory) {
    if (!Files.isDirectory(directory)) {
      throw new IllegalArgumentException(directory + " is not a directory; create it first");
    }
    try {
      return new StaticFileServer(directory);
    } catch (IOException e) {
      throw new UncheckedIOException("could not start a file server on 127.0.0.1", e);
    }
  }

  /** E.g. {@code http://127.0.0.1:41234}. */
  public String baseUrl() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** The URL of a file, e.g. {@code url("index.xml")}. */
  public String url(String relativePath) {
    return baseUrl() + "/" + relativePath;
  }

  /**
   * Sends bodies without a Content-Length (chunked), as a server streaming from elsewhere does: the
   * client learns the length only by reading to the end.
   */
  public StaticFileServer chunked(boolean enabled) {
    this.chunked = enabled;
    return this;
  }

  /** How many requests reached {@code path} (e.g. {@code /index.xml}). */
  public int requestCount(String path) {
    AtomicInteger count = requestCounts.get(path);
    return count == null ? 0 : count.get();
  }

  /** Requests so far by path. */
  public Map<String, Integer> requestCounts() {
    Map<String, Integer> snapshot = new TreeMap<>();
    requestCounts.forEach((path, count) -> snapshot.put(path, count.get()));
    return snapshot;
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try {
      String path = exchange.getRequestURI().getPath();
      requestCounts.computeIfAbsent(path, unused -> new AtomicInteger()).incrementAndGet();
      Path file = directory.resolve(path.substring(1)).normalize();
      if (!exchange.getRequestMethod().equals("GET")) {
        respond(exchange, 405, "only GET is served here\n");
      } else if (!file.startsWith(directory) || !Files.isRegularFile(file)) {
        respond(exchange, 404, "no file at " + path + "\n");
      } else {
        exchange.getResponseHeaders().set("Content-Type", "application/octet-stream");
        exchange.sendResponseHeaders(200, chunked ? 0 : Files.size(file));
        try (OutputStream body = exchange.getResponseBody()) {
          Files.copy(file, body);
        }
      }
    } catch (RuntimeException | IOException e) {
      if (exchange.getResponseCode() == -1) {
        respond(exchange, 500, "file server failed: " + e + "\n");
      }
    } finally {
      exchange.close();
    }
  }

  private static void respond(HttpExchange exchange, int status, String text) throws IOException {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream body = exchange.getResponseBody()) {
      body.write(bytes);
    }
  }
}
