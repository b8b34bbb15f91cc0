package dev.kiln.worker.runtime;

import com.google.cloud.tools.jib.api.ImageReference;
import com.google.cloud.tools.jib.api.RegistryImage;
import com.google.cloud.tools.jib.frontend.CredentialRetrieverFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Locale;
import java.util.Set;

/** What base images and targets share about registries: transport and credentials. */
public final class Registries {
  private static final Set<String> LOOPBACK_HOSTS = Set.of("localhost", "127.0.0.1", "[::1]");

  /**
   * jib's connect and read timeout for every registry request, in milliseconds: short enough that
   * an unreachable registry fails a build in seconds, not minutes (jib's own default is 20 s per
   * request, and a pull makes several). An operator's {@code -Djib.httpTimeout} wins.
   */
  static final String HTTP_TIMEOUT_MILLIS = "10000";

  private Registries() {}

  /** How long {@link #checkReachable} waits for a TCP connection. */
  static final int CONNECT_CHECK_MILLIS = 5000;

  /**
   * Fails fast when the registry of {@code reference} cannot even be connected to (no DNS name, no
   * route, nothing listening): jib retries every failed request with exponential back-off for about
   * a minute, which is right for a flaky registry and wrong for one that is not there at all.
   *
   * @throws IOException saying which host and port could not be reached and why
   */
  public static void checkReachable(ImageReference reference) throws IOException {
    String registry = reference.getRegistry();
    String host = registry;
    int port = isLoopback(registry) ? 80 : 443;
    int colon = registry.lastIndexOf(':');
    if (colon > 0 && registry.indexOf(']') < colon) {
      host = registry.substring(0, colon);
      port = Integer.parseInt(registry.substring(colon + 1));
    }
    host = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(host, port), CONNECT_CHECK_MILLIS);
    } catch (IOException | IllegalArgumentException e) {
      String why =
          e instanceof java.net.UnknownHostException
              ? "the name " + host + " does not resolve"
              : String.valueOf(e.getMessage());
      throw new IOException(
          "the registry " + host + ":" + port + " cannot be reached (" + why + ")", e);
    }
  }

  /** Sets jib's registry timeout unless the operator already did (jib reads only this property). */
  public static void boundTimeouts() {
    if (System.getProperty("jib.httpTimeout") == null) {
      System.setProperty("jib.httpTimeout", HTTP_TIMEOUT_MILLIS);
    }
  }

  /**
   * Whether {@code registry} ({@code host[:port]}) is this machine, the only place where plain HTTP
   * is acceptable (a registry started for tests or by {@code kiln up}).
   */
  public static boolean isLoopback(String registry) {
    String host = registry.toLowerCase(Locale.ROOT);
    if (host.startsWith("[")) {
      int close = host.indexOf(']');
      host = close < 0 ? host : host.substring(0, close + 1);
    } else {
      int colon = host.indexOf(':');
      host = colon < 0 ? host : host.substring(0, colon);
    }
    return LOOPBACK_HOSTS.contains(host);
  }

  /**
   * Adds the credentials {@code docker login} stored in {@code ~/.docker/config.json}, so a worker
   * reaches private registries the way the operator's Docker does; anonymous otherwise.
   */
  public static RegistryImage withDockerCredentials(ImageReference reference) {
    return RegistryImage.named(reference)
        .addCredentialRetriever(
            CredentialRetrieverFactory.forImage(reference, event -> {}).dockerConfig());
  }
}
