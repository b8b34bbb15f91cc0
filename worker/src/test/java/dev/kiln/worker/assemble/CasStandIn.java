package dev.kiln.worker.assemble;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.kiln.events.Digest;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A corrupt cache-service: a real HTTP server on a free loopback port that answers {@code GET
 * /cas/{sha256}} with whatever bytes it was given for that digest. The real cache-service verifies
 * every blob it stores, so it cannot be made to serve a wrong one; this stand-in exists only to
 * show that the worker verifies what it downloads.
 */
final class CasStandIn implements AutoCloseable {
  private final HttpServer server;
  private final Map<String, byte[]> blobs = new ConcurrentHashMap<>();

  private CasStandIn(HttpServer server) {
    this.server = server;
  }

  static CasStandIn start() throws IOException {
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    CasStandIn cas = new CasStandIn(server);
    server.createContext("/cas/", cas::handle);
    server.start();
    return cas;
  }

  /** Serves {@code bytes} under {@code digest}, whatever their hash. */
  void serve(Digest digest, byte[] bytes) {
    blobs.put(digest.hex(), bytes);
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      byte[] blob = blobs.get(exchange.getRequestURI().getPath().substring("/cas/".length()));
      if (blob == null) {
        exchange.sendResponseHeaders(404, -1);
        return;
      }
      exchange.sendResponseHeaders(200, blob.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(blob);
      }
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
