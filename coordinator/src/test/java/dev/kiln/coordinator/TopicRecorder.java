package dev.kiln.coordinator;

import static org.awaitility.Awaitility.await;

import dev.kiln.events.EventBody;
import dev.kiln.events.EventCodec;
import io.cloudevents.CloudEvent;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.kafka.client.common.TopicPartition;
import io.vertx.kafka.client.consumer.KafkaConsumer;
import io.vertx.kafka.client.producer.KafkaHeader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.common.header.internals.RecordHeaders;

/** Everything on one topic since its beginning, as a test sees it. */
final class TopicRecorder {

  /** One record: raw headers, and the decoded event when it is a valid Kiln event. */
  record Recorded(
      String key, Map<String, String> headers, byte[] value, CloudEvent event, EventBody body) {}

  private final List<Recorded> records = new CopyOnWriteArrayList<>();
  private final KafkaConsumer<String, byte[]> consumer;

  private TopicRecorder(KafkaConsumer<String, byte[]> consumer) {
    this.consumer = consumer;
  }

  static TopicRecorder start(Vertx vertx, String bootstrapServers, String topic) {
    return start(vertx, bootstrapServers, topic, "read_committed");
  }

  /**
   * A recorder reading with this isolation level; {@code read_uncommitted} also sees what aborted
   * transactions wrote.
   */
  static TopicRecorder start(
      Vertx vertx, String bootstrapServers, String topic, String isolationLevel) {
    Map<String, String> props = new HashMap<>();
    props.put("bootstrap.servers", bootstrapServers);
    props.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    props.put("value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
    props.put("enable.auto.commit", "false");
    props.put("auto.offset.reset", "earliest");
    // Counts what consumers downstream see: records of aborted transactions never happened.
    props.put("isolation.level", isolationLevel);
    KafkaConsumer<String, byte[]> consumer = KafkaConsumer.create(vertx, props);
    TopicRecorder recorder = new TopicRecorder(consumer);
    consumer.handler(
        r -> {
          RecordHeaders kafkaHeaders = new RecordHeaders();
          Map<String, String> headers = new HashMap<>();
          for (KafkaHeader h : r.headers()) {
            kafkaHeaders.add(h.key(), h.value().getBytes());
            headers.put(h.key(), h.value().toString(StandardCharsets.UTF_8));
          }
          CloudEvent event = null;
          EventBody body = null;
          try {
            EventCodec.Decoded decoded = EventCodec.decode(kafkaHeaders, r.value());
            event = decoded.cloudEvent();
            body = decoded.body();
          } catch (Exception notAKilnEvent) {
            // kept raw: dead letters are recorded too
          }
          recorder.records.add(new Recorded(r.key(), headers, r.value(), event, body));
        });
    // A topic created a moment ago may not be in the metadata yet: ask until it has partitions,
    // otherwise the recorder would silently assign nothing and see nothing.
    Set<TopicPartition> partitions = new HashSet<>();
    await()
        .atMost(Duration.ofSeconds(Awaits.SECONDS))
        .until(
            () -> {
              Awaits.await(consumer.partitionsFor(topic))
                  .forEach(i -> partitions.add(new TopicPartition(topic, i.getPartition())));
              return !partitions.isEmpty();
            });
    Awaits.await(consumer.assign(partitions));
    return recorder;
  }

  List<Recorded> records() {
    return List.copyOf(records);
  }

  <T extends EventBody> List<T> bodies(Class<T> type) {
    return records.stream().map(Recorded::body).filter(type::isInstance).map(type::cast).toList();
  }

  Future<Void> close() {
    return consumer.close();
  }
}
