package dev.kiln.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.broker.EmbeddedKafka;
import dev.kiln.events.DeadLetters;
import dev.kiln.events.PushEvent;
import dev.kiln.events.Topics;
import io.vertx.core.Vertx;
import io.vertx.kafka.client.consumer.KafkaConsumer;
import io.vertx.kafka.client.consumer.KafkaConsumerRecord;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class DeadLetterRouterTest {
  private static EmbeddedKafka kafka;

  @BeforeAll
  static void startKafka() {
    kafka = EmbeddedKafka.start();
  }

  @AfterAll
  static void stopKafka() {
    kafka.close();
  }

  @Test
  void validEventsAreDecodedAndGarbageIsCopiedToTheDeadLetterTopicWithTheReason() throws Exception {
    Topics topics = Topics.withPrefix("m" + UUID.randomUUID().toString().substring(0, 8) + ".");
    KafkaTopicsAdmin.ensureTopics(kafka.bootstrapServers(), topics);
    KafkaTopicsAdmin.ensureTopics(kafka.bootstrapServers(), topics); // idempotent
    Vertx vertx = Vertx.vertx();
    try {
      EventPublisher publisher = new EventPublisher(vertx, kafka.bootstrapServers(), "/kiln/test");
      DeadLetterRouter router =
          new DeadLetterRouter(publisher, topics.deadLetters(), "test-consumer");
      List<Optional<?>> decoded = new CopyOnWriteArrayList<>();
      KafkaConsumer<String, byte[]> consumer =
          KafkaConsumer.create(vertx, consumerConfig("decoder"));
      consumer.handler(
          record ->
              router.decode(record).onSuccess(result -> decoded.add(result.map(d -> d.body()))));
      consumer.subscribe(topics.push()).await();

      PushEvent push =
          new PushEvent(
              "acme",
              "shop",
              "https://git.example/shop.git",
              "main",
              "f".repeat(40),
              null,
              Map.of(),
              Instant.now());
      publisher.publish(topics.push(), push.buildId(), push).await();
      publisher
          .send(new ProducerRecord<>(topics.push(), "junk", "{}".getBytes(StandardCharsets.UTF_8)))
          .await();

      await().atMost(Duration.ofSeconds(30)).until(() -> decoded.size() == 2);
      assertThat(decoded).containsExactlyInAnyOrder(Optional.of(push), Optional.empty());

      List<KafkaConsumerRecord<String, byte[]>> dead = new CopyOnWriteArrayList<>();
      KafkaConsumer<String, byte[]> dlq = KafkaConsumer.create(vertx, consumerConfig("dlq-reader"));
      dlq.handler(dead::add);
      dlq.subscribe(topics.deadLetters()).await();
      await().atMost(Duration.ofSeconds(30)).until(() -> dead.size() == 1);
      var letter = dead.get(0);
      assertThat(letter.key()).isEqualTo("junk");
      assertThat(new String(letter.value(), StandardCharsets.UTF_8)).isEqualTo("{}");
      Map<String, String> headers = new java.util.HashMap<>();
      letter.headers().forEach(h -> headers.put(h.key(), h.value().toString()));
      assertThat(headers.get(DeadLetters.REASON)).contains("not a CloudEvent");
      assertThat(headers.get(DeadLetters.FIELD)).isEqualTo("ce_specversion");
      assertThat(headers.get(DeadLetters.SOURCE_TOPIC)).isEqualTo(topics.push());
      assertThat(headers.get(DeadLetters.CONSUMER)).isEqualTo("test-consumer");
      publisher.close().await();
    } finally {
      vertx.close().await();
    }
  }

  private static Map<String, String> consumerConfig(String group) {
    return Map.of(
        "bootstrap.servers", kafka.bootstrapServers(),
        "group.id", group + "-" + UUID.randomUUID(),
        "key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer",
        "value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer",
        "auto.offset.reset", "earliest");
  }
}
