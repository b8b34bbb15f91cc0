package dev.kiln.worker.assemble;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.events.Digest;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The OCI distribution API on loopback, storing into one {@link OciLayout} per repository ({@code
 * <root>/<tenant>/<app>/}), so that jib writes images into the layouts as it pushes to any
 * registry: it asks for each blob first and uploads only those the layout lacks. An app-only
 * rebuild then writes its app layer, config and manifest, instead of jib writing the whole image
 * (the base's 40 MB and the dependencies again) into a tarball that is read back.
 *
 * <p>Only what jib's pusher uses: {@code GET /v2/}, {@code HEAD}/{@code GET} of blobs and
 * manifests, blob uploads ({@code POST}, {@code PATCH}, {@code PUT ?digest=}) and {@code PUT} of a
 * manifest by tag. Every blob is checked against its digest before it is renamed into place. It
 * listens on 127.0.0.1 on a free port, for this worker's ASSEMBLE steps only (the build sandbox has
 * no network to reach it), and takes repository names of exactly two lowercase parts.
 */
final class LayoutRegistry implements AutoCloseable {
  private static final Pattern BLOB =
      Pattern.compile(
          "/v2/((?:kiln/bases/[a-z0-9]+)|(?:[a-z0-9-]+/[a-z0-9-]+))/blobs/(sha256:[0-9a-f]{64})");
  private static final Pattern UPLOADS =
      Pattern.compile("/v2/((?:kiln/bases/[a-z0-9]+)|(?:[a-z0-9-]+/[a-z0-9-]+))/blobs/uploads/");
  private static final Pattern UPLOAD =
      Pattern.compile(
          "/v2/((?:kiln/bases/[a-z0-9]+)|(?:[a-z0-9-]+/[a-z0-9-]+))/blobs/uploads/([0-9a-f-]{36})");
  private static final Pattern MANIFEST =
      Pattern.compile(
          "/v2/((?:kiln/bases/[a-z0-9]+)|(?:[a-z0-9-]+/[a-z0-9-]+))/manifests/([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|sha256:[0-9a-f]{64})");
  private static final Pattern DIGEST_PARAMETER =
      Pattern.compile("(?:^|&)digest=sha256(?::|%3A)([0-9a-f]{64})");
  private static final Pattern MOUNT_PARAMETER =
      Pattern.compile("(?:^|&)mount=sha256(?::|%3A)([0-9a-f]{64})");
  private static final Pattern FROM_PARAMETER =
      Pattern.compile("(?:^|&)from=(kiln(?:/|%2F)bases(?:/|%2F)[a-z0-9]+)");
  private static final long MAX_MANIFEST_BYTES = 4 << 20;
  private static final String BASES = "kiln/bases/";
  static final java.time.Duration ABANDONED_AFTER = java.time.Duration.ofHours(1);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, Object> DERIVING = new ConcurrentHashMap<>();

  private final Path root;
  private final ServerSocket server;
  private final ExecutorService threads;
  private final Map<String, Path> uploads = new ConcurrentHashMap<>();
  private volatile boolean closed;

  private LayoutRegistry(Path root, ServerSocket server, ExecutorService threads) {
    this.root = root;
    this.server = server;
    this.threads = threads;
  }

  /** Starts serving the layouts under {@code root} on a free loopback port. */
  static LayoutRegistry start(Path root) throws IOException {
    Path absolute = root.toAbsolutePath().normalize();
    Files.createDirectories(absolute);
    ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    ExecutorService threads =
        Executors.newCachedThreadPool(
            runnable -> {
              Thread thread = new Thread(runnable, "kiln-layout-registry");
              thread.setDaemon(true);
              return thread;
            });
    dropLeftoverUploads(absolute);
    LayoutRegistry registry = new LayoutRegistry(absolute, server, threads);
    threads.execute(registry::accept);
    return registry;
  }

  /** {@code 127.0.0.1:<port>}: the registry part of the image references jib pushes to. */
  String hostAndPort() {
    return "127.0.0.1:" + server.getLocalPort();
  }

