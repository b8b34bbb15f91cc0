package dev.kiln.messaging;

import dev.kiln.events.DeadLetters;
import dev.kiln.events.EventCodec;
import dev.kiln.events.InvalidEventException;
import io.vertx.core.Future;
import io.vertx.kafka.client.consumer.KafkaConsumerRecord;
import io.vertx.kafka.client.producer.KafkaHeader;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decodes consumed records; anything that breaks the contract is copied, byte for byte, to the
 * dead-letter topic with the reason in headers, and the consumer carries on.
 */
public final class DeadLetterRouter {
  private static final Logger LOG = LoggerFactory.getLogger(DeadLetterRouter.class);

  private final EventPublisher publisher;
  private final String deadLetterTopic;
  private final String consumerName;

  public DeadLetterRouter(EventPublisher publisher, String deadLetterTopic, String consumerName) {
    this.publisher = publisher;
    this.deadLetterTopic = deadLetterTopic;
    this.consumerName = consumerName;
  }

  /**
   * The decoded event, or empty once a malformed record has been dead-lettered (the returned future
   * completes only after the dead letter is acknowledged, so committing afterwards loses nothing).
   */
  public Future<Optional<EventCodec.Decoded>> decode(KafkaConsumerRecord<String, byte[]> record) {
    RecordHeaders headers = new RecordHeaders();
    for (KafkaHeader h : record.headers()) {
      headers.add(h.key(), h.value().getBytes());
    }
    try {
      return Future.succeededFuture(Optional.of(EventCodec.decode(headers, record.value())));
    } catch (InvalidEventException e) {
      return deadLetter(record, headers, e).map(ignored -> Optional.empty());
    } catch (RuntimeException e) {
      InvalidEventException wrapped =
          new InvalidEventException("record", "could not be read: " + e, e);
      return deadLetter(record, headers, wrapped).map(ignored -> Optional.empty());
    }
  }

  /** Dead-letters a record whose envelope was fine but whose meaning is not (e.g. wrong topic). */
  public Future<Void> reject(
      KafkaConsumerRecord<String, byte[]> record, InvalidEventException why) {
    RecordHeaders headers = new RecordHeaders();
    for (KafkaHeader h : record.headers()) {
      headers.add(h.key(), h.value().getBytes());
    }
    return deadLetter(record, headers, why);
  }

  /**
   * Dead-letters a well-formed record its consumer could not process however often it tried (e.g. a
   * deploy that kept failing): {@code reason} goes to {@code kiln_dlq_reason} and {@code stage}
   * (what failed, e.g. {@code deploy}) to {@code kiln_dlq_field}. The future completes once the
   * dead letter is acknowledged, so committing the record afterwards loses nothing.
   */
  public Future<Void> giveUp(
      KafkaConsumerRecord<String, byte[]> record, String stage, String reason) {
    RecordHeaders headers = new RecordHeaders();
    for (KafkaHeader h : record.headers()) {
      headers.add(h.key(), h.value().getBytes());
    }
    return deadLetter(record, headers, reason, stage);
  }

  private Future<Void> deadLetter(
      KafkaConsumerRecord<String, byte[]> record,
      RecordHeaders headers,
      InvalidEventException why) {
    return deadLetter(record, headers, why.getMessage(), why.field());
  }

  private Future<Void> deadLetter(
      KafkaConsumerRecord<String, byte[]> record,
      RecordHeaders headers,
      String reason,
      String field) {
    LOG.warn(
        "dead-lettering {}-{}@{}: {}", record.topic(), record.partition(), record.offset(), reason);
    headers.add(DeadLetters.REASON, utf8(reason));
    headers.add(DeadLetters.FIELD, utf8(field));
    headers.add(DeadLetters.SOURCE_TOPIC, utf8(record.topic()));
    headers.add(DeadLetters.SOURCE_PARTITION, utf8(Integer.toString(record.partition())));
    headers.add(DeadLetters.SOURCE_OFFSET, utf8(Long.toString(record.offset())));
    headers.add(DeadLetters.CONSUMER, utf8(consumerName));
    ProducerRecord<String, byte[]> out =
        new ProducerRecord<>(deadLetterTopic, null, record.key(), record.value(), headers);
    return publisher.send(out).mapEmpty();
  }

  private static byte[] utf8(String s) {
    return (s == null ? "" : s).getBytes(StandardCharsets.UTF_8);
  }
}
