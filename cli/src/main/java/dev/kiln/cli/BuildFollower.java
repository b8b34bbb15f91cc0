package dev.kiln.cli;

import dev.kiln.events.BuildLogLine;
import dev.kiln.events.Topics;
import dev.kiln.messaging.BuildWatch;
import dev.kiln.messaging.KafkaClientSettings;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * {@code kiln push} following its build: every log line the partitions still hold, then the outcome
 * ({@link BuildWatch} from the beginning, since the build may have started before).
 */
final class BuildFollower {
  private BuildFollower() {}

  static Optional<BuildWatch.Outcome> follow(
      String bootstrapServers,
      Topics topics,
      String buildId,
      String tenant,
      String app,
      Duration timeout,
      Consumer<BuildLogLine> onLog) {
    return follow(
        bootstrapServers, KafkaClientSettings.none(), topics, buildId, tenant, app, timeout, onLog);
  }

  /** Follows with the operator's Kafka client settings (the {@code pusher} principal's ACLs). */
  static Optional<BuildWatch.Outcome> follow(
      String bootstrapServers,
      KafkaClientSettings clientSettings,
      Topics topics,
      String buildId,
      String tenant,
      String app,
      Duration timeout,
      Consumer<BuildLogLine> onLog) {
    BuildWatch watch;
    try {
      watch =
          BuildWatch.open(
              bootstrapServers,
              clientSettings,
              topics,
              buildId,
              tenant,
              app,
              BuildWatch.From.BEGINNING);
    } catch (IllegalStateException e) {
      throw new UserError(e.getMessage(), 1);
    }
    try (watch) {
      // No quiet-time notes: the terminal shows the log as it comes.
      return watch.follow(timeout, timeout, onLog, quiet -> {}, () -> true);
    }
  }
}
