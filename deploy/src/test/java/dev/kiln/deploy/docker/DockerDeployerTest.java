package dev.kiln.deploy.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.broker.EmbeddedKafka;
import dev.kiln.deploy.ReferenceDeployerVerticle;
import dev.kiln.events.DeployFailed;
import dev.kiln.events.Digest;
import dev.kiln.events.ImageReady;
import dev.kiln.events.Topics;
import dev.kiln.messaging.EventPublisher;
import dev.kiln.messaging.KafkaClientSettings;
import dev.kiln.messaging.KafkaTopicsAdmin;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Docker deployer against a real broker and the real Docker daemon: versions 1 and 2 of an app
 * take over its stable port one after the other without a failed request in between, a version that
 * crashes at start leaves version 2 serving and publishes deploy-failed, and an older build's event
 * arriving later does not roll the app back.
 */
class DockerDeployerTest {
  private static EmbeddedKafka kafka;
  private static final String RUN = UUID.randomUUID().toString().substring(0, 6);
  private static final String V1 = "kiln-test/deploy-v1:" + RUN;
  private static final String V2 = "kiln-test/deploy-v2:" + RUN;
  private static final String V3 = "kiln-test/deploy-v3:" + RUN;
  private static final String SILENT = "kiln-test/deploy-silent:" + RUN;
  private static final String NO_COMMAND = "kiln-test/deploy-no-command:" + RUN;
  @TempDir static Path temp;

  @BeforeAll
  static void setUp() throws Exception {
    TestApps.requireDockerAndBase();
    TestApps.buildServer(V1, "v1", 0);
    // Slow to start, so the switch happens while version 1 keeps answering.
    TestApps.buildServer(V2, "v2", 1.5);
    TestApps.buildCrasher(V3, "v3 crashes at start");
    TestApps.buildSilent(SILENT);
    TestApps.build(NO_COMMAND, "[\"/no/such/launcher\"]");
    kafka = EmbeddedKafka.start();
  }

  @AfterAll
  static void tearDown() throws Exception {
    if (kafka != null) {
      kafka.close();
    }
    TestApps.remove(V1, V2, V3, SILENT, NO_COMMAND);
  }

