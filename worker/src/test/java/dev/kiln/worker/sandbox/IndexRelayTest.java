package dev.kiln.worker.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The relay speaks for the sandbox: with the farm credential and the build's tenant, only. */
class IndexRelayTest {
  private static final String FARM_TOKEN = "kiln_farm_relay-test-token";

  @TempDir Path temp;
  private HttpServer upstream;
  private final Map<String, String> seen = new ConcurrentHashMap<>();
  private IndexRelay relay;
  private final List<String> refusals = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    upstream = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    upstream.createContext(
        "/",
        exchange -> {
          seen.put("path", exchange.getRequestURI().getPath());
          seen.put(
              "authorization", String.valueOf(exchange.getRequestHeaders().get("Authorization")));
          seen.put("tenant", String.valueOf(exchange.getRequestHeaders().get("X-Kiln-Tenant")));
          byte[] body = "ok".getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    upstream.start();
    relay =
        IndexRelay.start(
            temp.resolve("index.sock"),
            new IndexAccess(
                URI.create("http://127.0.0.1:" + upstream.getAddress().getPort()),
                FARM_TOKEN,
                "acme"),
            refusals::add);
  }

  @AfterEach
  void stop() throws Exception {
    relay.close();
    upstream.stop(0);
  }

  @Test
  void theRelayAddsTheFarmCredentialAndTheBuildsTenant() throws Exception {
    String answer = request("GET /simple/flask/ HTTP/1.1\r\nHost: x\r\n\r\n");

    assertThat(answer).startsWith("HTTP/1.1 200");
    assertThat(seen.get("authorization")).isEqualTo("[Bearer " + FARM_TOKEN + "]");
    assertThat(seen.get("tenant")).isEqualTo("[acme]");
  }

  @Test
  void aSandboxCannotClaimToBeAnotherTenantOrBringItsOwnCredential() throws Exception {
    String answer =
        request(
            "GET /simple/flask/ HTTP/1.1\r\nHost: x\r\nX-Kiln-Tenant: globex\r\n"
                + "Authorization: Bearer stolen\r\nx-kiln-scope: public\r\n\r\n");

    assertThat(answer).startsWith("HTTP/1.1 200");
    assertThat(seen.get("tenant")).isEqualTo("[acme]");
    assertThat(seen.get("authorization")).isEqualTo("[Bearer " + FARM_TOKEN + "]");
  }

  @Test
  void aSandboxCanReadItsOwnTenantsPrivateIndexButNotAnothers() throws Exception {
    assertThat(request("GET /tenants/acme/indexes/private/simple/lib/ HTTP/1.1\r\n\r\n"))
        .startsWith("HTTP/1.1 200");

    String other = request("GET /tenants/globex/indexes/private/simple/lib/ HTTP/1.1\r\n\r\n");
    String escape =
        request("GET /tenants/acme/indexes/../../globex/files/x/y.whl HTTP/1.1\r\n\r\n");
    String store = request("GET /tenants/acme/cas/" + "a".repeat(64) + " HTTP/1.1\r\n\r\n");

    assertThat(other).startsWith("HTTP/1.1 403");
    assertThat(escape).startsWith("HTTP/1.1 403");
    assertThat(store).startsWith("HTTP/1.1 403");
    assertThat(seen.get("path")).isEqualTo("/tenants/acme/indexes/private/simple/lib/");
  }

  @Test
  void theFarmTokenIsNeverInTheAccessDescription() {
    assertThat(new IndexAccess(URI.create("http://127.0.0.1:1"), FARM_TOKEN, "acme").toString())
        .doesNotContain(FARM_TOKEN);
  }

  private String request(String head) throws Exception {
    try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      channel.connect(UnixDomainSocketAddress.of(temp.resolve("index.sock")));
      channel.write(ByteBuffer.wrap(head.getBytes(StandardCharsets.ISO_8859_1)));
      ByteArrayOutputStream answer = new ByteArrayOutputStream();
      try (InputStream in = Channels.newInputStream(channel)) {
        in.transferTo(answer);
      }
      return answer.toString(StandardCharsets.ISO_8859_1);
    }
  }
}
