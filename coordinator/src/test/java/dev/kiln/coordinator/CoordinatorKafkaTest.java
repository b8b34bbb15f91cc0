package dev.kiln.coordinator;

import static dev.kiln.coordinator.Awaits.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.events.BuildFailed;
import dev.kiln.events.BuildLogLine;
import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildState;
import dev.kiln.events.BuildTask;
import dev.kiln.events.DeadLetters;
import dev.kiln.events.EventCodec;
import dev.kiln.events.EventType;
import dev.kiln.events.ImageReady;
import dev.kiln.events.PushEvent;
import dev.kiln.events.TaskKind;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The coordinator against a real broker, with the test playing the workers. */
@ExtendWith(SharedKafka.class)
class CoordinatorKafkaTest {
  static final Duration BUILD_TIMEOUT = Duration.ofSeconds(60);
  static final Duration QUIET = Duration.ofSeconds(3);

  private Harness farm;

  @BeforeEach
  void start() throws Exception {
    farm = new Harness();
  }

  @AfterEach
  void stop() {
    farm.close();
  }

  @Test
  void aPushDeliveredTwiceBuildsOnceAndGivesOneImageReady() {
    ScriptedWorkers workers = farm.workers(ScriptedWorkers::succeedEverything);
    farm.deploy(new CoordinatorVerticle(farm.config()));
    PushEvent push = Fixtures.push();
    String buildId = push.buildId();

    await(farm.publisher.publish(farm.topics.push(), buildId, push));
    await(farm.publisher.publish(farm.topics.push(), buildId, push));

    awaitExactlyOne(farm.imageReady, ImageReady.class);
    TopicRecorder.Recorded ready = farm.imageReady.records().get(0);
    assertThat(ready.key()).isEqualTo("acme/web");
    assertThat(ready.event().getId()).isEqualTo(buildId + ":image-ready");
    assertThat(ready.event().getType()).isEqualTo(EventType.IMAGE_READY.ceType());
    ImageReady event = (ImageReady) ready.body();
    assertThat(event.buildId()).isEqualTo(buildId);
    assertThat(event.digest()).isEqualTo(Fixtures.digest('e'));
    assertThat(event.pythonVersion()).isEqualTo("3.12.7");

    assertThat(farm.tasksSeen(TaskKind.DETECT)).hasSize(1);
    assertThat(farm.tasksSeen(TaskKind.INSTALL))
        .singleElement()
        .satisfies(t -> assertThat(t.dependencyKey()).isEqualTo(Fixtures.DEPENDENCY_KEY));
    assertThat(farm.tasksSeen(TaskKind.ASSEMBLE)).hasSize(1);
    assertThat(workers.invalidTasks()).isEmpty();
    assertThat(farm.buildFailed.records()).isEmpty();

    await()
        .atMost(BUILD_TIMEOUT)
        .untilAsserted(
            () ->
                assertThat(lastSnapshot(buildId))
                    .satisfies(
                        s -> {
                          assertThat(s.state()).isEqualTo(BuildState.SUCCEEDED);
                          assertThat(s.outcomePublished()).isTrue();
                        }));
    assertThat(farm.builds.records()).allSatisfy(r -> assertThat(r.key()).isEqualTo(buildId));
    assertThat(logTexts())
        .contains(
            "-----> Build " + buildId + " queued for acme/web@0123456789ab",
            "-----> Build "
                + buildId
                + " succeeded: registry.test/acme/web:0123456789ab@"
                + Fixtures.digest('e'));
  }

