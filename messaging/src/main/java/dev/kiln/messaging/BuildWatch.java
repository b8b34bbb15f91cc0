package dev.kiln.messaging;

import dev.kiln.events.BuildCancelled;
import dev.kiln.events.BuildFailed;
import dev.kiln.events.BuildLogLine;
import dev.kiln.events.EventCodec;
import dev.kiln.events.ImageReady;
import dev.kiln.events.InvalidEventException;
import dev.kiln.events.Topics;
import io.cloudevents.CloudEvent;
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
 * Follows one build on Kafka: its log lines on {@code kiln.logs} and its outcome on {@code
 * kiln.image-ready}, {@code kiln.build-failed} or {@code kiln.build-cancelled}, for whoever pushed
 * it ({@code kiln push}, the coordinator's git remote). Blocking: never on an event loop.
 *
 * <p>It reads only the partitions the build's keys hash to, group-less (so following never disturbs
 * the farm) and {@code read_committed}: from their beginning, for a build that may have started
 * already, or from where they end when the watch is opened — before the push is sent — so nothing
 * of the build is missed and no history is read.
 */
public final class BuildWatch implements AutoCloseable {
  /** Where reading starts. */
  public enum From {
    /** Everything the partitions still hold: the build may have started before the watch. */
    BEGINNING,
    /** What is written after {@link #open}: open it before sending the push. */
    END
  }

  /** The build's end, with its CloudEvent: exactly one of the three bodies is set. */
  public record Outcome(
      CloudEvent event,
      ImageReady imageReady,
      BuildFailed buildFailed,
      BuildCancelled buildCancelled) {
    public boolean succeeded() {
      return imageReady != null;
    }
  }

  private final KafkaConsumer<String, byte[]> consumer;
  private final Topics topics;
  private final String buildId;
  private final TopicPartition logs;

  /** How long a fetch may wait at the broker for records: the most an outcome is heard late. */
  static final Duration FETCH_MAX_WAIT = Duration.ofMillis(50);

  /** How long the build's last log lines may take to arrive after its outcome. */
  private static final Duration LATE_LINES = Duration.ofMillis(300);

  private BuildWatch(
      KafkaConsumer<String, byte[]> consumer, Topics topics, String buildId, TopicPartition logs) {
    this.consumer = consumer;
    this.topics = topics;
    this.buildId = buildId;
    this.logs = logs;
  }

  /**
   * Opens a watch on the build's partitions, positioned at {@code from}.
   *
   * @throws IllegalStateException when a topic does not exist (not a farm's Kafka)
   */
  public static BuildWatch open(
      String bootstrapServers,
      KafkaClientSettings clientSettings,
      Topics topics,
      String buildId,
      String tenant,
      String app,
      From from) {
    Map<String, String> props = new HashMap<>();
    props.put("bootstrap.servers", bootstrapServers);
    props.put("key.deserializer", StringDeserializer.class.getName());
    props.put("value.deserializer", ByteArrayDeserializer.class.getName());
    props.put("enable.auto.commit", "false");
    props.put("isolation.level", "read_committed");
    props.put("client.id", "kiln-build-watch-" + buildId);
    // A read_committed fetch parked at the broker is not woken when a transaction's commit makes
    // the outcome readable: it returns when fetch.max.wait.ms runs out, which at Kafka's default
    // put up to half a second between the image being ready and the push hearing of it.
    props.put("fetch.max.wait.ms", Long.toString(FETCH_MAX_WAIT.toMillis()));
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
      if (from == From.END) {
        consumer.seekToEnd(partitions);
        // seekToEnd is lazy: take the positions now, before the push that starts the build is sent.
        partitions.forEach(p -> consumer.position(p, Duration.ofSeconds(30)));
      } else {
        consumer.seekToBeginning(partitions);
      }
      return new BuildWatch(consumer, topics, buildId, partitions.get(0));
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
  public Optional<Outcome> follow(
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
        readLateLines(onLog);
        return outcome;
      }
      if (Duration.between(lastSign, Instant.now()).compareTo(quietEvery) >= 0) {
        lastSign = Instant.now();
        onQuiet.accept(Duration.between(start, lastSign));
      }
    }
    return Optional.empty();
  }

  /**
   * Hands every line of the build's log written so far to {@code onLog}, in order, from where the
   * watch stands (opened {@link From#BEGINNING}: the start of what the partition holds) to the
   * partition's end as it is now; reads nothing else. Records of other builds that share the
   * partition are skipped by their key before they are decoded.
   *
   * @throws IllegalStateException when Kafka does not answer within {@code 30 s}
   */
  public void readLogSoFar(Consumer<BuildLogLine> onLog) {
    Duration limit = Duration.ofSeconds(30);
    Instant deadline = Instant.now().plus(limit);
    long end = consumer.endOffsets(List.of(logs), limit).getOrDefault(logs, 0L);
    List<TopicPartition> others = new ArrayList<>(consumer.assignment());
    others.remove(logs);
    consumer.pause(others);
    try {
      while (consumer.position(logs, limit) < end) {
        if (Instant.now().isAfter(deadline)) {
          throw new IllegalStateException(
              "the log of build " + buildId + " could not be read to its end within " + limit);
        }
        for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(100))) {
          if (record.topic().equals(topics.logs())
              && (record.key() == null || record.key().equals(buildId))) {
            handle(record, onLog);
          }
        }
      }
    } finally {
      consumer.resume(others);
    }
  }

  /**
   * The outcome's log lines were committed with it: reads the log partition up to its end as it
   * stands now, and no further, so a watch whose lines all came in one batch returns at once
   * instead of waiting out a poll that nothing more will answer.
   */
  private void readLateLines(Consumer<BuildLogLine> onLog) {
    Instant deadline = Instant.now().plus(LATE_LINES);
    long end;
    try {
      end = consumer.endOffsets(List.of(logs), LATE_LINES).getOrDefault(logs, 0L);
    } catch (RuntimeException e) {
      return; // the lines are in the build's log; the outcome is what the caller waits for
    }
    while (consumer.position(logs, LATE_LINES) < end && Instant.now().isBefore(deadline)) {
      for (ConsumerRecord<String, byte[]> late : consumer.poll(Duration.ofMillis(50))) {
        if (late.topic().equals(topics.logs())) {
          handle(late, onLog);
        }
      }
    }
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
      return Optional.of(new Outcome(decoded.cloudEvent(), ready, null, null));
    } else if (body instanceof BuildFailed failed && buildId.equals(failed.buildId())) {
      return Optional.of(new Outcome(decoded.cloudEvent(), null, failed, null));
    } else if (body instanceof BuildCancelled cancelled && buildId.equals(cancelled.buildId())) {
      return Optional.of(new Outcome(decoded.cloudEvent(), null, null, cancelled));
    }
    return Optional.empty();
  }

  private static TopicPartition partitionFor(
      KafkaConsumer<String, byte[]> consumer, String topic, String key) {
    var infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
    if (infos == null || infos.isEmpty()) {
      throw new IllegalStateException(
          "topic " + topic + " does not exist; is the farm running against this Kafka?");
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
