package dev.kiln.cache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.events.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cache-service that accepts connections and never answers must not hang a worker thread: every
 * call ends in {@link CacheServiceClientException} naming the URL and the timeout that ran out.
 */
@Timeout(60) // without client timeouts these calls hang: fail instead of blocking the build
class CacheServiceClientTimeoutTest {
  private static final CacheServiceClient.Timeouts SMALL =
      CacheServiceClient.Timeouts.defaults()
          .withConnect(Duration.ofSeconds(5))
          .withRequest(Duration.ofMillis(300))
          .withTransferStall(Duration.ofMillis(300));

  @TempDir Path dir;
  private final List<AutoCloseable> open = new CopyOnWriteArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
  }

  /** A server on 127.0.0.1 running {@code conversation} on every accepted socket. */
  private String server(Consumer<Socket> conversation) throws IOException {
    ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    open.add(server);
    Thread acceptor =
        new Thread(
            () -> {
              while (!server.isClosed()) {
                try {
                  Socket socket = server.accept();
                  open.add(socket);
                  Thread t = new Thread(() -> conversation.accept(socket));
                  t.setDaemon(true);
                  t.start();
                } catch (IOException closed) {
                  return;
                }
              }
            });
    acceptor.setDaemon(true);
    acceptor.start();
    return "http://127.0.0.1:" + server.getLocalPort();
  }

  /** Accepts and never reads or writes a byte. */
  private String silentServer() throws IOException {
    return server(socket -> {});
  }

  @Test
  void metadataCallsTimeOutNamingTheUrlAndTheTimeout() throws Exception {
    String url = silentServer();
    CacheServiceClient client = new CacheServiceClient(url, null, SMALL);
    String key = "a".repeat(64);

    assertThatThrownBy(() -> client.getAction(key))
        .isInstanceOf(CacheServiceClientException.class)
        .hasMessageContaining(url + "/ac/" + key)
        .hasMessageContaining("300 ms")
        .hasMessageContaining("request timeout");
    assertThatThrownBy(() -> client.hasBlob(Digest.ofHex("b".repeat(64))))
        .isInstanceOf(CacheServiceClientException.class)
        .hasMessageContaining(url + "/cas/")
        .hasMessageContaining("request timeout");
    assertThatThrownBy(() -> client.putAction(key, "{}"))
        .isInstanceOf(CacheServiceClientException.class)
        .hasMessageContaining("request timeout");
    assertThatThrownBy(() -> client.projectFiles("demo"))
        .isInstanceOf(CacheServiceClientException.class)
        .hasMessageContaining(url + "/simple/demo/")
        .hasMessageContaining("request timeout");
  }

  @Test
  void blobTransfersFailOnceNoByteMoves() throws Exception {
    String url = silentServer();
    CacheServiceClient client = new CacheServiceClient(url, null, SMALL).forTenant("acme");
    Path file = Files.writeString(dir.resolve("layer.tar"), "layer content");
    Digest digest = Digest.compute(file);
    Path dest = dir.resolve("out/copy.tar");

    assertThatThrownBy(() -> client.getBlob(digest, dest))
        .isInstanceOf(CacheServiceClientException.class)
        .hasMessageContaining(url + "/cas/" + digest.hex())
        .hasMessageContaining("300 ms")
        .hasMessageContaining("transfer-stall timeout");
    assertThatThrownBy(() -> client.putBlob(file))
        .isInstanceOf(CacheServiceClientException.class)
        .hasMessageContaining(url + "/cas/" + digest.hex())
        .hasMessageContaining("transfer-stall timeout");
    assertThat(dest).doesNotExist();
    try (var left = Files.list(dir.resolve("out"))) {
      assertThat(left).isEmpty(); // no temp file left behind
    }
  }

  @Test
  void aDownloadThatStopsHalfwayTimesOut() throws Exception {
    String url =
        server(
            socket -> {
              try {
                readRequestHead(socket.getInputStream());
                OutputStream out = socket.getOutputStream();
                out.write(
                    ("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + "x".repeat(10))
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush(); // ... and the other 990 bytes never come
              } catch (IOException ignored) {
                // the client gave up
              }
            });
    CacheServiceClient client = new CacheServiceClient(url, null, SMALL);

    assertThatThrownBy(() -> client.getBlob(Digest.ofHex("c".repeat(64)), dir.resolve("x.tar")))
        .isInstanceOf(CacheServiceClientException.class)
        .hasMessageContaining("transfer-stall timeout");
    assertThat(dir.resolve("x.tar")).doesNotExist();
  }

  @Test
  void aSlowDownloadThatKeepsMovingIsNotCutOff() throws Exception {
    // Longer in total than the stall timeout, but never silent for that long.
    byte[] body = "y".repeat(20).getBytes(StandardCharsets.US_ASCII);
    String url =
        server(
            socket -> {
              try {
                readRequestHead(socket.getInputStream());
                OutputStream out = socket.getOutputStream();
                out.write(
                    ("HTTP/1.1 200 OK\r\nContent-Length: " + body.length + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                for (byte b : body) {
                  out.write(b);
                  out.flush();
                  Thread.sleep(50);
                }
              } catch (IOException | InterruptedException ignored) {
                // the client gave up
              }
            });
    Path source = Files.write(dir.resolve("source"), body);
    CacheServiceClient client = new CacheServiceClient(url, null, SMALL);

    Path dest = dir.resolve("slow.tar");
    assertThat(client.getBlob(Digest.compute(source), dest)).contains(dest);
    assertThat(Files.readAllBytes(dest)).isEqualTo(body);
  }

  private static void readRequestHead(InputStream in) throws IOException {
    int matched = 0;
    byte[] end = "\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    int b;
    while (matched < end.length && (b = in.read()) >= 0) {
      matched = b == end[matched] ? matched + 1 : (b == end[0] ? 1 : 0);
    }
  }
}
