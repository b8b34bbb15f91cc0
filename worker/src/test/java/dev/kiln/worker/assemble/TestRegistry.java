package dev.kiln.worker.assemble;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A real registry (Debian's {@code docker-registry}, the CNCF distribution registry) on a free
 * loopback port, with its storage in a temporary directory.
 */
final class TestRegistry implements AutoCloseable {
  static final Path BINARY = Path.of("/usr/bin/docker-registry");

  private final Process process;
  private final String hostAndPort;

  private TestRegistry(Process process, String hostAndPort) {
    this.process = process;
    this.hostAndPort = hostAndPort;
  }

  static TestRegistry start(Path directory) throws IOException {
    IOException last = null;
    // The port is free when chosen but could be taken before the registry binds it.
    for (int attempt = 0; attempt < 3; attempt++) {
      int port = freePort();
      Path config = directory.resolve("config-" + port + ".yml");
      Files.createDirectories(directory.resolve("storage"));
      Files.writeString(config, String.join("\n",
          "version: 0.1",
          "log:",
          "  level: error",
          "  accesslog:",
          "    disabled: true",
          "storage:",
          "  filesystem:",
          "    rootdirectory: " + directory.resolve("storage"),
          "  delete:",
          "    enabled: true",
          "http:",
          "  addr: 127.0.0.1:" + port,
          ""));
      Process process = new ProcessBuilder(BINARY.toString(), "serve", config.toString())
          .redirectErrorStream(true)
          .redirectOutput(directory.resolve("registry-" + port + ".log").toFile())
          .start();
      String hostAndPort = "127.0.0.1:" + port;
      try {
        await().atMost(Duration.ofSeconds(30)).until(() -> !process.isAlive() || answers(hostAndPort));
      } catch (RuntimeException e) {
        process.destroyForcibly();
        throw e;
      }
      if (process.isAlive()) {
        return new TestRegistry(process, hostAndPort);
      }
      last = new IOException("docker-registry exited at start: "
          + Files.readString(directory.resolve("registry-" + port + ".log")));
    }
    throw last;
  }

  private static boolean answers(String hostAndPort) {
    try {
      HttpResponse<Void> response = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://" + hostAndPort + "/v2/")).build(),
          HttpResponse.BodyHandlers.discarding());
      return response.statusCode() == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  String hostAndPort() {
    return hostAndPort;
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
