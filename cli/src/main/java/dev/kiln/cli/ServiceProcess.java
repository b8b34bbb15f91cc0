package dev.kiln.cli;

import dev.kiln.events.security.SecretBox;
import dev.kiln.events.security.Tokens;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * What every one-service command ({@code kiln cache-service}, {@code coordinator}, {@code worker},
 * {@code deployer}) checks before it starts and does once it runs: it joins a farm that exists, so
 * it needs the farm's Kafka and the farm's own secrets, and it makes none up; it stops cleanly on
 * SIGTERM.
 */
final class ServiceProcess {
  private ServiceProcess() {}

  /** A service on its own has no embedded broker to fall back on. */
  static void requireKafka(FarmSettings settings, String command) {
    if (settings.kafka() == null) {
      throw new UserError(
          "kiln "
              + command
              + " needs --kafka HOST:PORT (or KILN_KAFKA): the farm's Kafka cluster (`kiln broker`"
              + " runs one); `kiln up` runs a whole farm on an embedded broker instead",
          2);
    }
  }

  /**
   * The farm's secrets this service needs, from the {@code KILN_…} variables or {@code
   * <home>/secrets/}. A service on its own must check and present the farm's own credentials: a
   * secret made up here would match no other service's, so a missing one is a usage error, and
   * nothing is created (the ones not needed are null).
   */
  static FarmSecrets farmSecrets(
      FarmSettings settings,
      String command,
      boolean operatorToken,
      boolean farmToken,
      boolean secretKey) {
    String operator =
        operatorToken
            ? requireFarmSecret(
                settings, command, "KILN_OPERATOR_TOKEN", FarmSecrets.OPERATOR_TOKEN_FILE)
            : null;
    String farm =
        farmToken
            ? requireFarmSecret(settings, command, "KILN_FARM_TOKEN", FarmSecrets.FARM_TOKEN_FILE)
            : null;
    String key =
        secretKey
            ? requireFarmSecret(settings, command, "KILN_SECRET_KEY", FarmSecrets.SECRET_KEY_FILE)
            : null;
    if (operator != null && !Tokens.looksLike(Tokens.Kind.OPERATOR, operator)) {
      throw new UserError(
          "the operator token (KILN_OPERATOR_TOKEN or <home>/secrets/operator-token) is not a"
              + " kiln_op_… token; give kiln "
              + command
              + " the farm's own",
          2);
    }
    if (farm != null && !Tokens.looksLike(Tokens.Kind.FARM, farm)) {
      throw new UserError(
          "the farm token (KILN_FARM_TOKEN or <home>/secrets/farm-token) is not a kiln_farm_…"
              + " token; give kiln "
              + command
              + " the farm's own",
          2);
    }
    if (key != null) {
      try {
        SecretBox.fromBase64(key);
      } catch (IllegalArgumentException e) {
        throw new UserError(
            "the secret key (KILN_SECRET_KEY or <home>/secrets/secret-key) is unusable: "
                + e.getMessage(),
            2);
      }
    }
    return new FarmSecrets(operator, farm, key);
  }

  private static String requireFarmSecret(
      FarmSettings settings, String command, String variable, String file) {
    String env = System.getenv(variable);
    if (env != null && !env.isBlank()) {
      return env.strip();
    }
    Path path = FarmSecrets.directory(settings.home()).resolve(file);
    if (!Files.isRegularFile(path)) {
      throw new UserError(
          "kiln "
              + command
              + " needs the farm's "
              + variable
              + " (or "
              + path
              + "), the same the other services of the farm have; copy the farm's secrets"
              + " directory, or set the variable",
          2);
    }
    try {
      return Files.readString(path, StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      throw new UserError("cannot read " + path + ": " + e.getMessage(), 1);
    }
  }

  /** A URL option a service cannot run without. */
  static String requireUrl(String value, String command, String option, String variable) {
    if (value == null || value.isBlank()) {
      throw new UserError("kiln " + command + " needs " + option + " URL (or " + variable + ")", 2);
    }
    if (!value.matches("(?i)https?://[^\\s/]+(/\\S*)?")) {
      throw new UserError(
          option + " '" + value + "' is not an http(s):// URL such as http://cache:8481", 2);
    }
    return value.endsWith("/") ? value.substring(0, value.length() - 1) : value;
  }

  /**
   * Runs {@code stop} on SIGTERM / Ctrl-C and blocks until it has run: the command's thread stays
   * alive while the service does.
   */
  static void runUntilStopped(Runnable stop) throws InterruptedException {
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    stop.run();
                  } finally {
                    stopped.countDown();
                  }
                },
                "kiln-shutdown"));
    stopped.await();
  }

  /**
   * Exits with status 1 once the coordinator stopped deciding on its own ({@link
   * dev.kiln.coordinator.CoordinatorVerticle#halted()}): a process that answers HTTP but decides
   * nothing would look alive to its supervisor forever, while exiting lets Docker, systemd or
   * Kubernetes restart it, and its builds resume where they were. The shutdown hooks stop the rest.
   */
  static void exitWhenHalted(io.vertx.core.Future<String> halted, String command, PrintWriter err) {
    halted.onSuccess(
        reason -> {
          err.println(
              "kiln "
                  + command
                  + ": the coordinator stopped consuming ("
                  + reason
                  + "); exiting with status 1 so that it is restarted (its builds resume where they"
                  + " were). If another process runs with the same --instance-id, give each its"
                  + " own.");
          err.flush();
          // Not on the event loop: System.exit waits for the shutdown hooks, which close Vert.x.
          new Thread(() -> System.exit(1), "kiln-exit").start();
        });
  }

  /** {@code http://host:port}, with a host a client on this machine can use for 0.0.0.0. */
  static String url(String listen, int port) {
    String host = listen.equals("0.0.0.0") || listen.equals("::") ? "127.0.0.1" : listen;
    return "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }
}
