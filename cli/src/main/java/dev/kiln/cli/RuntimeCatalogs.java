package dev.kiln.cli;

import dev.kiln.buildpack.BuildpackException;
import dev.kiln.buildpack.RuntimeCatalog;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * Which runtime catalog a farm builds with: {@code --runtime-catalog default} (the App Platform
 * list of registry images), {@code offline} (Debian suites the workers build with debootstrap on
 * first use), a JSON file, or — when nothing is set — {@code default} where Docker Hub can be
 * reached and {@code offline} where it cannot.
 */
final class RuntimeCatalogs {
  static final String DEFAULT = "default";
  static final String OFFLINE = "offline";
  private static final String DOCKER_HUB = "registry-1.docker.io";

  private RuntimeCatalogs() {}

  /** The catalog a {@code --runtime-catalog} value names; never looks at the network. */
  static RuntimeCatalog named(String setting) {
    if (setting == null || setting.isBlank() || setting.equals(DEFAULT)) {
      return RuntimeCatalog.loadDefault();
    }
    if (setting.equals(OFFLINE)) {
      return RuntimeCatalog.loadOffline();
    }
    try {
      return RuntimeCatalog.load(Path.of(setting));
    } catch (BuildpackException e) {
      throw new UserError(
          "--runtime-catalog " + setting + ": " + e.getMessage() + " [" + e.code() + "]");
    }
  }

  /** The catalog a farm starts with, saying which and why. */
  static RuntimeCatalog forFarm(String setting, Consumer<String> say) {
    String chosen = setting;
    if (chosen == null || chosen.isBlank()) {
      if (reachable(DOCKER_HUB, 443)) {
        chosen = DEFAULT;
      } else {
        say.accept(
            "-----> Offline: "
                + DOCKER_HUB
                + " cannot be reached, so no runtime image can be pulled; using the offline"
                + " runtime catalog.");
        chosen = OFFLINE;
      }
    }
    RuntimeCatalog catalog = named(chosen);
    say.accept(
        "-----> Runtime catalog: "
            + (chosen.equals(DEFAULT) || chosen.equals(OFFLINE) ? chosen : Path.of(chosen))
            + " ("
            + catalog.runtimes().stream()
                .map(runtime -> runtime.python() + " " + runtime.image())
                .collect(Collectors.joining(", "))
            + ")");
    if (chosen.equals(OFFLINE)) {
      say.accept(
          "       Each Debian-based runtime is built once per machine with debootstrap the first"
              + " time a build needs it (a minute or two, shown in that build's log).");
    }
    return catalog;
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
