package dev.kiln.coordinator;

import static dev.kiln.coordinator.Awaits.await;
import static dev.kiln.coordinator.BuildTraceKafkaTest.traceOf;
import static dev.kiln.coordinator.CoordinatorKafkaTest.BUILD_TIMEOUT;
import static dev.kiln.coordinator.CoordinatorKafkaTest.awaitExactlyOne;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.events.BuildLogLine;
import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildState;
import dev.kiln.events.BuildTask;
import dev.kiln.events.ImageReady;
import dev.kiln.events.PushEvent;
import dev.kiln.events.TaskKind;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A coordinator that stops is replaced by one that finishes its builds, exactly once. */
@ExtendWith(SharedKafka.class)
class CoordinatorRestartTest {
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
  void aBuildInterruptedByACoordinatorRestartCompletesExactlyOnce() {
    // Workers that detect, then go quiet: the build waits in INSTALL while the coordinator stops.
    ScriptedWorkers workers =
        farm.workers(
            task ->
                task.kind() == TaskKind.DETECT ? ScriptedWorkers.succeedEverything(task) : null);
    String first =
        farm.deploy(new CoordinatorVerticle(farm.config().withInstanceId("coordinator-a")));
    PushEvent push = Fixtures.push();
    await(farm.publisher.publish(farm.topics.push(), push.buildId(), push));
    await().atMost(BUILD_TIMEOUT).until(() -> farm.tasksSeen(TaskKind.INSTALL).size() == 1);

    farm.undeploy(first);
    BuildTask install = farm.tasksSeen(TaskKind.INSTALL).get(0);
    await(workers.publish(Fixtures.installed(install, Fixtures.layer(install.dependencyKey()))));
    workers.script(ScriptedWorkers::succeedEverything);
    farm.deploy(new CoordinatorVerticle(farm.config().withInstanceId("coordinator-b")));

    awaitExactlyOne(farm.imageReady, ImageReady.class);
    assertThat(farm.imageReady.bodies(ImageReady.class).get(0).buildId()).isEqualTo(push.buildId());
    assertThat(farm.buildFailed.records()).isEmpty();
    assertThat(farm.tasksSeen(TaskKind.DETECT)).hasSize(1);
    // The new coordinator re-sent the INSTALL it found pending: same task id, so workers dedupe.
    assertThat(farm.tasksSeen(TaskKind.INSTALL))
        .extracting(BuildTask::taskId)
        .containsExactly(install.taskId(), install.taskId());
    assertThat(farm.tasksSeen(TaskKind.ASSEMBLE)).hasSize(1);
    assertThat(farm.logs.bodies(BuildLogLine.class))
        .extracting(BuildLogLine::text)
        .anyMatch(t -> t.startsWith("-----> Resuming build " + push.buildId()));
    assertThat(workers.invalidTasks()).isEmpty();
    // The build's trace survives the restart: coordinator-b read it back from the snapshots.
    String traceId = traceOf(farm.builds.records().get(0).headers()).getTraceId();
    assertThat(traceOf(farm.imageReady.records().get(0).headers()).getTraceId()).isEqualTo(traceId);
    assertThat(workers.taskTraces().values())
        .hasSize(3)
        .allSatisfy(carried -> assertThat(carried.getTraceId()).isEqualTo(traceId));
  }

  @Test
  void anOutcomeThatWasNeverAcknowledgedIsPublishedOnceByTheNextCoordinator() {
    PushEvent push = Fixtures.push();
    Instant at = Instant.parse("2025-01-01T00:00:00Z");
    BuildSnapshot unpublished =
        BuildSnapshot.builder()
            .buildId(push.buildId())
            .state(BuildState.SUCCEEDED)
            .push(push)
            .attempt(1)
            .currentTaskId(BuildTask.taskId(push.buildId(), TaskKind.ASSEMBLE, 1))
            .plan(Fixtures.plan("pip"))
            .dependencyKey(Fixtures.DEPENDENCY_KEY)
            .layer(Fixtures.layer(Fixtures.DEPENDENCY_KEY))
            .image("registry.test/acme/web:1")
            .imageDigest(Fixtures.digest('e'))
            .outcomePublished(false)
            .createdAt(at)
            .updatedAt(at)
            .build();
    await(farm.publisher.publish(farm.topics.builds(), push.buildId(), unpublished));
    farm.workers(ScriptedWorkers::succeedEverything);

    String first = farm.deploy(new CoordinatorVerticle(farm.config()));
    awaitExactlyOne(farm.imageReady, ImageReady.class);
    await().atMost(BUILD_TIMEOUT).until(() -> lastSnapshot(push.buildId()).outcomePublished());
    farm.undeploy(first);
    farm.deploy(new CoordinatorVerticle(farm.config().withInstanceId("coordinator-b")));

    awaitExactlyOne(farm.imageReady, ImageReady.class);
    assertThat(farm.imageReady.records().get(0).event().getId())
        .isEqualTo(push.buildId() + ":image-ready");
    assertThat(farm.tasksSeen(TaskKind.DETECT)).isEmpty();
  }

  @Test
  void aRedeliveredPushOfABuildFinishedBeforeTheRestartIsNotBuiltAgain() {
    farm.workers(ScriptedWorkers::succeedEverything);
    PushEvent push = Fixtures.push();
    String first = farm.deploy(new CoordinatorVerticle(farm.config()));
    await(farm.publisher.publish(farm.topics.push(), push.buildId(), push));
    awaitExactlyOne(farm.imageReady, ImageReady.class);
    farm.undeploy(first);

    CoordinatorVerticle second =
        new CoordinatorVerticle(farm.config().withInstanceId("coordinator-b"));
    farm.deploy(second);
    await(farm.publisher.publish(farm.topics.push(), push.buildId(), push));

    awaitExactlyOne(farm.imageReady, ImageReady.class);
    assertThat(farm.tasksSeen(TaskKind.DETECT)).hasSize(1);
  }

  private BuildSnapshot lastSnapshot(String buildId) {
    List<BuildSnapshot> all =
        farm.builds.bodies(BuildSnapshot.class).stream()
            .filter(s -> s.buildId().equals(buildId))
            .toList();
    return all.get(all.size() - 1);
  }
}
