package dev.kiln.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.broker.EmbeddedKafka;
import dev.kiln.buildpack.RuntimeCatalog;
import dev.kiln.events.BuildLogLine;
import dev.kiln.events.BuildPlanSummary;
import dev.kiln.events.BuildTask;
import dev.kiln.events.DeadLetters;
import dev.kiln.events.EventCodec;
import dev.kiln.events.EventType;
import dev.kiln.events.TaskHeartbeat;
import dev.kiln.events.TaskKind;
import dev.kiln.events.TaskResult;
import dev.kiln.observability.Tracing;
import dev.kiln.testkit.GitRepo;
import dev.kiln.worker.testsupport.KafkaTopicsFixture;
import dev.kiln.worker.testsupport.Tasks;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Context;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The worker over a real broker: tasks in, logs and results out, offsets committed after. */
class WorkerVerticleTest {
  private static EmbeddedKafka kafka;

  @TempDir Path tmp;
  private KafkaTopicsFixture topics;
  private Vertx vertx;
  private String group;

  @BeforeAll
  static void startBroker() {
    kafka = EmbeddedKafka.start();
  }

  @AfterAll
  static void stopBroker() {
    kafka.close();
  }

  @BeforeEach
  void freshTopics() throws Exception {
    topics = KafkaTopicsFixture.create(kafka);
    vertx = Vertx.vertx();
    group = "workers-" + UUID.randomUUID();
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    topics.close();
  }

  private WorkerConfig config(String workerId) {
    return WorkerConfig.of(
            workerId,
            kafka.bootstrapServers(),
            topics.topics(),
            tmp.resolve(workerId),
            "http://127.0.0.1:9",
            2)
        .withConsumerGroup(group)
        .withSourceRoot(tmp.resolve("repos"));
  }

  private WorkerVerticle deploy(WorkerConfig config, WorkerVerticle.StepsFactory steps)
      throws Exception {
    WorkerVerticle worker = new WorkerVerticle(config, steps);
    vertx
        .deployVerticle(worker)
        .toCompletionStage()
        .toCompletableFuture()
        .get(60, TimeUnit.SECONDS);
    return worker;
  }

  /** The results on kiln.results (which also carries the workers' lease heartbeats). */
  private List<TaskResult> results() {
    return decoded(ofType(topics.topics().results(), EventType.TASK_RESULT), TaskResult.class);
  }

  private List<TaskHeartbeat> heartbeats() {
    return decoded(
        ofType(topics.topics().results(), EventType.TASK_HEARTBEAT), TaskHeartbeat.class);
  }

  private List<ConsumerRecord<String, byte[]>> ofType(String topic, EventType type) {
    return topics.readAll(topic).stream()
        .filter(
            r -> {
              var header = r.headers().lastHeader("ce_type");
              return header != null
                  && type.ceType()
                      .equals(new String(header.value(), java.nio.charset.StandardCharsets.UTF_8));
            })
        .toList();
  }

  private static <T extends dev.kiln.events.EventBody> List<T> decoded(
      List<ConsumerRecord<String, byte[]>> records, Class<T> type) {
    return records.stream()
        .map(
            record -> {
              try {
                return EventCodec.decode(record.headers(), record.value()).body(type);
              } catch (Exception e) {
                throw new AssertionError(
                    "not a " + type.getSimpleName() + ": " + e.getMessage(), e);
              }
            })
        .toList();
  }

  private int partitionOf(String buildId) {
    return topics.readAll(topics.topics().tasks()).stream()
        .filter(r -> buildId.equals(r.key()))
        .findFirst()
        .orElseThrow()
        .partition();
  }

  private BuildTask detectTaskForASampleApp() throws Exception {
    GitRepo repo = GitRepo.init(tmp.resolve("repos/acme/repo"));
    String commit =
        repo.commit(
            Map.of(
                "requirements.txt", "gunicorn==22.0.0\n",
                ".python-version", "3.12\n",
                "Procfile", "web: gunicorn app:app\n",
                "app.py", "app = None\n"),
            "sample app");
    return Tasks.detect("acme", "web", repo.url(), commit);
  }

