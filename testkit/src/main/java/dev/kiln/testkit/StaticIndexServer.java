package dev.kiln.testkit;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * A real PEP 503 index over HTTP on 127.0.0.1 (a free port), generated from a directory of wheels
 * and sdists, for tests that need an upstream index. Built on the JDK's own HTTP server.
 *
 * <ul>
 *   <li>{@code GET /simple/} lists the projects found in the directory;
 *   <li>{@code GET /simple/<project>/} lists its files as {@code ../../files/<filename>#sha256=…}
 *       with {@code data-requires-python} from each wheel's METADATA (non-normalized names and a
 *       missing trailing slash are redirected, as PyPI does);
 *   <li>{@code GET /files/<filename>} serves a file.
 * </ul>
 *
 * The directory is read on every request, so files added after start are served. Every request is
 * counted by path, so a test can assert that something never reached this server.
 */
public final class StaticIndexServer implements AutoCloseable {
  private static final Pattern SEPARATORS = Pattern.compile("[-_.]+");
  private static final Pattern METADATA_ENTRY = Pattern.compile("[^/]+\\.dist-info/METADATA");

  private final Path directory;
  private final HttpServer server;
  private final ExecutorService executor;
  private final Map<String, AtomicInteger> requestCounts = new ConcurrentHashMap<>();
  private final Map<String, String> yanked = new ConcurrentHashMap<>();
  private final Map<String, java.util.concurrent.CountDownLatch> held = new ConcurrentHashMap<>();

  private StaticIndexServer(Path directory) throws IOException {
    this.directory = directory;
    this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    this.executor =
        Executors.newFixedThreadPool(
            4,
            runnable -> {
              Thread thread = new Thread(runnable, "static-index-" + server.getAddress().getPort());
              thread.setDaemon(true);
              return thread;
            });
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
  }

