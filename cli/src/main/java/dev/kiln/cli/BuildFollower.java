package dev.kiln.cli;

import dev.kiln.events.BuildCancelled;
import dev.kiln.events.BuildFailed;
import dev.kiln.events.BuildLogLine;
import dev.kiln.events.EventCodec;
import dev.kiln.events.ImageReady;
import dev.kiln.events.InvalidEventException;
import dev.kiln.events.Topics;
import dev.kiln.messaging.KafkaClientSettings;
import io.cloudevents.CloudEvent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
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
 * Follows one build on Kafka: prints its log lines as they arrive and returns its outcome. Reads
 * only the partitions the build's keys hash to, without a consumer group, so following never
 * disturbs the farm.
 */
final class BuildFollower {
  /**
   * The build's outcome: exactly one of imageReady / buildFailed / buildCancelled, with its
   * CloudEvent.
   */
  record Outcome(
      CloudEvent event,
      ImageReady imageReady,
      BuildFailed buildFailed,
      BuildCancelled buildCancelled) {
    boolean succeeded() {
      return imageReady != null;
    }
  }

  private BuildFollower() {}

  static Optional<Outcome> follow(
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
  static Optional<Outcome> follow(
      String bootstrapServers,
      KafkaClientSettings clientSettings,
      Topics topics,
      String buildId,
      String tenant,
      String app,
      Duration timeout,
      Consumer<BuildLogLine> onLog) {
    Map<String, Object> config =
        clientSettings.applyToObjects(
            Map.of(
                "bootstrap.servers",
                bootstrapServers,
                "key.deserializer",
                StringDeserializer.class.getName(),
                "value.deserializer",
                ByteArrayDeserializer.class.getName(),
                "enable.auto.commit",
                "false",
                "isolation.level",
                "read_committed"));
    String outcomeKey = tenant + "/" + app;
    try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(config)) {
      List<TopicPartition> partitions = new ArrayList<>();
      partitions.add(partitionFor(consumer, topics.logs(), buildId));
      partitions.add(partitionFor(consumer, topics.imageReady(), outcomeKey));
      partitions.add(partitionFor(consumer, topics.buildFailed(), outcomeKey));
      partitions.add(partitionFor(consumer, topics.buildCancelled(), outcomeKey));
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Instant deadline = Instant.now().plus(timeout);
      while (Instant.now().isBefore(deadline)) {
        for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(250))) {
          Optional<Outcome> outcome = handle(record, topics, buildId, onLog);
          if (outcome.isPresent()) {
            drainLogs(consumer, topics, buildId, onLog);
            return outcome;
          }
        }
      }
      return Optional.empty();
    }
  }

  private static void drainLogs(
      KafkaConsumer<String, byte[]> consumer,
      Topics topics,
      String buildId,
      Consumer<BuildLogLine> onLog) {
    for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(300))) {
      if (record.topic().equals(topics.logs())) {
        handle(record, topics, buildId, onLog);
      }
    }
  }

  private static Optional<Outcome> handle(
      ConsumerRecord<String, byte[]> record,
      Topics topics,
      String buildId,
      Consumer<BuildLogLine> onLog) {
    EventCodec.Decoded decoded;
    try {
      decoded = EventCodec.decode(record.headers(), record.value());
    } catch (InvalidEventException e) {
      return Optional.empty(); // not ours to judge: the farm's consumers dead-letter such records
    }
    if (decoded.body() instanceof BuildLogLine line && buildId.equals(line.buildId())) {
      onLog.accept(line);
    } else if (decoded.body() instanceof ImageReady ready && buildId.equals(ready.buildId())) {
      return Optional.of(new Outcome(decoded.cloudEvent(), ready, null, null));
    } else if (decoded.body() instanceof BuildFailed failed && buildId.equals(failed.buildId())) {
      return Optional.of(new Outcome(decoded.cloudEvent(), null, failed, null));
    } else if (decoded.body() instanceof BuildCancelled cancelled
        && buildId.equals(cancelled.buildId())) {
      return Optional.of(new Outcome(decoded.cloudEvent(), null, null, cancelled));
    }
    return Optional.empty();
  }

  private static TopicPartition partitionFor(
      KafkaConsumer<String, byte[]> consumer, String topic, String key) {
    var infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
    if (infos == null || infos.isEmpty()) {
      throw new UserError(
          "topic " + topic + " does not exist; is the farm running against this Kafka?", 1);
    }
    int partition =
        Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % infos.size();
    return new TopicPartition(topic, partition);
  }
}
