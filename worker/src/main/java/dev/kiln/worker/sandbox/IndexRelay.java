package dev.kiln.worker.sandbox;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * The sandbox's only way out: a Unix socket, bound into the sandbox, that passes read-only requests
 * for the package index to the cache-service and refuses everything else. The sandbox has no
 * network interface but its own loopback; a small relay inside it listens there and forwards each
 * connection to this socket. So a build step can {@code pip install} from the index, and cannot
 * reach any other address, write to the store ({@code PUT /cas/}, {@code PUT /ac/}) or read blobs
 * by digest ({@code /cas/}).
 *
 * <p>One request per connection: the forwarded request says {@code Connection: close}, so the
 * answer ends when the cache-service closes, and nothing the client sends after its request head is
 * forwarded.
 */
final class IndexRelay implements AutoCloseable {
  /** What a build step may read. */
  static final List<String> ALLOWED_PREFIXES = List.of("/simple/", "/files/", "/nltk/");

  private static final int MAX_HEAD_BYTES = 16 * 1024;
  private static final int CONNECT_TIMEOUT_MILLIS = 10_000;
  private static final Pattern REQUEST_LINE = Pattern.compile("(GET|HEAD) (/[!-~]*) HTTP/1\\.[01]");
  private static final List<String> DROPPED_HEADERS =
      List.of(
          "host",
          "connection",
          "keep-alive",
          "proxy-connection",
          "proxy-authorization",
          "upgrade",
          "te",
          "transfer-encoding",
          "content-length",
          "expect",
          "authorization",
          "cookie");

  private final ServerSocketChannel server;
  private final Path socket;
  private final URI target;
  private final IndexAccess access;
  private final Consumer<String> refusals;
  private final ExecutorService connections;
  private final AtomicInteger refused = new AtomicInteger();
  private final Thread acceptor;

  private IndexRelay(
      ServerSocketChannel server, Path socket, IndexAccess access, Consumer<String> refusals) {
    this.server = server;
    this.socket = socket;
    this.access = access;
    this.target = access.cacheService();
    this.refusals = refusals;
    AtomicInteger count = new AtomicInteger();
    this.connections =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "kiln-index-relay-" + count.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    this.acceptor = new Thread(this::acceptLoop, "kiln-index-relay");
    this.acceptor.setDaemon(true);
  }

  /**
   * Listens on {@code socket} (created with mode 0666, so the sandbox user can connect) and relays
   * to {@code cacheService} ({@code http://host:port}). Refused requests are reported to {@code
   * refusals} (one line each) for the build log.
   */
  static IndexRelay start(Path socket, IndexAccess access, Consumer<String> refusals)
      throws IOException {
    URI cacheService = Objects.requireNonNull(access, "access").cacheService();
    if (!"http".equalsIgnoreCase(cacheService.getScheme()) || cacheService.getHost() == null) {
      throw new IOException(
          "the sandbox can only relay to an http:// cache-service, not " + cacheService);
    }
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    try {
      server.bind(UnixDomainSocketAddress.of(socket));
      Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
    } catch (IOException e) {
      server.close();
      throw e;
    }
    IndexRelay relay = new IndexRelay(server, socket, access, refusals);
    relay.acceptor.start();
    return relay;
  }

  /** How many requests were refused so far. */
  int refusedRequests() {
    return refused.get();
  }

  private void acceptLoop() {
    while (server.isOpen()) {
      try {
        SocketChannel client = server.accept();
        connections.execute(() -> serve(client));
      } catch (IOException closed) {
        return;
      }
    }
  }

  private void serve(SocketChannel channel) {
    try (channel;
        InputStream in = Channels.newInputStream(channel);
        OutputStream out = Channels.newOutputStream(channel)) {
      byte[] head = readHead(in);
      if (head == null) {
        refuse(out, 400, "the request head was missing, longer than 16 KiB or malformed");
        return;
      }
      List<String> lines = List.of(new String(head, StandardCharsets.ISO_8859_1).split("\r\n"));
      String requestLine = lines.get(0);
      String problem = problem(requestLine, lines, access.tenantPrefix());
      if (problem != null) {
        refuse(out, 403, problem);
        return;
      }
      forward(lines, out);
    } catch (IOException e) {
      // The client or the cache-service went away; that connection is simply over.
    }
  }

