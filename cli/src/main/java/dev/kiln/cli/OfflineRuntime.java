package dev.kiln.cli;

import dev.kiln.worker.runtime.LocalRuntimeImage;
import dev.kiln.worker.runtime.RuntimeImage;
import dev.kiln.worker.runtime.RuntimeImageException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.function.Consumer;

/**
 * The demo's answer to "no runtime base image can be pulled": when Docker Hub (where the default
 * runtime catalog points) cannot be reached, it builds a local Debian-based Python runtime with
 * debootstrap and serves that image for its Python minor version.
 */
final class OfflineRuntime {
  /**
   * Route builds for {@code pythonMinor} to {@code imageReference} instead of the catalog's image.
   */
  record Override(String pythonMinor, String imageReference, String actualPythonVersion) {}

  private static final String DEFAULT_REGISTRY_HOST = "registry-1.docker.io";

  private OfflineRuntime() {}

  /**
   * Null when the catalog's images can be pulled (or an operator catalog is configured). Used by
   * demo and up.
   */
  static Override whenOffline(FarmSettings settings, Consumer<String> say) {
    if (settings.runtimeCatalog() != null) {
      return null;
    }
    if (reachable(DEFAULT_REGISTRY_HOST, 443)) {
      say.accept(
          "-----> Runtime images come from the catalog ("
              + DEFAULT_REGISTRY_HOST
              + " is reachable)");
      return null;
    }
    say.accept(
        "-----> Offline: "
            + DEFAULT_REGISTRY_HOST
            + " cannot be reached, so no runtime image can be pulled.");
    say.accept(
        "       Using a local Debian-based Python runtime image instead (built once with debootstrap, then cached).");
    try {
      RuntimeImage image =
          LocalRuntimeImage.in(settings.home().resolve("runtimes"))
              .withProgress(line -> say.accept("       " + line))
              .ensureAvailable();
      say.accept(
          "       Runtime: "
              + image.reference()
              + " (Python "
              + image.pythonVersion()
              + ") at "
              + image.tarball()
              + (image.freshlyBuilt() ? " (built now)" : " (cached)"));
      say.accept(
          "       Python "
              + image.pythonMinorVersion()
              + ".x builds run on Python "
              + image.pythonVersion()
              + " from this image.");
      return new Override(
          image.pythonMinorVersion(), "tar:" + image.tarball(), image.pythonVersion());
    } catch (RuntimeImageException e) {
      throw new UserError("cannot build the local Python runtime image: " + e.getMessage(), 1);
    }
  }

  static boolean reachable(String host, int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(host, port), 2000);
      return true;
    } catch (IOException | IllegalArgumentException e) {
      return false;
    }
  }
}