  @Test
  void malformedPushesGoToTheDeadLetterTopicWithTheReasonAndTheNextPushStillBuilds() {
    farm.workers(ScriptedWorkers::succeedEverything);
    farm.deploy(new CoordinatorVerticle(farm.config()));
    String push = farm.topics.push();
    byte[] validJson = EventCodec.toJson(Fixtures.push());
    PushEvent badCommit = Fixtures.push("acme", "web", "not-a-commit");

    await(
        farm.publisher.send(
            new ProducerRecord<>(
                push, null, "k1", "{\"tenant\": ".getBytes(StandardCharsets.UTF_8), ceHeaders())));
    await(
        farm.publisher.send(
            new ProducerRecord<>(push, null, "k2", validJson, new RecordHeaders())));
    await(farm.publisher.publish(push, "k3", badCommit));
    PushEvent good = Fixtures.push("acme", "web", Fixtures.OTHER_COMMIT);
    await(farm.publisher.publish(push, good.buildId(), good));

    awaitExactlyOne(farm.imageReady, ImageReady.class);
    assertThat(farm.imageReady.bodies(ImageReady.class).get(0).buildId()).isEqualTo(good.buildId());
    // The three records have different keys, so different partitions: no order between them.
    Map<String, TopicRecorder.Recorded> dead =
        farm.deadLetters.records().stream()
            .collect(Collectors.toMap(TopicRecorder.Recorded::key, r -> r));
    assertThat(dead).containsOnlyKeys("k1", "k2", "k3");
    assertThat(dead.values())
        .allSatisfy(
            r -> {
              assertThat(r.headers().get(DeadLetters.SOURCE_TOPIC)).isEqualTo(push);
              assertThat(r.headers().get(DeadLetters.CONSUMER))
                  .isEqualTo("coordinator/coordinator-1");
            });
    assertThat(dead.get("k1").headers())
        .containsEntry(DeadLetters.FIELD, "body")
        .hasEntrySatisfying(
            DeadLetters.REASON, reason -> assertThat(reason).contains("not valid JSON"));
    assertThat(dead.get("k2").headers())
        .containsEntry(DeadLetters.FIELD, "ce_specversion")
        .hasEntrySatisfying(
            DeadLetters.REASON, reason -> assertThat(reason).contains("not a CloudEvent"));
    assertThat(dead.get("k2").value()).isEqualTo(validJson);
    assertThat(dead.get("k3").headers())
        .containsEntry(DeadLetters.FIELD, "commit")
        .hasEntrySatisfying(
            DeadLetters.REASON,
            reason -> assertThat(reason).contains("'not-a-commit' is not a full git commit id"));
    assertThat(farm.tasksSeen(TaskKind.DETECT)).hasSize(1);
  }

  @Test
  void aPushWhoseSnapshotKafkaRefusesIsDeadLetteredInsteadOfBlockingThePartition()
      throws Exception {
    String builds = farm.topics.builds();
    try (Admin admin =
        Admin.create(Map.<String, Object>of("bootstrap.servers", farm.bootstrapServers))) {
      ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, builds);
      admin
          .incrementalAlterConfigs(
              Map.of(
                  topic,
                  List.of(
                      new AlterConfigOp(
                          new ConfigEntry("max.message.bytes", "4096"), AlterConfigOp.OpType.SET))))
          .all()
          .get(30, TimeUnit.SECONDS);
      await()
          .atMost(BUILD_TIMEOUT)
          .until(
              () ->
                  "4096"
                      .equals(
                          admin
                              .describeConfigs(List.of(topic))
                              .all()
                              .get(30, TimeUnit.SECONDS)
                              .get(topic)
                              .get("max.message.bytes")
                              .value()));
    }
    farm.workers(ScriptedWorkers::succeedEverything);
    farm.deploy(new CoordinatorVerticle(farm.config()));
    PushEvent small = Fixtures.push();
    PushEvent huge =
        new PushEvent(
            "acme",
            "web",
            small.repoUrl(),
            small.ref(),
            Fixtures.OTHER_COMMIT,
            small.appSpec(),
            Map.of("BIG", "x".repeat(8000)),
            small.pushedAt());

    await(farm.publisher.publish(farm.topics.push(), huge.buildId(), huge));
    await(farm.publisher.publish(farm.topics.push(), small.buildId(), small));

