package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.buildpack.RuntimeCatalog;
import dev.kiln.coordinator.CoordinatorConfig;
import dev.kiln.coordinator.CoordinatorVerticle;
import dev.kiln.events.BuildTask;
import dev.kiln.events.EventBody;
import dev.kiln.events.EventCodec;
import dev.kiln.events.PushEvent;
import dev.kiln.events.TaskKind;
import dev.kiln.events.TaskResult;
import dev.kiln.events.Topics;
import dev.kiln.messaging.EventPublisher;
import dev.kiln.messaging.KafkaAcls;
import dev.kiln.messaging.KafkaClientSettings;
import dev.kiln.testkit.EmbeddedKafka;
import dev.kiln.testkit.GitRepo;
import dev.kiln.worker.TaskSteps;
import dev.kiln.worker.WorkerConfig;
import dev.kiln.worker.WorkerVerticle;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The coordinator and a worker, each logged in as its own SCRAM principal on a broker that allows
 * only the ACLs of docs/operations.md, still run a build's DETECT step: the coordinator creates the
 * topics, restores, takes a push, issues DETECT; the worker answers; the coordinator accepts the
 * result and moves on to INSTALL.
 */
class SecuredKafkaEndToEndTest {
  private static final Topics TOPICS = Topics.DEFAULT;

  @TempDir Path tmp;

  @Test
  void theCoordinatorAndAWorkerWithTheirOwnScramPrincipalsExchangeADetectTaskAndResult()
      throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.secure(KafkaAcls.all(TOPICS))) {
      Vertx vertx = Vertx.vertx();
      try {
        String bootstrap = kafka.bootstrapServers();
        vertx
            .deployVerticle(
                new CoordinatorVerticle(
                    CoordinatorConfig.defaults(bootstrap, TOPICS)
                        .withKafkaClient(settings(kafka, KafkaAcls.COORDINATOR))))
            .await();
        vertx
            .deployVerticle(
                new WorkerVerticle(
                    WorkerConfig.of(
                            "w1", bootstrap, TOPICS, tmp.resolve("w1"), "http://127.0.0.1:9", 1)
                        .withKafkaClient(settings(kafka, KafkaAcls.WORKER)),
                    resources -> TaskSteps.standard(resources, RuntimeCatalog.loadDefault())))
            .await();

        GitRepo repo = GitRepo.init(tmp.resolve("repo"));
        String commit =
            repo.commit(
                Map.of(
                    "requirements.txt", "gunicorn==22.0.0\n",
                    ".python-version", "3.12\n",
                    "Procfile", "web: gunicorn app:app\n",
                    "app.py", "app = None\n"),
                "sample app");
        PushEvent push =
            new PushEvent("acme", "web", repo.url(), "main", commit, null, Map.of(), Instant.now());
        EventPublisher pusher =
            new EventPublisher(
                vertx, bootstrap, settings(kafka, KafkaAcls.PUSHER), "/kiln/test-pusher");
        pusher.publish(TOPICS.push(), push.buildId(), push).await();
        pusher.close().await();

        await()
            .atMost(Duration.ofSeconds(120))
            .until(
                () ->
                    tasksOf(kafka, push.buildId()).stream()
                        .anyMatch(task -> task.kind() == TaskKind.INSTALL));
        List<TaskResult> results =
            readAll(kafka, KafkaAcls.COORDINATOR, TOPICS.results(), TaskResult.class).stream()
                .filter(r -> r.buildId().equals(push.buildId()))
                .toList();
        assertThat(results)
            .anySatisfy(
                r -> {
                  assertThat(r.kind()).isEqualTo(TaskKind.DETECT);
                  assertThat(r.succeeded()).as("DETECT result %s", r).isTrue();
                  assertThat(r.worker()).isEqualTo("w1");
                });
        assertThat(tasksOf(kafka, push.buildId()))
            .extracting(BuildTask::kind)
            .startsWith(TaskKind.DETECT, TaskKind.INSTALL);
      } finally {
        vertx.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
      }
    }
  }

  private static KafkaClientSettings settings(EmbeddedKafka kafka, String principal) {
    return KafkaClientSettings.of(kafka.saslSettings(principal));
  }

  private static List<BuildTask> tasksOf(EmbeddedKafka kafka, String buildId) {
    return readAll(kafka, KafkaAcls.WORKER, TOPICS.tasks(), BuildTask.class).stream()
        .filter(task -> task.buildId().equals(buildId))
        .toList();
  }

  /** Every decodable record of {@code topic}, read by assignment as {@code principal}. */
  private static <T extends EventBody> List<T> readAll(
      EmbeddedKafka kafka, String principal, String topic, Class<T> type) {
    Map<String, Object> config = Map.copyOf(kafka.clientConfig(principal));
    List<T> bodies = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))
          && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
          decode(record, type).ifPresent(bodies::add);
        }
      }
    }
    return bodies;
  }

  private static <T extends EventBody> Optional<T> decode(
      ConsumerRecord<String, byte[]> record, Class<T> type) {
    try {
      return Optional.of(EventCodec.decode(record.headers(), record.value()).body(type));
    } catch (Exception e) {
      return Optional.empty();
    }
  }
}
