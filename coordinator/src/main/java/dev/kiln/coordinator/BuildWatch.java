package dev.kiln.coordinator;

import dev.kiln.events.BuildCancelled;
import dev.kiln.events.BuildFailed;
import dev.kiln.events.BuildLogLine;
import dev.kiln.events.EventCodec;
import dev.kiln.events.ImageReady;
import dev.kiln.events.InvalidEventException;
import dev.kiln.events.Topics;
import dev.kiln.messaging.KafkaClientSettings;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Utils;

/**
 * Follows one build on Kafka for a git push: its log lines on {@code kiln.logs} and its outcome on
 * {@code kiln.image-ready}, {@code kiln.build-failed} or {@code kiln.build-cancelled}. Blocking:
 * runs on the git remote's worker threads, never on an event loop.
 *
 * <p>It reads only the partitions the build's keys hash to, group-less and {@code read_committed},
 * starting where they end when the watch is opened — before the push is submitted, so nothing of
 * the build is missed and no history is read. Like {@code kiln push}'s follower, but bounded to the
 * records written after the push.
 */
final class BuildWatch implements AutoCloseable {
  /** The build's end: exactly one of the three is set. */
  record Outcome(ImageReady imageReady, BuildFailed buildFailed, BuildCancelled buildCancelled) {}

  private final KafkaConsumer<String, byte[]> consumer;
  private final Topics topics;
  private final String buildId;

  private BuildWatch(KafkaConsumer<String, byte[]> consumer, Topics topics, String buildId) {
    this.consumer = consumer;
    this.topics = topics;
    this.buildId = buildId;
  }

  /** Opens a watch positioned at the current end of the build's partitions. */
  static BuildWatch open(
      String bootstrapServers,
      KafkaClientSettings clientSettings,
      Topics topics,
      String buildId,
      String tenant,
      String app) {
    Map<String, String> props = new HashMap<>();
    props.put("bootstrap.servers", bootstrapServers);
    props.put("key.deserializer", StringDeserializer.class.getName());
    props.put("value.deserializer", ByteArrayDeserializer.class.getName());
    props.put("enable.auto.commit", "false");
    props.put("isolation.level", "read_committed");
    props.put("client.id", "kiln-git-remote-" + buildId);
    Map<String, Object> config = new HashMap<>(clientSettings.applyTo(props));
    KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(config);
    try {
      String appKey = Topics.appKey(tenant, app);
      List<TopicPartition> partitions = new ArrayList<>();
      partitions.add(partitionFor(consumer, topics.logs(), buildId));
      partitions.add(partitionFor(consumer, topics.imageReady(), appKey));
      partitions.add(partitionFor(consumer, topics.buildFailed(), appKey));
      partitions.add(partitionFor(consumer, topics.buildCancelled(), appKey));
      consumer.assign(partitions);
      consumer.seekToEnd(partitions);
      // seekToEnd is lazy: take the positions now, before the push that starts the build is sent.
      partitions.forEach(p -> consumer.position(p, Duration.ofSeconds(30)));
      return new BuildWatch(consumer, topics, buildId);
    } catch (RuntimeException e) {
      consumer.close(); // group-less: nothing to leave or commit
      throw e;
    }
  }

  /**
   * Hands every log line of the build to {@code onLog} until its outcome arrives or {@code timeout}
   * passes; after {@code quietEvery} without a line, {@code onQuiet} hears how long the build has
   * been followed (to keep the pushing terminal informed and its connection busy). Stops early,
   * empty, once {@code stillWanted} says nobody waits any more (the pushing client went away).
   */
  Optional<Outcome> follow(
      Duration timeout,
      Duration quietEvery,
      Consumer<BuildLogLine> onLog,
      Consumer<Duration> onQuiet,
      java.util.function.BooleanSupplier stillWanted) {
    Instant start = Instant.now();
    Instant deadline = start.plus(timeout);
    Instant lastSign = start;
    while (Instant.now().isBefore(deadline) && stillWanted.getAsBoolean()) {
      Optional<Outcome> outcome = Optional.empty();
      // The whole batch: the outcome's own log lines may come after it in the same poll.
      for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(250))) {
        lastSign = Instant.now();
        Optional<Outcome> found = handle(record, onLog);
        outcome = found.isPresent() ? found : outcome;
      }
      if (outcome.isPresent()) {
        // The outcome's log lines were committed with it; take those still unread.
        for (ConsumerRecord<String, byte[]> late : consumer.poll(Duration.ofMillis(300))) {
          if (late.topic().equals(topics.logs())) {
            handle(late, onLog);
          }
        }
        return outcome;
      }
      if (Duration.between(lastSign, Instant.now()).compareTo(quietEvery) >= 0) {
        lastSign = Instant.now();
        onQuiet.accept(Duration.between(start, lastSign));
      }
    }
    return Optional.empty();
  }

  private Optional<Outcome> handle(
      ConsumerRecord<String, byte[]> record, Consumer<BuildLogLine> onLog) {
    EventCodec.Decoded decoded;
    try {
      decoded = EventCodec.decode(record.headers(), record.value());
    } catch (InvalidEventException | RuntimeException e) {
      return Optional.empty(); // not ours to judge: the farm's consumers dead-letter such records
    }
    Object body = decoded.body();
    if (body instanceof BuildLogLine line && buildId.equals(line.buildId())) {
      onLog.accept(line);
    } else if (body instanceof ImageReady ready && buildId.equals(ready.buildId())) {
      return Optional.of(new Outcome(ready, null, null));
    } else if (body instanceof BuildFailed failed && buildId.equals(failed.buildId())) {
      return Optional.of(new Outcome(null, failed, null));
    } else if (body instanceof BuildCancelled cancelled && buildId.equals(cancelled.buildId())) {
      return Optional.of(new Outcome(null, null, cancelled));
    }
    return Optional.empty();
  }

  private static TopicPartition partitionFor(
      KafkaConsumer<String, byte[]> consumer, String topic, String key) {
    var infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
    if (infos == null || infos.isEmpty()) {
      throw new IllegalStateException("topic " + topic + " does not exist");
    }
    // Kafka's default partitioner: where the coordinator's and workers' keyed records go.
    int partition =
        Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % infos.size();
    return new TopicPartition(topic, partition);
  }

  @Override
  public void close() {
    consumer.close();
  }
}
