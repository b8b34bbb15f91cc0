package dev.kiln.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.events.Digest;
import dev.kiln.events.ImageReady;
import dev.kiln.events.Topics;
import dev.kiln.messaging.EventPublisher;
import dev.kiln.messaging.KafkaTopicsAdmin;
import dev.kiln.testkit.EmbeddedKafka;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
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
  void deploysEachImageOnceAndDeadLettersGarbage(@TempDir Path dir) throws Exception {
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
    } finally {
      vertx.close().await();
    }
  }
}