    awaitExactlyOne(farm.imageReady, ImageReady.class);
    assertThat(farm.imageReady.bodies(ImageReady.class).get(0).buildId())
        .isEqualTo(small.buildId());
    assertThat(farm.deadLetters.records())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.key()).isEqualTo(huge.buildId());
              assertThat(r.headers().get(DeadLetters.FIELD)).isEqualTo("record");
              assertThat(r.headers().get(DeadLetters.REASON))
                  .contains("cannot be written to Kafka");
            });
    assertThat(farm.tasksSeen(TaskKind.DETECT))
        .extracting(BuildTask::buildId)
        .containsExactly(small.buildId());
  }

  @Test
  void aResultThatIsNotATaskResultIsDeadLetteredAndTheBuildCarriesOn() {
    farm.workers(ScriptedWorkers::succeedEverything);
    farm.deploy(new CoordinatorVerticle(farm.config()));
    PushEvent push = Fixtures.push();

    await(farm.publisher.publish(farm.topics.results(), push.buildId(), push));
    await(farm.publisher.publish(farm.topics.push(), push.buildId(), push));

    awaitExactlyOne(farm.imageReady, ImageReady.class);
    assertThat(farm.deadLetters.records())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.headers().get(DeadLetters.FIELD)).isEqualTo("ce_type");
              assertThat(r.headers().get(DeadLetters.REASON)).contains("TaskResult");
            });
  }

  @Test
  void aFailedInstallGivesOneBuildFailedWithTheStageCodeAndMessage() {
    String message =
        "No matching distribution found for flsak==2.0; check the name in requirements.txt";
    farm.workers(
        task ->
            switch (task.kind()) {
              case DETECT -> Fixtures.detected(task, Fixtures.plan("pip"), Fixtures.DEPENDENCY_KEY);
              case INSTALL -> Fixtures.failed(task, "pip::no-matching-distribution", message);
              case ASSEMBLE -> ScriptedWorkers.succeedEverything(task);
            });
    farm.deploy(new CoordinatorVerticle(farm.config()));
    PushEvent push = Fixtures.push();

    await(farm.publisher.publish(farm.topics.push(), push.buildId(), push));

    awaitExactlyOne(farm.buildFailed, BuildFailed.class);
    TopicRecorder.Recorded record = farm.buildFailed.records().get(0);
    assertThat(record.key()).isEqualTo("acme/web");
    assertThat(record.event().getId()).isEqualTo(push.buildId() + ":build-failed");
    BuildFailed failed = (BuildFailed) record.body();
    assertThat(failed.stage()).isEqualTo(TaskKind.INSTALL);
    assertThat(failed.code()).isEqualTo("pip::no-matching-distribution");
    assertThat(failed.message()).isEqualTo(message);
    assertThat(farm.tasksSeen(TaskKind.ASSEMBLE)).isEmpty();
    assertThat(farm.imageReady.records()).isEmpty();
    assertThat(farm.logs.bodies(BuildLogLine.class))
        .anySatisfy(
            l -> {
              assertThat(l.level()).isEqualTo(BuildLogLine.Level.ERROR);
              assertThat(l.text()).contains("pip::no-matching-distribution");
            });
  }

  @Test
  void aLaterPushOfTheSameAppAsksDetectForThePythonVersionOfItsLastSuccessfulBuild() {
    farm.workers(ScriptedWorkers::succeedEverything);
    farm.deploy(new CoordinatorVerticle(farm.config()));
    PushEvent first = Fixtures.push();
    await(farm.publisher.publish(farm.topics.push(), first.buildId(), first));
    awaitExactlyOne(farm.imageReady, ImageReady.class);

    PushEvent second = Fixtures.push("acme", "web", Fixtures.OTHER_COMMIT);
    await(farm.publisher.publish(farm.topics.push(), second.buildId(), second));

    await().atMost(BUILD_TIMEOUT).until(() -> farm.imageReady.records().size() == 2);
    List<BuildTask> detects = farm.tasksSeen(TaskKind.DETECT);
    assertThat(detects)
        .extracting(BuildTask::buildId)
        .containsExactly(first.buildId(), second.buildId());
    assertThat(detects.get(0).previousPython()).isNull();
    assertThat(detects.get(1).previousPython()).isEqualTo("3.12.7");
  }

  @Test
  void anAppWithoutAPackageManagerIsAssembledWithoutAnInstall() {
    farm.workers(
        task ->
            task.kind() == TaskKind.DETECT
                ? Fixtures.detected(task, Fixtures.plan(null), null)
                : ScriptedWorkers.succeedEverything(task));
    farm.deploy(new CoordinatorVerticle(farm.config()));
    PushEvent push = Fixtures.push("acme", "static", Fixtures.COMMIT);

    await(farm.publisher.publish(farm.topics.push(), push.buildId(), push));

    awaitExactlyOne(farm.imageReady, ImageReady.class);
    assertThat(farm.tasksSeen(TaskKind.INSTALL)).isEmpty();
    assertThat(farm.tasksSeen(TaskKind.ASSEMBLE))
        .singleElement()
        .satisfies(t -> assertThat(t.layer()).isNull());
  }

  static <T extends dev.kiln.events.EventBody> void awaitExactlyOne(
      TopicRecorder recorder, Class<T> type) {
    await().atMost(BUILD_TIMEOUT).until(() -> !recorder.bodies(type).isEmpty());
    await().during(QUIET).atMost(QUIET.plusSeconds(10)).until(() -> recorder.records().size() == 1);
  }

  private BuildSnapshot lastSnapshot(String buildId) {
    List<BuildSnapshot> all =
        farm.builds.bodies(BuildSnapshot.class).stream()
            .filter(s -> s.buildId().equals(buildId))
            .toList();
    assertThat(all).isNotEmpty();
    return all.get(all.size() - 1);
  }

  private List<String> logTexts() {
    return farm.logs.bodies(BuildLogLine.class).stream().map(BuildLogLine::text).toList();
  }

  private static RecordHeaders ceHeaders() {
    RecordHeaders headers = new RecordHeaders();
    headers.add("ce_specversion", "1.0".getBytes(StandardCharsets.UTF_8));
    headers.add("ce_id", UUID.randomUUID().toString().getBytes(StandardCharsets.UTF_8));
    headers.add("ce_source", "/test".getBytes(StandardCharsets.UTF_8));
    headers.add("ce_type", EventType.PUSH.ceType().getBytes(StandardCharsets.UTF_8));
    headers.add("content-type", "application/json".getBytes(StandardCharsets.UTF_8));
    return headers;
  }
}