  @Test
  void aDetectTaskGivesAResultAndLogLinesAndItsOffsetIsCommittedAfterwards() throws Exception {
    WorkerVerticle worker =
        deploy(
            config("w1"), resources -> TaskSteps.standard(resources, RuntimeCatalog.loadDefault()));
    BuildTask task = detectTaskForASampleApp();
    // The task's record carries the coordinator's dispatch span, as the coordinator writes it.
    Span dispatch;
    try (Tracing coordinator = Tracing.unexported("kiln-coordinator")) {
      dispatch = coordinator.mark("dispatch DETECT", Context.root(), SpanKind.PRODUCER);
    }

    topics.publish(
        topics.topics().tasks(),
        task.partitionKey(),
        task,
        headers -> Tracing.inject(dispatch, headers));

    await().atMost(Duration.ofSeconds(60)).until(() -> !results().isEmpty());
    TaskResult result = results().get(0);
    // The result goes on in the same trace, from the worker's own span of the task.
    SpanContext reported =
        Tracing.spanContextOf(
            ofType(topics.topics().results(), EventType.TASK_RESULT).get(0).headers());
    assertThat(reported.getTraceId()).isEqualTo(dispatch.getSpanContext().getTraceId());
    assertThat(reported.getSpanId()).isNotEqualTo(dispatch.getSpanContext().getSpanId());
    assertThat(result.succeeded()).as("result %s", result).isTrue();
    assertThat(result.taskId()).isEqualTo(task.taskId());
    assertThat(result.worker()).isEqualTo("w1");
    assertThat(result.plan().pythonVersion()).isEqualTo("3.12.7");
    assertThat(result.plan().runCommand()).isEqualTo("gunicorn app:app");
    assertThat(result.dependencyKey()).matches("[0-9a-f]{64}");
    int partition = partitionOf(task.buildId());
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> topics.committedOffsets(group, topics.topics().tasks()).get(partition),
            offset -> offset != null && offset == 1L);
    List<BuildLogLine> logs = decoded(topics.readAll(topics.topics().logs()), BuildLogLine.class);
    assertThat(logs)
        .isNotEmpty()
        .allSatisfy(line -> assertThat(line.buildId()).isEqualTo(task.buildId()));
    assertThat(logs).extracting(BuildLogLine::seq).isSorted();
    assertThat(topics.readAll(topics.topics().logs()))
        .allSatisfy(
            line ->
                assertThat(Tracing.spanContextOf(line.headers()).getTraceId())
                    .isEqualTo(dispatch.getSpanContext().getTraceId()));
    assertThat(logs).extracting(BuildLogLine::text).anyMatch(text -> text.contains("Fetching"));
    assertThat(results()).hasSize(1);
    assertThat(worker.committedTasks()).isEqualTo(1);
  }

  @Test
  void aFailingStepGivesAFailedResultWithItsCode() throws Exception {
    deploy(config("w1"), resources -> TaskSteps.standard(resources, RuntimeCatalog.loadDefault()));
    GitRepo repo = GitRepo.init(tmp.resolve("repos/acme/repo"));
    String commit = repo.commit(Map.of("README.md", "no python here\n"), "not an app");
    BuildTask task = Tasks.detect("acme", "web", repo.url(), commit);

    topics.publish(topics.topics().tasks(), task.partitionKey(), task);

    await().atMost(Duration.ofSeconds(60)).until(() -> !results().isEmpty());
    TaskResult result = results().get(0);
    assertThat(result.outcome()).isEqualTo(TaskResult.Outcome.FAILED);
    assertThat(result.failure().code()).isEqualTo("detect::no-python-files");
  }

  @Test
  void anUnexpectedExceptionInAStepBecomesAnInternalErrorResult() throws Exception {
    deploy(
        config("w1"),
        resources ->
            TaskSteps.none()
                .with(
                    TaskKind.DETECT,
                    ctx -> {
                      throw new IllegalStateException("boom");
                    }));
    BuildTask task = detectTaskForASampleApp();

    topics.publish(topics.topics().tasks(), task.partitionKey(), task);

    await().atMost(Duration.ofSeconds(60)).until(() -> !results().isEmpty());
    TaskResult result = results().get(0);
    assertThat(result.outcome()).isEqualTo(TaskResult.Outcome.FAILED);
    assertThat(result.failure().code()).isEqualTo("worker::internal-error");
    assertThat(result.failure().message()).contains("boom").contains(task.buildId());
  }

  @Test
  void aMalformedTaskIsDeadLetteredAndTheNextTaskStillRuns() throws Exception {
    deploy(config("w1"), resources -> TaskSteps.standard(resources, RuntimeCatalog.loadDefault()));
    BuildTask task = detectTaskForASampleApp();

    // Same key, same partition: the good task queues behind the bad record.
    topics.publishRaw(
        topics.topics().tasks(), task.partitionKey(), "{not a cloud event".getBytes());
    topics.publish(topics.topics().tasks(), task.partitionKey(), task);

    await().atMost(Duration.ofSeconds(60)).until(() -> !results().isEmpty());
    assertThat(results().get(0).succeeded()).isTrue();
    List<ConsumerRecord<String, byte[]>> deadLetters =
        topics.readAll(topics.topics().deadLetters());
    assertThat(deadLetters).hasSize(1);
    assertThat(deadLetters.get(0).headers().lastHeader(DeadLetters.REASON)).isNotNull();
    int partition = partitionOf(task.buildId());
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> topics.committedOffsets(group, topics.topics().tasks()).get(partition),
            offset -> offset != null && offset == 2L);
  }

  @Test
  void aWorkerRenewsTheLeaseOfARunningTaskUntilItReportsTheResult() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    BuildPlanSummary plan = Tasks.pipPlan("3.12.7");
    deploy(
        config("renewing"),
        resources ->
            TaskSteps.none()
                .with(
                    TaskKind.DETECT,
                    ctx -> {
                      try {
                        if (!release.await(120, TimeUnit.SECONDS)) {
                          throw new IllegalStateException("the test never released the task");
                        }
                      } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException(e);
                      }
                      return TaskOutput.detected(plan, null);
                    }));
    // A 600 ms lease: the worker renews every 200 ms while the step runs.
    BuildTask task = detectTaskForASampleApp().withLeaseMillis(600);

    topics.publish(topics.topics().tasks(), task.partitionKey(), task);
    await().atMost(Duration.ofSeconds(60)).until(() -> heartbeats().size() >= 3);
    release.countDown();
    await().atMost(Duration.ofSeconds(60)).until(() -> !results().isEmpty());

    assertThat(heartbeats())
        .allSatisfy(
            beat -> {
              assertThat(beat.taskId()).isEqualTo(task.taskId());
              assertThat(beat.attempt()).isEqualTo(task.attempt());
              assertThat(beat.worker()).isEqualTo("renewing");
            });
    // Renewals stop with the task: nothing follows the result on the build's partition.
    List<ConsumerRecord<String, byte[]>> all = topics.readAll(topics.topics().results());
    String lastType =
        new String(
            all.get(all.size() - 1).headers().lastHeader("ce_type").value(),
            java.nio.charset.StandardCharsets.UTF_8);
    assertThat(lastType).isEqualTo(EventType.TASK_RESULT.ceType());
    assertThat(results()).singleElement().satisfies(r -> assertThat(r.succeeded()).isTrue());
  }

  @Test
  void aTaskLongerThanMaxPollIntervalKeepsTheWorkerInTheGroup() throws Exception {
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    BuildPlanSummary plan = Tasks.pipPlan("3.12.7");
    WorkerConfig config =
        config("slow")
            .withKafkaConsumerSetting("max.poll.interval.ms", "3000")
            .withKafkaConsumerSetting("session.timeout.ms", "10000")
            .withKafkaConsumerSetting("heartbeat.interval.ms", "1000");
    WorkerVerticle worker =
        deploy(
            config,
            resources ->
                TaskSteps.none()
                    .with(
                        TaskKind.DETECT,
                        ctx -> {
                          started.countDown();
                          try {
                            if (!release.await(120, TimeUnit.SECONDS)) {
                              throw new IllegalStateException(
                                  "the test never released the long task");
                            }
                          } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw new IllegalStateException(e);
                          }
                          return TaskOutput.detected(plan, null);
                        }));
    await().atMost(Duration.ofSeconds(30)).until(() -> worker.assignedPartitions().size() == 12);
    Set<Integer> assignedBefore = worker.assignedPartitions();
    BuildTask task = detectTaskForASampleApp();

    topics.publish(topics.topics().tasks(), task.partitionKey(), task);
    assertThat(started.await(60, TimeUnit.SECONDS)).isTrue();
    // Well past max.poll.interval.ms: a consumer that stopped polling would have been dropped.
    await()
        .during(Duration.ofSeconds(8))
        .atMost(Duration.ofSeconds(20))
        .until(
            () -> worker.revocations() == 0 && worker.assignedPartitions().equals(assignedBefore));
    release.countDown();

    await().atMost(Duration.ofSeconds(30)).until(() -> !results().isEmpty());
    assertThat(results().get(0).succeeded()).isTrue();
    int partition = partitionOf(task.buildId());
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> topics.committedOffsets(group, topics.topics().tasks()).get(partition),
            offset -> offset != null && offset == 1L);
    assertThat(worker.revocations()).isZero();
    assertThat(worker.assignedPartitions()).isEqualTo(assignedBefore);
  }

  @Test
  void whenPartitionsMoveToANewWorkerTheirQueuedTasksAreLeftToIt() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    BuildPlanSummary plan = Tasks.pipPlan("3.12.7");
    WorkerConfig slowConfig =
        WorkerConfig.of(
                "slow",
                kafka.bootstrapServers(),
                topics.topics(),
                tmp.resolve("slow"),
                "http://127.0.0.1:9",
                12)
            .withConsumerGroup(group)
            .withSourceRoot(tmp.resolve("repos"));
    WorkerVerticle slow =
        deploy(
            slowConfig,
            resources ->
                TaskSteps.none()
                    .with(
                        TaskKind.DETECT,
                        ctx -> {
                          if (ctx.task().attempt() == 1) {
                            try {
                              if (!release.await(120, TimeUnit.SECONDS)) {
                                throw new IllegalStateException(
                                    "the test never released the first tasks");
                              }
                            } catch (InterruptedException e) {
                              Thread.currentThread().interrupt();
                              throw new IllegalStateException(e);
                            }
                          }
                          return TaskOutput.detected(plan, null);
                        }));
    await().atMost(Duration.ofSeconds(30)).until(() -> slow.assignedPartitions().size() == 12);
    BuildTask sample = detectTaskForASampleApp();
    // On every partition: a first attempt that blocks on the slow worker, and a second queued
    // behind it.
    Map<Integer, BuildTask> queued = new java.util.HashMap<>();
    for (int partition = 0; partition < 12; partition++) {
      BuildTask first = Tasks.detect("acme", "app-" + partition, sample.repoUrl(), sample.commit());
      BuildTask second =
          new BuildTask(
              first.buildId(),
              BuildTask.taskId(first.buildId(), TaskKind.DETECT, 2),
              TaskKind.DETECT,
              2,
              first.tenant(),
              first.app(),
              first.repoUrl(),
              first.commit(),
              null,
              Map.of(),
              null,
              null,
              null,
              null);
      topics.publishTo(topics.topics().tasks(), partition, first.buildId(), first);
      topics.publishTo(topics.topics().tasks(), partition, first.buildId(), second);
      queued.put(partition, second);
    }
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () ->
                topics.readAll(topics.topics().logs()).stream().map(r -> r.key()).distinct().count()
                    == 12);

    WorkerVerticle fast =
        deploy(
            config("fast"),
            resources ->
                TaskSteps.none().with(TaskKind.DETECT, ctx -> TaskOutput.detected(plan, null)));
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () ->
                !fast.assignedPartitions().isEmpty()
                    && slow.assignedPartitions().size() + fast.assignedPartitions().size() == 12);
    Set<Integer> moved = fast.assignedPartitions();
    // The new owner runs both tasks of each partition it got, while the first ones still block.
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () ->
                results().stream().filter(r -> r.worker().equals("fast")).count()
                    == 2L * moved.size());
    release.countDown();

    await().atMost(Duration.ofSeconds(60)).until(() -> results().size() == 24 + moved.size());
    for (int partition = 0; partition < 12; partition++) {
      String secondTask = queued.get(partition).taskId();
      List<String> ranBy =
          results().stream()
              .filter(r -> r.taskId().equals(secondTask))
              .map(TaskResult::worker)
              .toList();
      assertThat(ranBy)
          .as("second task on partition %d", partition)
          .containsExactly(moved.contains(partition) ? "fast" : "slow");
    }
    assertThat(slow.revocations()).isEqualTo(1);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> topics.committedOffsets(group, topics.topics().tasks()),
            offsets ->
                offsets.size() == 12 && offsets.values().stream().allMatch(offset -> offset == 2L));
  }
}
