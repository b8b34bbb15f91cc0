package dev.kiln.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.events.Topics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Where a running farm listens, written to {@code <home>/farm.json} by {@code kiln up} so that
 * {@code kiln push} and {@code kiln status} in another terminal can find it.
 *
 * @param workerMetricsUrl the worker node's {@code /metrics} ({@code kiln up} picks a free port);
 *     null when the workers run elsewhere
 */
public record FarmEndpoints(
    String kafka,
    String coordinatorUrl,
    String cacheUrl,
    String topicPrefix,
    String workerMetricsUrl) {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A farm whose workers' metrics are not known here (they run elsewhere). */
  public FarmEndpoints(String kafka, String coordinatorUrl, String cacheUrl, String topicPrefix) {
    this(kafka, coordinatorUrl, cacheUrl, topicPrefix, null);
  }

  public Topics topics() {
    return Topics.withPrefix(topicPrefix == null ? "" : topicPrefix);
  }

  public static Path file(Path home) {
    return home.resolve("farm.json");
  }

  public void write(Path home) throws IOException {
    Files.createDirectories(home);
    Path tmp = Files.createTempFile(home, "farm", ".json.tmp");
    JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), this);
    Files.move(
        tmp, file(home), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  public static void remove(Path home) {
    try {
      Files.deleteIfExists(file(home));
    } catch (IOException e) {
      // A stale farm.json only makes the next `kiln push` fail to connect, with a clear message.
    }
  }

  public static FarmEndpoints read(Path home) {
    Path file = file(home);
    if (!Files.isRegularFile(file)) {
      throw new UserError(
          "no running farm found ("
              + file
              + " is missing); start one with `./kiln up` in another"
              + " terminal, or pass --coordinator URL and --kafka HOST:PORT",
          2);
    }
    try {
      return JSON.readValue(file.toFile(), FarmEndpoints.class);
    } catch (IOException e) {
      throw new UserError(
          "cannot read " + file + ": " + e.getMessage() + "; restart `./kiln up`", 2);
    }
  }
}