  /**
   * The layout of repository {@code tenant/app}, or of a base image ({@code kiln/bases/<key>},
   * three parts, so no tenant's app can be named so), kept under {@code .bases/} (no tenant name
   * starts with a dot).
   */
  OciLayout layout(String repository) {
    if (repository.startsWith(BASES)) {
      return new OciLayout(root.resolve(".bases").resolve(repository.substring(BASES.length())));
    }
    return new OciLayout(root.resolve(repository));
  }

  /**
   * The base image in {@code dockerArchive} (a {@code docker save} tarball, as the offline runtimes
   * are), as an image of this registry that jib can build on: imported once per tarball (path, size
   * and modification time), then only named. Its layers stay stored as they are in the tarball, so
   * jib never extracts or compresses the base again; pushing an app's image mounts them into the
   * app's layout (a hard link) instead of copying 40 MB.
   *
   * @return {@code 127.0.0.1:<port>/kiln/bases/<key>@sha256:<manifest>}
   */
  String base(Path dockerArchive) throws IOException {
    String key = BaseImport.key(dockerArchive);
    OciLayout layout = layout(BASES + key);
    String manifest = layout.manifestOf("runtime");
    if (manifest == null) {
      manifest = BaseImport.importInto(dockerArchive, layout, "runtime");
      String source = dockerArchive.toRealPath().toString();
      Files.writeString(layout.directory().resolve("source"), source);
      dropEarlierImports(source, layout.directory());
    }
    return hostAndPort() + "/" + BASES + key + "@" + manifest;
  }