  /**
   * Why a request may not pass, or null when it may.
   *
   * @param tenantPrefix {@code /tenants/<tenant>/} of the build's tenant, whose own private indexes
   *     and files the build may read too; null for none
   */
  static String problem(String requestLine, List<String> lines, String tenantPrefix) {
    var matcher = REQUEST_LINE.matcher(requestLine);
    String shown = requestLine.length() > 200 ? requestLine.substring(0, 200) + "…" : requestLine;
    if (!matcher.matches()) {
      return "only GET and HEAD of the package index are allowed, not '" + shown + "'";
    }
    String path = matcher.group(2);
    String decoded = path.toLowerCase(Locale.ROOT);
    boolean ownIndex =
        tenantPrefix != null
            && (path.startsWith(tenantPrefix + "indexes/")
                || path.startsWith(tenantPrefix + "files/"));
    if (!ownIndex && ALLOWED_PREFIXES.stream().noneMatch(path::startsWith)
        || decoded.contains("/../")
        || decoded.endsWith("/..")
        || decoded.contains("%2e")
        || decoded.contains("%2f")
        || decoded.contains("\\")) {
      return "'"
          + shown
          + "' is not part of the package index ("
          + String.join(", ", ALLOWED_PREFIXES)
          + ")";
    }
    for (String line : lines.subList(1, lines.size())) {
      String lower = line.toLowerCase(Locale.ROOT);
      if (lower.startsWith("content-length:") && !lower.replace(" ", "").equals("content-length:0")
          || lower.startsWith("transfer-encoding:")) {
        return "requests to the package index carry no body";
      }
    }
    return null;
  }

  private void forward(List<String> lines, OutputStream client) throws IOException {
    StringBuilder request = new StringBuilder(lines.get(0)).append("\r\n");
    request.append("Host: ").append(target.getHost());
    if (target.getPort() > 0) {
      request.append(':').append(target.getPort());
    }
    request.append("\r\n");
    for (String line : lines.subList(1, lines.size())) {
      int colon = line.indexOf(':');
      if (colon <= 0) {
        continue;
      }
      String name = line.substring(0, colon).strip().toLowerCase(Locale.ROOT);
      if (!DROPPED_HEADERS.contains(name)
          && !name.startsWith("proxy-")
          && !name.startsWith("x-kiln-")) {
        request.append(line).append("\r\n");
      }
    }
    // The relay, not the sandbox, says who is asking: the farm credential and the build's tenant.
    if (access.farmToken() != null) {
      request.append("Authorization: Bearer ").append(access.farmToken()).append("\r\n");
    }
    if (access.tenant() != null) {
      request.append("X-Kiln-Tenant: ").append(access.tenant()).append("\r\n");
    }
    request.append("Connection: close\r\n\r\n");
    try (Socket upstream = new Socket()) {
      try {
        upstream.connect(
            new InetSocketAddress(target.getHost(), target.getPort() > 0 ? target.getPort() : 80),
            CONNECT_TIMEOUT_MILLIS);
      } catch (IOException e) {
        refuse(
            client,
            502,
            "the cache-service at " + target + " could not be reached: " + e.getMessage());
        return;
      }
      upstream.getOutputStream().write(request.toString().getBytes(StandardCharsets.ISO_8859_1));
      upstream.getOutputStream().flush();
      upstream.getInputStream().transferTo(client);
    }
  }

  /** The request head without the blank line, or null when there is none within the limit. */
  private static byte[] readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    byte[] end = {'\r', '\n', '\r', '\n'};
    while (head.size() < MAX_HEAD_BYTES) {
      int b = in.read();
      if (b < 0) {
        return null;
      }
      head.write(b);
      matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
      if (matched == end.length) {
        byte[] bytes = head.toByteArray();
        return java.util.Arrays.copyOf(bytes, bytes.length - end.length);
      }
    }
    return null;
  }

  private void refuse(OutputStream out, int status, String reason) throws IOException {
    refused.incrementAndGet();
    refusals.accept("Refused a request from the build sandbox: " + reason);
    String body =
        "Kiln's build sandbox can only read the package index (GET "
            + String.join(", ", ALLOWED_PREFIXES)
            + "): "
            + reason
            + "\n";
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    String reasonPhrase =
        status == 400 ? "Bad Request" : status == 403 ? "Forbidden" : "Bad Gateway";
    String response =
        "HTTP/1.1 "
            + status
            + " "
            + reasonPhrase
            + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "
            + bytes.length
            + "\r\nConnection: close\r\n\r\n";
    out.write(response.getBytes(StandardCharsets.ISO_8859_1));
    out.write(bytes);
    out.flush();
  }

  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException e) {
      // Closing is best effort; the socket file goes below either way.
    }
    connections.shutdownNow();
    try {
      Files.deleteIfExists(socket);
    } catch (IOException e) {
      // The run directory is removed as a whole afterwards.
    }
  }
}
