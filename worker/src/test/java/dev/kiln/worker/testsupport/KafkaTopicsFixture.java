package dev.kiln.worker.testsupport;

import dev.kiln.broker.EmbeddedKafka;
import dev.kiln.events.EventBody;
import dev.kiln.events.EventCodec;
import dev.kiln.events.Topics;
import dev.kiln.messaging.KafkaTopicsAdmin;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A fresh set of Kiln topics (random prefix) on a real broker, with plain clients to drive them.
 */
public final class KafkaTopicsFixture implements AutoCloseable {
  private final EmbeddedKafka kafka;
  private final Topics topics;
  private final KafkaProducer<String, byte[]> producer;
  private final EventCodec codec = new EventCodec("/kiln/test");

  private KafkaTopicsFixture(EmbeddedKafka kafka, Topics topics) {
    this.kafka = kafka;
    this.topics = topics;
    this.producer =
        new KafkaProducer<>(
            Map.of("bootstrap.servers", kafka.bootstrapServers(), "acks", "all"),
            new StringSerializer(),
            new ByteArraySerializer());
  }

  public static KafkaTopicsFixture create(EmbeddedKafka kafka) throws Exception {
    Topics topics = Topics.withPrefix("t" + UUID.randomUUID().toString().substring(0, 8) + ".");
    KafkaTopicsAdmin.ensureTopics(kafka.bootstrapServers(), topics);
    return new KafkaTopicsFixture(kafka, topics);
  }

  public Topics topics() {
    return topics;
  }

  public String bootstrapServers() {
    return kafka.bootstrapServers();
  }

  /** Publishes an event as a CloudEvent in binary mode and waits for the broker's ack. */
  public void publish(String topic, String key, EventBody body) throws Exception {
    producer.send(codec.toRecord(topic, key, body)).get(30, TimeUnit.SECONDS);
  }

  /** Publishes an event with headers of the test's own added (a trace context, say). */
  public void publish(
      String topic,
      String key,
      EventBody body,
      java.util.function.Consumer<org.apache.kafka.common.header.Headers> headers)
      throws Exception {
    ProducerRecord<String, byte[]> record = codec.toRecord(topic, key, body);
    headers.accept(record.headers());
    producer.send(record).get(30, TimeUnit.SECONDS);
  }

  /** Publishes an event to one chosen partition. */
  public void publishTo(String topic, int partition, String key, EventBody body) throws Exception {
    ProducerRecord<String, byte[]> record = codec.toRecord(topic, key, body);
    producer
        .send(new ProducerRecord<>(topic, partition, key, record.value(), record.headers()))
        .get(30, TimeUnit.SECONDS);
  }

  /** Publishes raw bytes without any CloudEvents headers. */
  public void publishRaw(String topic, String key, byte[] value) throws Exception {
    producer
        .send(new ProducerRecord<>(topic, null, key, value, new RecordHeaders()))
        .get(30, TimeUnit.SECONDS);
  }

  /** Every record on the topic so far (all partitions, from the beginning). */
  public List<ConsumerRecord<String, byte[]>> readAll(String topic) {
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(
            Map.of("bootstrap.servers", kafka.bootstrapServers(), "enable.auto.commit", "false"),
            new StringDeserializer(),
            new ByteArrayDeserializer())) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic).stream()
              .map(info -> new TopicPartition(topic, info.partition()))
              .toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
      List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (partitions.stream().anyMatch(p -> consumer.position(p) < ends.get(p))) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("could not read " + topic + " to its end within 30 s");
        }
        consumer.poll(Duration.ofMillis(200)).forEach(records::add);
      }
      return records;
    }
  }

  /** Committed offsets of a consumer group on a topic, by partition. */
  public Map<Integer, Long> committedOffsets(String group, String topic) throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
      Map<TopicPartition, OffsetAndMetadata> offsets =
          admin
              .listConsumerGroupOffsets(group)
              .partitionsToOffsetAndMetadata()
              .get(30, TimeUnit.SECONDS);
      return offsets.entrySet().stream()
          .filter(e -> e.getKey().topic().equals(topic) && e.getValue() != null)
          .collect(Collectors.toMap(e -> e.getKey().partition(), e -> e.getValue().offset()));
    }
  }

  @Override
  public void close() {
    producer.close();
  }
}
