package dev.kiln.messaging;

import dev.kiln.events.EventBody;
import dev.kiln.events.EventCodec;
import io.cloudevents.CloudEvent;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.kafka.client.producer.KafkaHeader;
import io.vertx.kafka.client.producer.KafkaProducer;
import io.vertx.kafka.client.producer.KafkaProducerRecord;
import io.vertx.kafka.client.producer.RecordMetadata;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes Kiln events as CloudEvents (Kafka binary mode). Every send waits for the broker's
 * acknowledgement from all in-sync replicas, and the producer is idempotent, so a retried send
 * never duplicates a record.
 */
public final class EventPublisher {
  private static final Logger LOG = LoggerFactory.getLogger(EventPublisher.class);
  private final KafkaProducer<String, byte[]> producer;
  private final EventCodec codec;

  public EventPublisher(Vertx vertx, String bootstrapServers, String source) {
    this(vertx, bootstrapServers, KafkaClientSettings.none(), source);
  }

  /**
   * A publisher whose producer also gets the operator's client settings (security, tuning).
   *
   * @param clientSettings added to Kiln's producer settings (see {@link KafkaClientSettings})
   */
  public EventPublisher(
      Vertx vertx, String bootstrapServers, KafkaClientSettings clientSettings, String source) {
    Map<String, String> config = new HashMap<>();
    config.put("bootstrap.servers", bootstrapServers);
    config.put("key.serializer", "org.apache.kafka.common.serialization.StringSerializer");
    config.put("value.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
    config.put("acks", "all");
    config.put("enable.idempotence", "true");
    config.put("linger.ms", "0");
    config.put("client.id", source.replace('/', '-').replaceAll("^-+", ""));
    this.producer = KafkaProducer.create(vertx, clientSettings.applyTo(config));
    // Without a handler vertx-kafka-client also reports every failed send to the context as an
    // "Unhandled exception", although the send's future already carries the failure to the caller.
    this.producer.exceptionHandler(
        e -> LOG.debug("send failed (the caller's future has it): {}", e.toString()));
    this.codec = new EventCodec(source);
  }

  public EventCodec codec() {
    return codec;
  }

  public Future<RecordMetadata> publish(String topic, String key, EventBody body) {
    return send(codec.toRecord(topic, key, body));
  }

  public Future<RecordMetadata> publish(String topic, String key, CloudEvent event) {
    return send(codec.toRecord(topic, key, event));
  }

  /** Sends a record built elsewhere (e.g. a dead letter keeping the original bytes). */
  public Future<RecordMetadata> send(ProducerRecord<String, byte[]> record) {
    KafkaProducerRecord<String, byte[]> out =
        KafkaProducerRecord.create(record.topic(), record.key(), record.value());
    for (Header header : record.headers()) {
      out.addHeader(KafkaHeader.header(header.key(), Buffer.buffer(header.value())));
    }
    return producer.send(out);
  }

  public Future<Void> close() {
    return producer.close();
  }
}