  /**
   * A rebuilt runtime tarball is imported under a new key; the imports of its earlier versions (the
   * base and its dependency variants) are no longer named by any build. Apps' images keep their own
   * hard links to those blobs, so removing the import frees only what nothing else holds.
   */
  private void dropEarlierImports(String source, Path current) {
    try (var imports = Files.list(root.resolve(".bases"))) {
      for (Path earlier : (Iterable<Path>) imports::iterator) {
        Path recorded = earlier.resolve("source");
        if (!earlier.equals(current)
            && !earlier.getFileName().toString().startsWith(".") // one being deleted already
            && Files.isRegularFile(recorded)
            && Files.readString(recorded).equals(source)) {
          Path doomed = earlier.resolveSibling("." + earlier.getFileName() + ".old");
          Files.move(earlier, doomed, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
          // Out of the build's way: the rename took it from view, the delete may take seconds.
          threads.execute(
              () -> {
                try {
                  dev.kiln.worker.fs.BackgroundDeleter.deleteTree(doomed);
                } catch (IOException | RuntimeException e) {
                  // Only disk space is at stake; a later import's cleanup finds it again.
                }
              });
        }
      }
    } catch (IOException | RuntimeException e) {
      // Only disk space is at stake; the new import is complete either way.
    }
  }

  /**
   * The base image of {@code dockerArchive} with the dependency layer {@code blob} on top, as an
   * image of this registry: made once per base and dependency set, then only named. The stored
   * layer tar is fetched once and rewritten into the image layer ({@link DependencyImageLayer}, no
   * compression), so jib never walks, hashes or compresses the dependency tree: it builds only the
   * launcher, app and report layers, and pushing mounts the dependency layer into the app's layout
   * like the base's own layers.
   *
   * @param notes receives a line for each entry left out of the layer
   * @return {@code 127.0.0.1:<port>/kiln/bases/<key>@sha256:<manifest>}
   * @throws IOException when the layer cannot be had or is not a usable layer tar
   */
  String baseWithDependencies(
      Path dockerArchive,
      Digest blob,
      LayerBlobSource blobs,
      String repository,
      Consumer<String> notes)
      throws IOException {
    base(dockerArchive);
    String key = BaseImport.key(dockerArchive);
    OciLayout layout = layout(BASES + key);
    String tag = "deps-" + blob.hex();
    String manifest = layout.manifestOf(tag);
    if (manifest == null) {
      synchronized (DERIVING.computeIfAbsent(layout.directory() + "\n" + tag, k -> new Object())) {
        manifest = layout.manifestOf(tag);
        if (manifest == null) {
          manifest = addDependencies(layout, blob, blobs, tag, notes);
        }
      }
    }
    // jib pulls a base layer the target lacks into its cache, decompressing it, which an
    // uncompressed layer cannot go through; a layer the target holds already it only names.
    OciLayout target = layout(repository);
    OciLayout.Manifest image = layout.manifest(manifest);
    if (image == null) {
      throw new IOException("the image " + manifest + " went missing from " + layout.directory());
    }
    for (JsonNode layer : JSON.readTree(image.bytes()).path("layers")) {
      String hex = layer.path("digest").asText("").replaceFirst("^sha256:", "");
      if (hex.matches("[0-9a-f]{64}")) {
        target.link(layout.blob(hex), hex);
      }
    }
    return hostAndPort() + "/" + BASES + key + "@" + manifest;
  }

  private static String addDependencies(
      OciLayout layout, Digest blob, LayerBlobSource blobs, String tag, Consumer<String> notes)
      throws IOException {
    Path directory = Files.createDirectories(layout.blob("x").getParent());
    Path stored = Files.createTempFile(directory, ".stored-", ".tmp");
    Path derived = Files.createTempFile(directory, ".deps-layer-", ".tmp");
    try {
      if (!blobs.download(blob, stored)) {
        throw new IOException(
            "the dependency layer "
                + blob
                + " is not in "
                + blobs
                + "; push again to reinstall the dependencies");
      }
      String hex;
      long size;
      if (DependencyImageLayer.isImageForm(stored)) {
        // The stored blob is the image's layer: kept as downloaded (its digest checked).
        hex = blob.hex();
        size = Files.size(stored);
        layout.keep(stored, hex);
      } else {
        DependencyImageLayer.Written layer = DependencyImageLayer.write(stored, derived);
        layer.skipped().forEach(notes);
        hex = layer.hex();
        size = layer.size();
        layout.keep(derived, hex);
      }
      return BaseImport.withLayer(
          layout,
          "runtime",
          hex,
          size,
          "kiln: dependency layer " + blob + " at " + ImageLayers.DEPENDENCIES_DIR,
          tag);
    } finally {
      Files.deleteIfExists(stored);
      Files.deleteIfExists(derived);
    }
  }

  /**
   * An upload jib started and never finished (its build failed or the worker stopped) is a hidden
   * file no image names: removed once nothing has written to it for {@link #ABANDONED_AFTER}.
   */
  private void dropAbandonedUploads() {
    long cutoff = System.currentTimeMillis() - ABANDONED_AFTER.toMillis();
    uploads
        .entrySet()
        .removeIf(
            upload -> {
              try {
                if (Files.getLastModifiedTime(upload.getValue()).toMillis() < cutoff) {
                  Files.deleteIfExists(upload.getValue());
                  return true;
                }
                return false;
              } catch (IOException e) {
                return !Files.exists(upload.getValue());
              }
            });
  }

  /**
   * Leftovers of a worker that stopped mid-upload: {@code <root>/<t>/<a>/blobs/sha256/.*.tmp} and
   * {@code <root>/.bases/<key>/blobs/sha256/.*.tmp}. Only directory names are read on the way down
   * and only hidden {@code .tmp} names are looked at, never every blob: a worker with thousands of
   * images starts as fast as one with none.
   */
  private static void dropLeftoverUploads(Path root) {
    long cutoff = System.currentTimeMillis() - ABANDONED_AFTER.toMillis();
    try (var owners = Files.newDirectoryStream(root, Files::isDirectory)) {
      for (Path owner : owners) {
        try (var layouts = Files.newDirectoryStream(owner, Files::isDirectory)) {
          for (Path layout : layouts) {
            Path blobs = layout.resolve("blobs").resolve("sha256");
            if (!Files.isDirectory(blobs)) {
              continue;
            }
            try (var leftovers = Files.newDirectoryStream(blobs, ".*.tmp")) {
              for (Path leftover : leftovers) {
                if (Files.getLastModifiedTime(leftover).toMillis() < cutoff) {
                  Files.deleteIfExists(leftover);
                }
              }
            }
          }
        }
      }
    } catch (IOException | java.io.UncheckedIOException e) {
      // Hidden leftovers only take space; serving images does not depend on removing them.
    }
  }

  @Override
  public void close() {
    closed = true;
    for (Path upload : uploads.values()) {
      try {
        Files.deleteIfExists(upload);
      } catch (IOException e) {
        // a hidden file no image names
      }
    }
    uploads.clear();
    try {
      server.close();
    } catch (IOException e) {
      // closing anyway
    }
    threads.shutdownNow();
  }

  private void accept() {
    while (!closed) {
      try {
        Socket socket = server.accept();
        threads.execute(() -> serve(socket));
      } catch (IOException e) {
        if (closed) {
          return;
        }
      } catch (java.util.concurrent.RejectedExecutionException e) {
        return;
      }
    }
  }

  /**
   * One connection, its requests in turn (jib keeps connections alive). jib tries HTTPS before it
   * falls back to plain HTTP; a TLS handshake (first byte 0x16) is closed at once so the fallback
   * is immediate instead of a read timeout.
   */
  private void serve(Socket socket) {
    try (socket;
        InputStream in = new BufferedInputStream(socket.getInputStream());
        OutputStream out = new BufferedOutputStream(socket.getOutputStream())) {
      socket.setSoTimeout(60_000);
      in.mark(1);
      if (in.read() == 0x16) {
        return;
      }
      in.reset();
      Exchange exchange;
      while ((exchange = Exchange.read(in, out)) != null) {
        handle(exchange);
        out.flush();
        if (!exchange.keepAlive()) {
          return;
        }
      }
    } catch (IOException e) {
      // the client went away; its upload (if any) is never finished
    }
  }

  private void handle(Exchange exchange) throws IOException {
    try {
      String method = exchange.method();
      URI uri = exchange.uri();
      String path = uri.getPath();
      String query = uri.getRawQuery() == null ? "" : uri.getRawQuery();
      Matcher m;
      if (path.equals("/v2/")) {
        respond(exchange, 200, "{}");
      } else if ((m = BLOB.matcher(path)).matches()) {
        blob(exchange, method, layout(m.group(1)), m.group(2).substring(7));
      } else if ((m = UPLOADS.matcher(path)).matches() && method.equals("POST")) {
        startUpload(exchange, m.group(1), query);
      } else if ((m = UPLOAD.matcher(path)).matches()) {
        continueUpload(exchange, method, m.group(1), m.group(2), query);
      } else if ((m = MANIFEST.matcher(path)).matches()) {
        manifest(exchange, method, layout(m.group(1)), m.group(2));
      } else {
        respond(
            exchange,
            404,
            "{\"errors\":[{\"code\":\"UNSUPPORTED\",\"message\":\"not served here\"}]}");
      }
    } catch (IOException | RuntimeException e) {
      if (exchange.sent()) {
        // The answer is under way: a second one would corrupt the connection, so close it.
        throw e instanceof IOException io ? io : new IOException(e);
      }
      respond(
          exchange,
          500,
          "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\""
              + e.getClass().getSimpleName()
              + "\"}]}");
    }
  }

  private void blob(Exchange exchange, String method, OciLayout layout, String hex)
      throws IOException {
    Path blob = layout.blob(hex);
    if (!Files.isRegularFile(blob)) {
      respond(
          exchange, 404, "{\"errors\":[{\"code\":\"BLOB_UNKNOWN\",\"message\":\"blob unknown\"}]}");
      return;
    }
    exchange.header("Docker-Content-Digest", "sha256:" + hex);
    exchange.header("Content-Type", "application/octet-stream");
    long size = Files.size(blob);
    if (method.equals("HEAD")) {
      exchange.header("Content-Length", Long.toString(size));
      exchange.send(200, -1);
      return;
    }
    exchange.send(200, size);
    Files.copy(blob, exchange.responseBody());
  }

  private void startUpload(Exchange exchange, String repository, String query) throws IOException {
    Matcher mount = MOUNT_PARAMETER.matcher(query);
    Matcher from = FROM_PARAMETER.matcher(query);
    if (mount.find()
        && from.find()
        && !Files.isRegularFile(layout(repository).blob(mount.group(1)))) {
      Path source = layout(from.group(1).replace("%2F", "/")).blob(mount.group(1));
      if (Files.isRegularFile(source)) {
        layout(repository).link(source, mount.group(1));
      }
    }
    if (mount.reset().find() && Files.isRegularFile(layout(repository).blob(mount.group(1)))) {
      exchange.header("Location", "/v2/" + repository + "/blobs/sha256:" + mount.group(1));
      exchange.header("Docker-Content-Digest", "sha256:" + mount.group(1));
      exchange.send(201, 0);
      return;
    }
    Path directory = Files.createDirectories(layout(repository).blob("x").getParent());
    dropAbandonedUploads();
    String id = UUID.randomUUID().toString();
    uploads.put(id, Files.createTempFile(directory, ".upload-", ".tmp"));
    Matcher digest = DIGEST_PARAMETER.matcher(query);
    if (digest.find()) { // a monolithic upload: the body is the blob
      finish(exchange, repository, id, digest.group(1));
      return;
    }
    accepted(exchange, repository, id, 0);
  }

  private void continueUpload(
      Exchange exchange, String method, String repository, String id, String query)
      throws IOException {
    Path upload = uploads.get(id);
    if (upload == null) {
      respond(
          exchange,
          404,
          "{\"errors\":[{\"code\":\"BLOB_UPLOAD_UNKNOWN\",\"message\":\"upload unknown\"}]}");
      return;
    }
    if (method.equals("PATCH")) {
      append(exchange, upload);
      accepted(exchange, repository, id, Files.size(upload));
    } else if (method.equals("PUT")) {
      Matcher digest = DIGEST_PARAMETER.matcher(query);
      if (!digest.find()) {
        respond(
            exchange,
            400,
            "{\"errors\":[{\"code\":\"DIGEST_INVALID\",\"message\":\"no digest\"}]}");
        return;
      }
      finish(exchange, repository, id, digest.group(1));
    } else {
      respond(exchange, 405, "{}");
    }
  }

  private void finish(Exchange exchange, String repository, String id, String hex)
      throws IOException {
    Path upload = uploads.remove(id);
    try {
      append(exchange, upload);
      if (!sha256(upload).equals(hex)) {
        respond(
            exchange,
            400,
            "{\"errors\":[{\"code\":\"DIGEST_INVALID\",\"message\":\"digest mismatch\"}]}");
        return;
      }
      layout(repository).keep(upload, hex);
      exchange.header("Location", "/v2/" + repository + "/blobs/sha256:" + hex);
      exchange.header("Docker-Content-Digest", "sha256:" + hex);
      exchange.send(201, 0);
    } finally {
      Files.deleteIfExists(upload);
    }
  }

  private void manifest(Exchange exchange, String method, OciLayout layout, String reference)
      throws IOException {
    if (method.equals("PUT")) {
      byte[] body = exchange.body().readNBytes((int) MAX_MANIFEST_BYTES + 1);
      if (body.length > MAX_MANIFEST_BYTES) {
        respond(exchange, 413, "{}");
        return;
      }
      String mediaType = exchange.requestHeader("content-type");
      String digest =
          layout.putManifest(uncompressedLayersNamed(layout, body), mediaType, reference);
      exchange.header("Docker-Content-Digest", digest);
      exchange.header("Location", exchange.uri().getPath());
      exchange.send(201, 0);
      return;
    }
    OciLayout.Manifest manifest = layout.manifest(reference);
    if (manifest == null) {
      respond(
          exchange,
          404,
          "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}");
      return;
    }
    exchange.header("Docker-Content-Digest", manifest.digest());
    exchange.header("Content-Type", manifest.mediaType());
    if (method.equals("HEAD")) {
      exchange.header("Content-Length", Integer.toString(manifest.bytes().length));
      exchange.send(200, -1);
      return;
    }
    exchange.send(200, manifest.bytes().length);
    exchange.responseBody().write(manifest.bytes());
  }

  /**
   * jib names every layer of the manifests it pushes gzip-compressed, as every layer it makes is; a
   * base layer it did not make (the dependency layer, stored uncompressed) keeps jib's label unless
   * corrected here, against the blob itself. The corrected manifest has another digest, which the
   * response gives and {@link ImageTarget} reports instead of jib's.
   */
  static byte[] uncompressedLayersNamed(OciLayout layout, byte[] manifest) throws IOException {
    JsonNode tree;
    try {
      tree = JSON.readTree(manifest);
    } catch (IOException e) {
      return manifest; // stored as sent; nothing reads it as an image
    }
    boolean changed = false;
    for (JsonNode layer : tree.path("layers")) {
      String digest = layer.path("digest").asText("");
      if (!(layer instanceof ObjectNode descriptor)
          || !BaseImport.GZIP_LAYER.equals(layer.path("mediaType").asText())
          || !digest.matches("sha256:[0-9a-f]{64}")) {
        continue;
      }
      Path blob = layout.blob(digest.substring("sha256:".length()));
      if (Files.isRegularFile(blob) && !isGzip(blob)) {
        descriptor.put("mediaType", BaseImport.UNCOMPRESSED_LAYER);
        changed = true;
      }
    }
    return changed ? JSON.writeValueAsBytes(tree) : manifest;
  }

  private static boolean isGzip(Path blob) throws IOException {
    try (InputStream in = Files.newInputStream(blob)) {
      return in.read() == 0x1f && in.read() == 0x8b;
    }
  }

  private static void append(Exchange exchange, Path upload) throws IOException {
    try (OutputStream out = Files.newOutputStream(upload, StandardOpenOption.APPEND)) {
      exchange.body().transferTo(out);
    }
  }

  private static void accepted(Exchange exchange, String repository, String id, long size)
      throws IOException {
    exchange.header("Location", "/v2/" + repository + "/blobs/uploads/" + id);
    exchange.header("Docker-Upload-UUID", id);
    exchange.header("Range", "0-" + Math.max(0, size - 1));
    exchange.send(202, 0);
  }

  private static void respond(Exchange exchange, int status, String json) throws IOException {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    exchange.header("Content-Type", "application/json");
    exchange.send(status, body.length);
    exchange.responseBody().write(body);
  }

  private static String sha256(Path file) throws IOException {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), digest)) {
      in.transferTo(OutputStream.nullOutputStream());
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  /** One HTTP/1.1 request and its response, as much of the protocol as jib's client uses. */
  static final class Exchange {
    private static final int MAX_HEADER_BYTES = 64 << 10;
    private final String method;
    private final URI uri;
    private final Map<String, String> headers;
    private final InputStream body;
    private final OutputStream out;
    private final Map<String, String> responseHeaders = new java.util.LinkedHashMap<>();
    private boolean sent;

    private Exchange(
        String method, URI uri, Map<String, String> headers, InputStream body, OutputStream out) {
      this.method = method;
      this.uri = uri;
      this.headers = headers;
      this.body = body;
      this.out = out;
    }

    /** The next request on the connection, or null at its end. */
    static Exchange read(InputStream in, OutputStream out) throws IOException {
      String requestLine = line(in);
      while (requestLine != null && requestLine.isEmpty()) {
        requestLine = line(in);
      }
      if (requestLine == null) {
        return null;
      }
      String[] parts = requestLine.split(" ");
      if (parts.length != 3) {
        throw new IOException("not an HTTP request line");
      }
      Map<String, String> headers = new java.util.HashMap<>();
      int total = 0;
      for (String header; (header = line(in)) != null && !header.isEmpty(); ) {
        total += header.length();
        if (total > MAX_HEADER_BYTES) {
          throw new IOException("headers too large");
        }
        int colon = header.indexOf(':');
        if (colon > 0) {
          headers.put(
              header.substring(0, colon).strip().toLowerCase(java.util.Locale.ROOT),
              header.substring(colon + 1).strip());
        }
      }
      InputStream body;
      if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
        body = new Chunked(in);
      } else {
        long length = Long.parseLong(headers.getOrDefault("content-length", "0"));
        body = new Bounded(in, length);
      }
      URI uri;
      try {
        uri = new URI(parts[1]);
      } catch (java.net.URISyntaxException e) {
        throw new IOException("bad request target", e);
      }
      return new Exchange(parts[0], uri, headers, body, out);
    }

    String method() {
      return method;
    }

    URI uri() {
      return uri;
    }

    String requestHeader(String lowerCaseName) {
      return headers.get(lowerCaseName);
    }

    InputStream body() {
      return body;
    }

    /** Whether the status line and headers are out already. */
    boolean sent() {
      return sent;
    }

    boolean keepAlive() {
      return !"close".equalsIgnoreCase(headers.get("connection"));
    }

    void header(String name, String value) {
      responseHeaders.put(name, value);
    }

    /** Sends status and headers; {@code length} -1 for a HEAD answer (its headers set already). */
    void send(int status, long length) throws IOException {
      drainBody();
      StringBuilder head = new StringBuilder("HTTP/1.1 ").append(status).append(" X\r\n");
      if (length >= 0) {
        responseHeaders.put("Content-Length", Long.toString(length));
      }
      responseHeaders.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
      head.append("\r\n");
      out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
      sent = true;
    }

    OutputStream responseBody() {
      return out;
    }

    /** Reads what the handler left of the request body, so the next request starts cleanly. */
    void drainBody() throws IOException {
      body.transferTo(OutputStream.nullOutputStream());
    }

    private static String line(InputStream in) throws IOException {
      StringBuilder line = new StringBuilder();
      for (int c; (c = in.read()) != -1; ) {
        if (c == '\n') {
          int end = line.length();
          return end > 0 && line.charAt(end - 1) == '\r'
              ? line.substring(0, end - 1)
              : line.toString();
        }
        if (line.length() > MAX_HEADER_BYTES) {
          throw new IOException("line too long");
        }
        line.append((char) c);
      }
      return line.length() == 0 ? null : line.toString();
    }
  }

  /** A body of a known length. */
  private static final class Bounded extends InputStream {
    private final InputStream in;
    private long left;

    Bounded(InputStream in, long length) {
      this.in = in;
      this.left = length;
    }

    @Override
    public int read() throws IOException {
      if (left <= 0) {
        return -1;
      }
      int b = in.read();
      if (b >= 0) {
        left--;
      }
      return b;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
      if (left <= 0) {
        return -1;
      }
      int n = in.read(buffer, offset, (int) Math.min(length, left));
      if (n > 0) {
        left -= n;
      }
      return n;
    }

    @Override
    public void close() {}
  }

  /** A chunked body. */
  private static final class Chunked extends InputStream {
    private final InputStream in;
    private long left;
    private boolean done;

    Chunked(InputStream in) {
      this.in = in;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
      if (done) {
        return -1;
      }
      if (left == 0) {
        String size = Exchange.line(in);
        if (size == null) {
          throw new IOException("chunked body ended early");
        }
        int semicolon = size.indexOf(';');
        left = Long.parseLong((semicolon < 0 ? size : size.substring(0, semicolon)).strip(), 16);
        if (left == 0) {
          for (String trailer; (trailer = Exchange.line(in)) != null && !trailer.isEmpty(); ) {
            // trailers are ignored
          }
          done = true;
          return -1;
        }
      }
      int n = in.read(buffer, offset, (int) Math.min(length, left));
      if (n < 0) {
        throw new IOException("chunked body ended early");
      }
      left -= n;
      if (left == 0) {
        Exchange.line(in); // the CRLF after the chunk
      }
      return n;
    }

    @Override
    public void close() {}
  }
}