  @Test
  void switchesTheStablePortWithoutAGapKeepsServingOnACrashAndNeverRollsBack() throws Exception {
    Topics topics = Topics.withPrefix("t" + RUN + ".");
    KafkaTopicsAdmin.ensureTopics(kafka.bootstrapServers(), topics);
    String app = "web" + RUN.replaceAll("[^a-z0-9]", "");
    String key = "acme/" + app;
    Vertx vertx = Vertx.vertx();
    List<DockerDeployer.Deployed> deployed = new CopyOnWriteArrayList<>();
    List<String> skipped = new CopyOnWriteArrayList<>();
    EventPublisher publisher = new EventPublisher(vertx, kafka.bootstrapServers(), "/kiln/test");
    EventPublisher deployerPublisher =
        new EventPublisher(vertx, kafka.bootstrapServers(), "/kiln/deployer/test");
    DockerDeployer deployer =
        new DockerDeployer(
            vertx,
            DockerDeployer.Settings.defaults()
                .withHealth(Duration.ofSeconds(30), Duration.ofMillis(100)),
            new PublishingObserver(
                deployerPublisher,
                topics,
                new DockerDeployer.Observer() {
                  @Override
                  public void deployed(DockerDeployer.Deployed d) {
                    deployed.add(d);
                  }

                  @Override
                  public void skipped(String eventId, ImageReady image, String reason) {
                    skipped.add(eventId + ": " + reason);
                  }

                  @Override
                  public void failed(DeployFailed failure) {}
                }));
    try {
      vertx
          .deployVerticle(
              new ReferenceDeployerVerticle(
                  kafka.bootstrapServers(),
                  KafkaClientSettings.none(),
                  topics,
                  "kiln-deployer-docker-test",
                  deployer,
                  new ReferenceDeployerVerticle.Retries(
                      2, Duration.ofMillis(100), Duration.ofMillis(100))))
          .await();
      Instant t0 = Instant.parse("2026-12-01T00:00:00Z");
      // Version 1 comes as the tarball a worker writes without --registry.
      Path tarball = temp.resolve("v1.tar");
      assertThat(TestApps.docker("save", "-o", tarball.toString(), V1).exitCode()).isZero();
      ImageReady v1 = image(app, "b-0123456789abcdef0301", '1', "tar:" + tarball, t0);
      ImageReady v2 = image(app, "b-0123456789abcdef0302", '2', V2, t0.plusSeconds(60));
      ImageReady v3 = image(app, "b-0123456789abcdef0303", '3', V3, t0.plusSeconds(120));

      publish(publisher, topics, key, v1, v1.buildId() + ":image-ready");
      await().atMost(Duration.ofSeconds(60)).until(() -> deployer.url("acme", app).isPresent());
      URI url = deployer.url("acme", app).orElseThrow();
      assertThat(get(url)).contains("v1");
      assertThat(deployed).extracting(DockerDeployer.Deployed::url).containsExactly(url);

      // Poll the stable port every 50 ms across the switch to version 2.
      ConcurrentLinkedQueue<String> answers = new ConcurrentLinkedQueue<>();
      ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
      AtomicBoolean polling = new AtomicBoolean(true);
      Thread poller =
          new Thread(
              () -> {
                while (polling.get()) {
                  Optional<String> body = get(url);
                  if (body.isPresent()) {
                    answers.add(body.get());
                  } else {
                    failures.add(Instant.now().toString());
                  }
                  try {
                    Thread.sleep(50);
                  } catch (InterruptedException e) {
                    return;
                  }
                }
              });
      poller.start();
      publish(publisher, topics, key, v2, v2.buildId() + ":image-ready");
      await().atMost(Duration.ofSeconds(60)).until(() -> answers.contains("v2"));
      Thread.sleep(500);
      polling.set(false);
      poller.join();
      assertThat(failures).as("failed requests across the switch").isEmpty();
      assertThat(answers).contains("v1", "v2");
      assertThat(List.copyOf(answers).subList(List.copyOf(answers).indexOf("v2"), answers.size()))
          .as("once v2 answered, v1 never did again")
          .containsOnly("v2");
      assertThat(deployer.url("acme", app)).contains(url);
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> TestApps.containers("dev.kiln.app=" + key).lines().count() == 1);

      // Version 3 crashes at start: version 2 keeps serving and deploy-failed says why.
      try (KafkaConsumer<String, byte[]> failed = consumer(topics.deployFailed())) {
        publish(publisher, topics, key, v3, v3.buildId() + ":image-ready");
        ConsumerRecord<String, byte[]> record = poll(failed, Duration.ofSeconds(60));
        assertThat(record.key()).isEqualTo(key);
        String body = new String(record.value(), StandardCharsets.UTF_8);
        assertThat(body)
            .contains("\"code\":\"deploy::exited\"")
            .contains(v3.buildId())
            .contains("v3 crashes at start");
        assertThat(new String(record.headers().lastHeader("ce_type").value()))
            .isEqualTo("dev.kiln.deploy-failed.v1");
      }
      assertThat(get(url)).contains("v2");
      assertThat(TestApps.containers("dev.kiln.build=" + v3.buildId())).isEmpty();

      // Version 1's event again (redelivered, and once more as if from a restarted deployer that
      // forgot the id): the app stays at version 2.
      publish(publisher, topics, key, v1, v1.buildId() + ":image-ready");
      publish(publisher, topics, key, v1, v1.buildId() + ":image-ready-again");
      await().atMost(Duration.ofSeconds(30)).until(() -> !skipped.isEmpty());
      assertThat(skipped.get(0)).contains("never rolls back");
      assertThat(get(url)).contains("v2");
      assertThat(deployed).hasSize(2);
    } finally {
      vertx.close().await();
      deployer.close();
    }
    assertThat(TestApps.containers("dev.kiln.app=" + key)).as("containers left").isEmpty();
  }

  @Test
  void containersThatNeverAnswerOrCannotStartAreRemovedAndReported() throws Exception {
    Vertx vertx = Vertx.vertx();
    List<DeployFailed> failures = new CopyOnWriteArrayList<>();
    DockerDeployer deployer =
        new DockerDeployer(
            vertx,
            DockerDeployer.Settings.defaults()
                .withHealth(Duration.ofSeconds(2), Duration.ofMillis(100)),
            failures::add);
    String app = "quiet" + RUN.replaceAll("[^a-z0-9]", "");
    ImageReady silent =
        image(app, "b-0123456789abcdef0401", '4', SILENT, Instant.parse("2026-12-01T00:00:00Z"));
    try {
      deployer.imageReady(silent.buildId() + ":image-ready", silent);
      assertThat(failures).hasSize(1);
      DeployFailed failure = failures.get(0);
      assertThat(failure.code()).isEqualTo("deploy::unhealthy");
      assertThat(failure.message()).contains("within 2 s").contains("is not served");
      assertThat(failure.logTail()).contains("listening on nothing");
      assertThat(failure.buildId()).isEqualTo(silent.buildId());
      assertThat(deployer.url("acme", app)).isEmpty();
      assertThat(TestApps.containers("dev.kiln.app=acme/" + app)).isEmpty();

      ImageReady noCommand =
          image(
              app,
              "b-0123456789abcdef0402",
              '5',
              NO_COMMAND,
              Instant.parse("2026-12-01T00:01:00Z"));
      deployer.imageReady(noCommand.buildId() + ":image-ready", noCommand);
      assertThat(failures).hasSize(2);
      assertThat(failures.get(1).code()).isEqualTo("deploy::start-failed");
      assertThat(failures.get(1).message()).contains("/no/such/launcher");
      assertThat(TestApps.containers("dev.kiln.app=acme/" + app)).isEmpty();
    } finally {
      deployer.close();
      vertx.close().await();
    }
  }

  /** A worker with --registry publishes a registry reference: the deployer pulls it. */
  @Test
  void pullsAnImageFromALoopbackRegistry() throws Exception {
    try (dev.kiln.testkit.LocalRegistry registry = dev.kiln.testkit.LocalRegistry.start()) {
      String reference = registry.address() + "/acme/pulled:" + RUN;
      assertThat(TestApps.docker("tag", V1, reference).exitCode()).isZero();
      TestApps.Result push = TestApps.docker("push", reference);
      assertThat(push.exitCode()).as(push.output()).isZero();
      TestApps.remove(reference); // only the registry has it now
      assertThat(TestApps.docker("image", "inspect", reference).exitCode()).isNotZero();

      Vertx vertx = Vertx.vertx();
      DockerDeployer deployer =
          new DockerDeployer(
              vertx,
              DockerDeployer.Settings.defaults()
                  .withHealth(Duration.ofSeconds(30), Duration.ofMillis(100)),
              failure -> {
                throw new AssertionError("deploy failed: " + failure);
              });
      String app = "pulled" + RUN.replaceAll("[^a-z0-9]", "");
      ImageReady pulled =
          new ImageReady(
              "b-0123456789abcdef0501",
              "acme",
              app,
              "6".repeat(40),
              "HEAD",
              reference,
              Digest.of("6".repeat(64)),
              "3.11.2",
              "python3 server.py",
              List.of(),
              Instant.parse("2026-12-01T00:00:00Z"));
      try {
        deployer.imageReady(pulled.buildId() + ":image-ready", pulled);
        assertThat(get(deployer.url("acme", app).orElseThrow())).contains("v1");
      } finally {
        deployer.close();
        vertx.close().await();
        TestApps.remove(reference);
      }
    }
  }

  private static ImageReady image(
      String app, String buildId, char c, String dockerImage, Instant finishedAt) {
    return new ImageReady(
        buildId,
        "acme",
        app,
        String.valueOf(c).repeat(40),
        "HEAD",
        dockerImage.startsWith("tar:") ? dockerImage : "docker:" + dockerImage,
        Digest.of(String.valueOf(c).repeat(64)),
        "3.11.2",
        "python3 server.py",
        List.of(),
        finishedAt);
  }

  private static void publish(
      EventPublisher publisher, Topics topics, String key, ImageReady image, String id) {
    publisher
        .publish(topics.imageReady(), key, publisher.codec().toCloudEvent(image, key, id))
        .await();
  }

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /** The body of GET / when it answered 200. */
  private static Optional<String> get(URI url) {
    try {
      HttpResponse<String> response =
          HTTP.send(
              HttpRequest.newBuilder(url.resolve("/")).timeout(Duration.ofSeconds(5)).build(),
              HttpResponse.BodyHandlers.ofString());
      return response.statusCode() == 200 ? Optional.of(response.body()) : Optional.empty();
    } catch (Exception e) {
      return Optional.empty();
    }
  }

  private static KafkaConsumer<String, byte[]> consumer(String topic) {
    KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(
            Map.of(
                "bootstrap.servers",
                kafka.bootstrapServers(),
                "group.id",
                "test-" + UUID.randomUUID(),
                "auto.offset.reset",
                "earliest"),
            new StringDeserializer(),
            new ByteArrayDeserializer());
    consumer.subscribe(List.of(topic));
    return consumer;
  }

  private static ConsumerRecord<String, byte[]> poll(
      KafkaConsumer<String, byte[]> consumer, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
        return record;
      }
    }
    throw new AssertionError("no record within " + timeout);
  }
}
