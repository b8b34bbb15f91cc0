package dev.kiln.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.broker.EmbeddedKafka;
import dev.kiln.events.DeadLetters;
import dev.kiln.events.Digest;
import dev.kiln.events.ImageReady;
import dev.kiln.events.Topics;
import dev.kiln.messaging.EventPublisher;
import dev.kiln.messaging.KafkaClientSettings;
import dev.kiln.messaging.KafkaTopicsAdmin;
import io.vertx.core.Vertx;
import io.vertx.kafka.client.producer.RecordMetadata;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReferenceDeployerVerticleTest {
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
  void deploysEachImageOnceSkipsCiImagesAndDeadLettersGarbage(@TempDir Path dir) throws Exception {
    Topics topics = Topics.withPrefix("t" + UUID.randomUUID().toString().substring(0, 8) + ".");
    KafkaTopicsAdmin.ensureTopics(kafka.bootstrapServers(), topics);
    Vertx vertx = Vertx.vertx();
    try {
      Path log = dir.resolve("deployments.jsonl");
      vertx
          .deployVerticle(
              new ReferenceDeployerVerticle(
                  kafka.bootstrapServers(), topics, "deployer-test", new DeploymentLog(log)))
          .await();
      EventPublisher publisher = new EventPublisher(vertx, kafka.bootstrapServers(), "/kiln/test");
      String commit = "a".repeat(40);
      ImageReady ready =
          new ImageReady(
              "b-0123456789abcdef0123",
              "acme",
              "shop",
              commit,
              "HEAD",
              "kiln/acme/shop:aaaaaaaaaaaa",
              Digest.of("c".repeat(64)),
              "3.12.7",
              "gunicorn app:app",
              List.of(),
              Instant.now());
      var event =
          publisher.codec().toCloudEvent(ready, "acme/shop", ready.buildId() + ":image-ready");
      publisher.publish(topics.imageReady(), "acme/shop", event).await();
      publisher.publish(topics.imageReady(), "acme/shop", event).await(); // a redelivered copy
      publisher
          .send(
              new org.apache.kafka.clients.producer.ProducerRecord<>(
                  topics.imageReady(), "acme/shop", "not an event".getBytes()))
          .await();
      // A CI build's image holds the test dependencies: it must never replace the app.
      ImageReady ciImage =
          new ImageReady(
              "b-0123456789abcdef0125",
              "acme",
              "shop",
              "b".repeat(40),
              "HEAD",
              "kiln/acme/shop:ci-bbbbbbbbbbbb",
              Digest.of("e".repeat(64)),
              "3.12.7",
              "gunicorn app:app",
              List.of(),
              Instant.now(),
              true);
      publisher
          .publish(
              topics.imageReady(),
              "acme/shop",
              publisher
                  .codec()
                  .toCloudEvent(ciImage, "acme/shop", ciImage.buildId() + ":image-ready"))
          .await();
      ImageReady second =
          new ImageReady(
              "b-0123456789abcdef0124",
              "acme",
              "shop",
              "b".repeat(40),
              "HEAD",
              "kiln/acme/shop:bbbbbbbbbbbb",
              Digest.of("d".repeat(64)),
              "3.12.7",
              "gunicorn app:app",
              List.of(),
              Instant.now());
      publisher
          .publish(
              topics.imageReady(),
              "acme/shop",
              publisher
                  .codec()
                  .toCloudEvent(second, "acme/shop", second.buildId() + ":image-ready"))
          .await();

      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> Files.exists(log) && Files.readAllLines(log).size() >= 2);
      await()
          .during(Duration.ofSeconds(2))
          .atMost(Duration.ofSeconds(10))
          .until(() -> Files.readAllLines(log).size() == 2);
      List<String> lines = Files.readAllLines(log);
      assertThat(lines.get(0))
          .contains("kiln/acme/shop:aaaaaaaaaaaa")
          .contains(ready.buildId() + ":image-ready");
      assertThat(lines.get(1)).contains("kiln/acme/shop:bbbbbbbbbbbb");
      assertThat(String.join("\n", lines)).doesNotContain("ci-bbbbbbbbbbbb");
    } finally {
      vertx.close().await();
    }
  }

  private static ImageReady image(String buildId, char c) {
    return new ImageReady(
        buildId,
        "acme",
        "shop",
        String.valueOf(c).repeat(40),
        "HEAD",
        "kiln/acme/shop:" + String.valueOf(c).repeat(12),
        Digest.of(String.valueOf(c).repeat(64)),
        "3.12.7",
        "gunicorn app:app",
        List.of(),
        Instant.now());
  }

  private static RecordMetadata publish(EventPublisher publisher, Topics topics, ImageReady image) {
    return publisher
        .publish(
            topics.imageReady(),
            "acme/shop",
            publisher.codec().toCloudEvent(image, "acme/shop", image.buildId() + ":image-ready"))
        .await();
  }

  /** The group's committed offset on the record's partition; -1 when nothing is committed. */
  private static long committed(String group, Topics topics, RecordMetadata record)
      throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
      Map<TopicPartition, OffsetAndMetadata> offsets =
          admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
      OffsetAndMetadata offset =
          offsets.get(new TopicPartition(topics.imageReady(), record.getPartition()));
      return offset == null ? -1 : offset.offset();
    }
  }

  private static Topics freshTopics() throws Exception {
    Topics topics = Topics.withPrefix("t" + UUID.randomUUID().toString().substring(0, 8) + ".");
    KafkaTopicsAdmin.ensureTopics(kafka.bootstrapServers(), topics);
    return topics;
  }

  @Test
  void aFailedDeployIsRetriedAndNothingIsCommittedPastIt(@TempDir Path dir) throws Exception {
    Topics topics = freshTopics();
    Path log = dir.resolve("deployments.jsonl");
    DeploymentLog deployments = new DeploymentLog(log);
    ImageReady first = image("b-0123456789abcdef0201", 'e');
    ImageReady second = image("b-0123456789abcdef0202", 'f');
    AtomicBoolean registryDown = new AtomicBoolean(true);
    AtomicInteger firstAttempts = new AtomicInteger();
    ImageReadyListener flaky =
        (id, image) -> {
          if (image.buildId().equals(first.buildId())) {
            firstAttempts.incrementAndGet();
            if (registryDown.get()) {
              throw new IllegalStateException("registry unavailable");
            }
          }
          deployments.imageReady(id, image);
        };
    Vertx vertx = Vertx.vertx();
    try {
      vertx
          .deployVerticle(
              new ReferenceDeployerVerticle(
                  kafka.bootstrapServers(),
                  KafkaClientSettings.none(),
                  topics,
                  "deployer-retry",
                  flaky,
                  new ReferenceDeployerVerticle.Retries(
                      1_000, Duration.ofMillis(20), Duration.ofMillis(100))))
          .await();
      EventPublisher publisher = new EventPublisher(vertx, kafka.bootstrapServers(), "/kiln/test");
      RecordMetadata a = publish(publisher, topics, first);
      RecordMetadata b = publish(publisher, topics, second);
      assertThat(b.getPartition()).isEqualTo(a.getPartition());

      // While the first image keeps failing: tried again, the second not deployed ahead of it,
      // and no offset committed past it.
      await().atMost(Duration.ofSeconds(30)).until(() -> firstAttempts.get() >= 3);
      await()
          .during(Duration.ofSeconds(2))
          .atMost(Duration.ofSeconds(10))
          .until(() -> !Files.exists(log) || Files.readAllLines(log).isEmpty());
      assertThat(committed("deployer-retry", topics, a)).isLessThanOrEqualTo(a.getOffset());
      int attemptsWhileDown = firstAttempts.get();
      assertThat(attemptsWhileDown).isGreaterThanOrEqualTo(3);

      registryDown.set(false);
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> Files.exists(log) && Files.readAllLines(log).size() >= 2);
      List<String> lines = Files.readAllLines(log);
      assertThat(lines).hasSize(2);
      assertThat(lines.get(0)).contains(first.buildId() + ":image-ready");
      assertThat(lines.get(1)).contains(second.buildId() + ":image-ready");
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> committed("deployer-retry", topics, b) == b.getOffset() + 1);
    } finally {
      vertx.close().await();
    }
  }

  @Test
  void aDeployThatKeepsFailingIsDeadLetteredAndTheConsumerCarriesOn(@TempDir Path dir)
      throws Exception {
    Topics topics = freshTopics();
    Path log = dir.resolve("deployments.jsonl");
    DeploymentLog deployments = new DeploymentLog(log);
    ImageReady doomed = image("b-0123456789abcdef0301", '1');
    ImageReady fine = image("b-0123456789abcdef0302", '2');
    AtomicInteger doomedAttempts = new AtomicInteger();
    ImageReadyListener listener =
        (id, image) -> {
          if (image.buildId().equals(doomed.buildId())) {
            doomedAttempts.incrementAndGet();
            throw new IllegalStateException("registry said no");
          }
          deployments.imageReady(id, image);
        };
    Vertx vertx = Vertx.vertx();
    try {
      vertx
          .deployVerticle(
              new ReferenceDeployerVerticle(
                  kafka.bootstrapServers(),
                  KafkaClientSettings.none(),
                  topics,
                  "deployer-dlq",
                  listener,
                  new ReferenceDeployerVerticle.Retries(
                      3, Duration.ofMillis(10), Duration.ofMillis(50))))
          .await();
      EventPublisher publisher = new EventPublisher(vertx, kafka.bootstrapServers(), "/kiln/test");
      RecordMetadata a = publish(publisher, topics, doomed);
      RecordMetadata b = publish(publisher, topics, fine);

      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> Files.exists(log) && Files.readAllLines(log).size() >= 1);
      assertThat(Files.readAllLines(log))
          .singleElement()
          .asString()
          .contains(fine.buildId() + ":image-ready");
      assertThat(doomedAttempts).hasValue(3);
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> committed("deployer-dlq", topics, b) == b.getOffset() + 1);

      List<ConsumerRecord<String, byte[]>> dead = new ArrayList<>();
      try (KafkaConsumer<String, byte[]> reader =
          new KafkaConsumer<>(
              Map.of(
                  "bootstrap.servers",
                  kafka.bootstrapServers(),
                  "group.id",
                  "dlq-reader-" + UUID.randomUUID(),
                  "auto.offset.reset",
                  "earliest"),
              new StringDeserializer(),
              new ByteArrayDeserializer())) {
        reader.subscribe(List.of(topics.deadLetters()));
        await()
            .atMost(Duration.ofSeconds(30))
            .until(
                () -> {
                  reader.poll(Duration.ofMillis(200)).forEach(dead::add);
                  return !dead.isEmpty();
                });
      }
      assertThat(dead).hasSize(1);
      ConsumerRecord<String, byte[]> letter = dead.get(0);
      assertThat(letter.key()).isEqualTo("acme/shop");
      assertThat(header(letter, DeadLetters.REASON))
          .contains(doomed.buildId() + ":image-ready")
          .contains("failed 3 times")
          .contains("registry said no");
      assertThat(header(letter, DeadLetters.FIELD)).isEqualTo("deploy");
      assertThat(header(letter, DeadLetters.SOURCE_TOPIC)).isEqualTo(topics.imageReady());
      assertThat(header(letter, DeadLetters.SOURCE_OFFSET)).isEqualTo(Long.toString(a.getOffset()));
      assertThat(header(letter, DeadLetters.CONSUMER)).isEqualTo("deployer-dlq");
    } finally {
      vertx.close().await();
    }
  }

  private static String header(ConsumerRecord<String, byte[]> record, String name) {
    var header = record.headers().lastHeader(name);
    return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
  }
}
