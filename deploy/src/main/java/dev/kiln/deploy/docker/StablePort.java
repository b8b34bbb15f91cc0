package dev.kiln.deploy.docker;

import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An app's stable local port: a TCP proxy on 127.0.0.1 that pipes each connection to the port of
 * the container serving the app. The backend is swapped atomically: a connection goes to the
 * backend that was current when it arrived and stays there until it closes, so a switch to a new
 * container cuts nothing that is in flight and new connections never wait.
 */
final class StablePort {
  private final NetServer server;
  private final NetClient client;
  private final Map<Integer, AtomicInteger> open = new ConcurrentHashMap<>();
  private volatile int backend;

  private StablePort(NetServer server, NetClient client, int backend) {
    this.server = server;
    this.client = client;
    this.backend = backend;
  }

  /**
   * Listens on the first port of {@code first..last} that is free (0..0: any free port) and
   * forwards to {@code backend}. Blocks; call it off the event loop.
   */
  static StablePort open(Vertx vertx, int first, int last, int backend) throws Exception {
    NetClient client = vertx.createNetClient(new NetClientOptions().setConnectTimeout(5_000));
    Exception lastFailure = null;
    for (int port = first; port <= last; port++) {
      NetServer server =
          vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1").setPort(port));
      StablePort proxy = new StablePort(server, client, backend);
      server.connectHandler(proxy::accept);
      try {
        server.listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        return proxy;
      } catch (Exception e) {
        lastFailure = e;
        server.close();
      }
    }
    client.close();
    throw new IllegalStateException(
        "no free port in " + first + "-" + last + " for an app's stable port: " + lastFailure,
        lastFailure);
  }

  private void accept(NetSocket front) {
    int target = backend;
    AtomicInteger count = open.computeIfAbsent(target, port -> new AtomicInteger());
    count.incrementAndGet();
    front.pause();
    client
        .connect(target, "127.0.0.1")
        .onComplete(
            connected -> {
              if (connected.failed()) {
                count.decrementAndGet();
                front.close();
                return;
              }
              NetSocket back = connected.result();
              AtomicInteger closed = new AtomicInteger();
              Runnable onClose =
                  () -> {
                    if (closed.incrementAndGet() == 2) {
                      count.decrementAndGet();
                    }
                  };
              front.closeHandler(ignored -> onClose.run());
              back.closeHandler(ignored -> onClose.run());
              front.pipeTo(back);
              back.pipeTo(front);
            });
  }

  /** The port the proxy listens on. */
  int port() {
    return server.actualPort();
  }

  int backend() {
    return backend;
  }

  /** New connections go to {@code port} from now on; open ones stay where they are. */
  void switchTo(int port) {
    backend = port;
  }

  /**
   * Waits until no connection to {@code port} is open any more, or {@code timeout} passed; true
   * when none is open.
   */
  boolean drain(int port, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      AtomicInteger count = open.get(port);
      if (count == null || count.get() <= 0) {
        open.remove(port);
        return true;
      }
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(20);
    }
  }

  void close() {
    server.close();
    client.close();
  }
}
