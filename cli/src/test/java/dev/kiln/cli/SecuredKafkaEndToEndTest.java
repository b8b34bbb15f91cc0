package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.broker.EmbeddedKafka;
import dev.kiln.buildpack.RuntimeCatalog;
import dev.kiln.coordinator.CoordinatorConfig;
import dev.kiln.coordinator.CoordinatorVerticle;
import dev.kiln.events.BuildTask;
import dev.kiln.events.EventBody;
import dev.kiln.events.EventCodec;
import dev.kiln.events.PushEvent;
import dev.kiln.events.TaskKind;
import dev.kiln.events.TaskResult;
import dev.kiln.events.Tenant;
import dev.kiln.events.Topics;
import dev.kiln.messaging.EventPublisher;
import dev.kiln.messaging.KafkaAcls;
import dev.kiln.messaging.KafkaClientSettings;
import dev.kiln.messaging.KafkaTopicsAdmin;
import dev.kiln.testkit.GitRepo;
import dev.kiln.worker.TaskSteps;
import dev.kiln.worker.WorkerConfig;
import dev.kiln.worker.WorkerVerticle;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
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
        Path sources = tmp.resolve("repos");
        // The tenant exists before the coordinator starts (it restores kiln.tenants), and may
        // fetch from its own namespace of the farm's local repositories.
        KafkaTopicsAdmin.ensureTopics(bootstrap, settings(kafka, KafkaAcls.COORDINATOR), TOPICS);
        EventPublisher operator =
            new EventPublisher(
                vertx, bootstrap, settings(kafka, KafkaAcls.COORDINATOR), "/kiln/test-operator");
        operator
            .publish(
                TOPICS.tenants(),
                "acme",
                new Tenant(
                    "acme",
                    List.of(),
                    List.of(),
                    List.of(),
                    Tenant.Quotas.DEFAULTS,
                    Instant.now(),
                    Instant.now()))
            .await();
        operator.close().await();
        vertx
            .deployVerticle(
                new CoordinatorVerticle(
                    CoordinatorConfig.defaults(bootstrap, TOPICS)
                        .withSourceRoot(sources)
                        .withKafkaClient(settings(kafka, KafkaAcls.COORDINATOR))))
            .await();
        vertx
            .deployVerticle(
                new WorkerVerticle(
                    WorkerConfig.of(
                            "w1", bootstrap, TOPICS, tmp.resolve("w1"), "http://127.0.0.1:9", 1)
                        .withSourceRoot(sources)
                        .withKafkaClient(settings(kafka, KafkaAcls.WORKER)),
                    resources -> TaskSteps.standard(resources, RuntimeCatalog.loadDefault())))
            .await();

        GitRepo repo = GitRepo.init(sources.resolve("acme/web"));
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
            .contains(TaskKind.DETECT, TaskKind.INSTALL);
      } finally {
        vertx.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
      }
    }
  }

  /**
   * {@code kiln up --kafka … --kafka-properties …}: one principal for the whole process, allowed
   * what the coordinator and the workers are; every client of the farm logs in with it.
   */
  @Test
  void kilnUpAgainstASecuredClusterGivesEveryKafkaClientItsSettings() throws Exception {
    List<AclBinding> farmAcls = new ArrayList<>();
    for (String service : List.of(KafkaAcls.COORDINATOR, KafkaAcls.WORKER)) {
      for (AclBinding binding : KafkaAcls.forPrincipal(service, TOPICS, KafkaAcls.Groups.DEFAULT)) {
        AccessControlEntry entry = binding.entry();
        farmAcls.add(
            new AclBinding(
                binding.pattern(),
                new AccessControlEntry(
                    "User:farm", entry.host(), entry.operation(), entry.permissionType())));
      }
    }
    Map<String, List<AclBinding>> acls = new LinkedHashMap<>();
    acls.put("farm", farmAcls);
    acls.put(
        KafkaAcls.PUSHER,
        KafkaAcls.forPrincipal(KafkaAcls.PUSHER, TOPICS, KafkaAcls.Groups.DEFAULT));
    acls.put(
        KafkaAcls.WORKER,
        KafkaAcls.forPrincipal(KafkaAcls.WORKER, TOPICS, KafkaAcls.Groups.DEFAULT));
    try (EmbeddedKafka kafka = EmbeddedKafka.secure(acls)) {
      FarmSettings local =
          FarmSettings.local(tmp.resolve("home"), tmp.toUri().toString(), null, 1, "offline");
      FarmSettings settings =
          new FarmSettings(
                  local.home(),
                  kafka.bootstrapServers(),
                  local.upstreamIndex(),
                  null,
                  0,
                  0,
                  1,
                  "offline",
                  "",
                  local.debianMirror(),
                  local.buildStepTimeout(),
                  local.buildStepMemoryMiB(),
                  null,
                  null,
                  true,
                  null,
                  false)
              .withKafkaClient(settings(kafka, "farm"));
      List<String> said = new java.util.concurrent.CopyOnWriteArrayList<>();
      try (Farm farm = Farm.start(settings, said::add)) {
        assertThat(String.join("\n", said))
            .contains("Kafka client settings")
            .contains("sasl.jaas.config=****")
            .doesNotContain("password=");
        GitRepo repo = GitRepo.init(settings.home().resolve("repos/acme/up"));
        String commit =
            repo.commit(
                Map.of(
                    "requirements.txt", "gunicorn==22.0.0\n",
                    ".python-version", "3.13\n", // in the offline runtime catalog
                    "app.py", "app = None\n"),
                "sample app");
        PushEvent push =
            new PushEvent("acme", "up", repo.url(), "main", commit, null, Map.of(), Instant.now());
        // Through the API with the operator token: kiln up creates the tenant on its first push.
        new CoordinatorClient(
                farm.endpoints().coordinatorUrl(), FarmSecrets.clientToken(null, settings.home()))
            .push(push);
        await()
            .atMost(Duration.ofSeconds(120))
            .until(
                () ->
                    readAll(kafka, "farm", TOPICS.results(), TaskResult.class).stream()
                        .anyMatch(r -> r.buildId().equals(push.buildId())));
        assertThat(readAll(kafka, "farm", TOPICS.results(), TaskResult.class))
            .filteredOn(r -> r.buildId().equals(push.buildId()))
            .first()
            .satisfies(r -> assertThat(r.succeeded()).as("DETECT result %s", r).isTrue());
        await()
            .atMost(Duration.ofSeconds(60))
            .until(
                () ->
                    tasksOf(kafka, push.buildId()).stream()
                        .anyMatch(task -> task.kind() == TaskKind.INSTALL));
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
