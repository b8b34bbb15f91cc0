package dev.kiln.cli;

import dev.kiln.events.EventCodec;
import dev.kiln.events.InvalidEventException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/** Reads a whole topic, from the beginning to its current end, for assertions. */
final class TopicRecords {
  private TopicRecords() {}

  static List<ConsumerRecord<String, byte[]>> readAll(String bootstrap, String topic) {
    Map<String, Object> config =
        Map.of(
            "bootstrap.servers",
            bootstrap,
            "key.deserializer",
            StringDeserializer.class.getName(),
            "value.deserializer",
            ByteArrayDeserializer.class.getName(),
            "enable.auto.commit",
            "false",
            // What a deployer sees: records of aborted coordinator transactions are not there.
            "isolation.level",
            "read_committed");
    List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(config)) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("could not read " + topic + " to its end within 30 s");
        }
        consumer.poll(Duration.ofMillis(200)).forEach(records::add);
      }
    }
    return records;
  }

  /** The decoded bodies of type {@code type} on {@code topic}, skipping anything else. */
  static <T> List<T> bodies(String bootstrap, String topic, Class<T> type) {
    List<T> bodies = new ArrayList<>();
    for (var record : readAll(bootstrap, topic)) {
      decode(record).filter(type::isInstance).map(type::cast).ifPresent(bodies::add);
    }
    return bodies;
  }

  private static Optional<Object> decode(ConsumerRecord<String, byte[]> record) {
    try {
      return Optional.of(EventCodec.decode(record.headers(), record.value()).body());
    } catch (InvalidEventException e) {
      return Optional.empty();
    }
  }
}