  /** Starts serving {@code directory} (which must exist). */
  public static StaticIndexServer start(Path directory) {
    if (!Files.isDirectory(directory)) {
      throw new IllegalArgumentException(
          directory + " is not a directory; put the wheels to serve in a directory first");
    }
    try {
      return new StaticIndexServer(directory);
    } catch (IOException e) {
      throw new UncheckedIOException("could not start an index server on 127.0.0.1", e);
    }
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** E.g. {@code http://127.0.0.1:41234}. */
  public String baseUrl() {
    return "http://127.0.0.1:" + port();
  }

  /** The index URL: {@code <baseUrl>/simple/}. */
  public String indexUrl() {
    return baseUrl() + "/simple/";
  }

  /** The path a file is served under, e.g. {@code /files/demo_pkg-1.0-py3-none-any.whl}. */
  public static String filePath(String filename) {
    return "/files/" + filename;
  }

  /** How many requests reached {@code path} (e.g. {@code /simple/demo-pkg/}). */
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

  /** How many requests asked for any file under {@code /files/}. */
  public int fileRequestCount() {
    return requestCounts.entrySet().stream()
        .filter(entry -> entry.getKey().startsWith("/files/"))
        .mapToInt(entry -> entry.getValue().get())
        .sum();
  }

  /** Marks a file as yanked (PEP 592) on its project page; an empty reason is allowed. */
  public StaticIndexServer yank(String filename, String reason) {
    yanked.put(filename, reason);
    return this;
  }

  /**
   * Holds every download of {@code filename} until {@link Runnable#run()} is called on the result
   * (or two minutes pass): lets a test stop the farm at a known point in the middle of a build.
   */
  public Runnable hold(String filename) {
    java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(1);
    held.put(filename, gate);
    return gate::countDown;
  }

  @Override
  public void close() {
    held.values().forEach(java.util.concurrent.CountDownLatch::countDown);
    server.stop(0);
    executor.shutdownNow();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try {
      String path = exchange.getRequestURI().getPath();
      requestCounts.computeIfAbsent(path, unused -> new AtomicInteger()).incrementAndGet();
      if (!exchange.getRequestMethod().equals("GET")) {
        respond(exchange, 405, "text/plain", "only GET is served here\n");
      } else if (path.equals("/simple")) {
        redirect(exchange, "/simple/");
      } else if (path.equals("/simple/")) {
        respond(exchange, 200, "text/html; charset=utf-8", projectList());
      } else if (path.startsWith("/simple/")) {
        projectPage(exchange, path.substring("/simple/".length()));
      } else if (path.startsWith("/files/")) {
        file(exchange, path.substring("/files/".length()));
      } else {
        respond(exchange, 404, "text/plain", "no such page: " + path + "\n");
      }
    } catch (RuntimeException | IOException e) {
      if (exchange.getResponseCode() == -1) {
        respond(exchange, 500, "text/plain", "index server failed: " + e + "\n");
      }
    } finally {
      exchange.close();
    }
  }

  private String projectList() throws IOException {
    TreeSet<String> projects = new TreeSet<>();
    for (Path distribution : distributions()) {
      projectOf(distribution.getFileName().toString()).ifPresent(projects::add);
    }
    StringBuilder html =
        new StringBuilder(
            "<!DOCTYPE html>\n<html><head><title>Simple index</title></head><body>\n");
    for (String project : projects) {
      html.append("<a href=\"")
          .append(project)
          .append("/\">")
          .append(project)
          .append("</a><br/>\n");
    }
    return html.append("</body></html>\n").toString();
  }

  private void projectPage(HttpExchange exchange, String rest) throws IOException {
    String requested = rest.endsWith("/") ? rest.substring(0, rest.length() - 1) : rest;
    if (requested.isEmpty() || requested.contains("/")) {
      respond(exchange, 404, "text/plain", "no such page: /simple/" + rest + "\n");
      return;
    }
    String normalized = normalize(requested);
    if (!normalized.equals(requested) || !rest.endsWith("/")) {
      redirect(exchange, "/simple/" + normalized + "/");
      return;
    }
    StringBuilder links = new StringBuilder();
    for (Path distribution : distributions()) {
      String filename = distribution.getFileName().toString();
      if (projectOf(filename).filter(normalized::equals).isEmpty()) {
        continue;
      }
      links
          .append("<a href=\"../../files/")
          .append(filename)
          .append("#sha256=")
          .append(sha256(distribution))
          .append('"');
      String requiresPython = filename.endsWith(".whl") ? requiresPython(distribution) : null;
      if (requiresPython != null) {
        links.append(" data-requires-python=\"").append(escape(requiresPython)).append('"');
      }
      String yankReason = yanked.get(filename);
      if (yankReason != null) {
        links.append(" data-yanked=\"").append(escape(yankReason)).append('"');
      }
      links.append('>').append(escape(filename)).append("</a><br/>\n");
    }
    if (links.length() == 0) {
      respond(exchange, 404, "text/plain", "no project named " + normalized + "\n");
      return;
    }
    respond(
        exchange,
        200,
        "text/html; charset=utf-8",
        "<!DOCTYPE html>\n<html><head><title>"
            + "Links for "
            + normalized
            + "</title></head><body>\n<h1>Links for "
            + normalized
            + "</h1>\n"
            + links
            + "</body></html>\n");
  }

  private void file(HttpExchange exchange, String filename) throws IOException {
    Path file = directory.resolve(filename).normalize();
    if (filename.contains("/") || !file.startsWith(directory) || !Files.isRegularFile(file)) {
      respond(exchange, 404, "text/plain", "no file named " + filename + "\n");
      return;
    }
    java.util.concurrent.CountDownLatch gate = held.get(filename);
    if (gate != null) {
      try {
        gate.await(2, java.util.concurrent.TimeUnit.MINUTES);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    exchange.getResponseHeaders().set("Content-Type", "application/octet-stream");
    exchange.sendResponseHeaders(200, Files.size(file));
    try (OutputStream body = exchange.getResponseBody()) {
      Files.copy(file, body);
    }
  }

  private List<Path> distributions() throws IOException {
    try (Stream<Path> files = Files.list(directory)) {
      return files
          .filter(Files::isRegularFile)
          .filter(file -> projectOf(file.getFileName().toString()).isPresent())
          .sorted()
          .toList();
    }
  }

  /** The normalized project of a wheel or sdist filename. */
  static Optional<String> projectOf(String filename) {
    String base = null;
    if (filename.endsWith(".whl")) {
      int dash = filename.indexOf('-');
      base = dash > 0 ? filename.substring(0, dash) : null;
    } else if (filename.endsWith(".tar.gz") || filename.endsWith(".zip")) {
      String suffix = filename.endsWith(".zip") ? ".zip" : ".tar.gz";
      String stem = filename.substring(0, filename.length() - suffix.length());
      int dash = stem.lastIndexOf('-');
      base = dash > 0 ? stem.substring(0, dash) : null;
    }
    return Optional.ofNullable(base).map(StaticIndexServer::normalize);
  }

  static String normalize(String name) {
    return SEPARATORS.matcher(name).replaceAll("-").toLowerCase(Locale.ROOT);
  }

  private static String requiresPython(Path wheel) throws IOException {
    try (ZipFile zip = new ZipFile(wheel.toFile())) {
      Optional<? extends ZipEntry> metadata =
          zip.stream()
              .filter(entry -> METADATA_ENTRY.matcher(entry.getName()).matches())
              .findFirst();
      if (metadata.isEmpty()) {
        return null;
      }
      try (BufferedReader reader =
          new BufferedReader(
              new InputStreamReader(zip.getInputStream(metadata.get()), StandardCharsets.UTF_8))) {
        for (String line; (line = reader.readLine()) != null && !line.isEmpty(); ) {
          if (line.startsWith("Requires-Python:")) {
            return line.substring("Requires-Python:".length()).strip();
          }
        }
      }
      return null;
    }
  }

  private static String sha256(Path file) throws IOException {
    try {
      return HexFormat.of()
          .formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime ships SHA-256", e);
    }
  }

  private static String escape(String text) {
    return text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\"", "&quot;");
  }

  private static void redirect(HttpExchange exchange, String location) throws IOException {
    exchange.getResponseHeaders().set("Location", location);
    exchange.sendResponseHeaders(301, -1);
  }

  private static void respond(HttpExchange exchange, int status, String contentType, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", contentType);
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }
}
