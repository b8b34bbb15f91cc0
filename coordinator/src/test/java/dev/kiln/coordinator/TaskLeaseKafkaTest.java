package dev.kiln.coordinator;

import static dev.kiln.coordinator.Awaits.await;
import static dev.kiln.coordinator.CoordinatorKafkaTest.BUILD_TIMEOUT;
import static dev.kiln.coordinator.CoordinatorKafkaTest.awaitExactlyOne;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.events.BuildFailed;
import dev.kiln.events.BuildLogLine;
import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildState;
import dev.kiln.events.BuildTask;
import dev.kiln.events.DependencyLayer;
import dev.kiln.events.ImageReady;
import dev.kiln.events.PushEvent;
import dev.kiln.events.TaskKind;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Task leases against a real broker: a worker that takes a task and dies has its task issued again;
 * a worker that keeps renewing keeps it; a task that always dies fails the build.
 */
@ExtendWith(SharedKafka.class)
class TaskLeaseKafkaTest {
  private static final Duration LEASE = Duration.ofMillis(1500);
  private Harness farm;

  @BeforeEach
  void start() throws Exception {
    farm = new Harness();
  }

  @AfterEach
  void stop() {
    farm.close();
  }

  private CoordinatorConfig config() {
    return farm.config().withTaskLeases(LEASE, 3);
  }

  @Test
  void aTaskWhoseWorkerDiesIsIssuedAgainAndALateResultOfTheLostAttemptIsIgnored() {
    // The first INSTALL is taken by a worker that dies: it claims the task (its first heartbeat)
    // and is never heard of again. When
    // the second attempt is out, the dead worker comes back and reports attempt 1 with a layer of
    // its own, just before the second attempt's worker reports.
    AtomicReference<ScriptedWorkers> workers = new AtomicReference<>();
    DependencyLayer lateLayer =
        new DependencyLayer(
            Fixtures.DEPENDENCY_KEY, Fixtures.digest('d'), 1, List.of("late==1.0"), false);
    workers.set(
        farm.workers(
            task -> {
              if (task.kind() != TaskKind.INSTALL) {
                return ScriptedWorkers.succeedEverything(task);
              }
              if (task.attempt() == 1) {
                workers.get().heartbeat(task);
                return null;
              }
              BuildTask lost = farm.tasksSeen(TaskKind.INSTALL).get(0);
              workers.get().publish(Fixtures.installed(lost, lateLayer));
              return ScriptedWorkers.succeedEverything(task);
            }));
    CoordinatorVerticle coordinator = new CoordinatorVerticle(config());
    farm.deploy(coordinator);
    PushEvent push = Fixtures.push();
    await(farm.publisher.publish(farm.topics.push(), push.buildId(), push));

    awaitExactlyOne(farm.imageReady, ImageReady.class);
    List<BuildTask> installs = farm.tasksSeen(TaskKind.INSTALL);
    assertThat(installs).extracting(BuildTask::attempt).containsExactly(1, 2);
    assertThat(installs.get(1).taskId())
        .isNotEqualTo(installs.get(0).taskId())
        .matches(push.buildId() + "/install/2/[0-9a-f]{16}");
    assertThat(installs).allSatisfy(t -> assertThat(t.leaseMillis()).isEqualTo(1500L));
    assertThat(farm.tasksSeen(TaskKind.DETECT)).hasSize(1);
    assertThat(farm.logs.bodies(BuildLogLine.class))
        .extracting(BuildLogLine::text)
        .anyMatch(
            t ->
                t.contains("No sign of life from the worker running " + installs.get(0).taskId())
                    && t.contains("attempt 2 of 3"));
    // The late result of attempt 1 moved nothing: ASSEMBLE got attempt 2's layer.
    assertThat(coordinator.ignoredResults()).isEqualTo(1);
    assertThat(farm.tasksSeen(TaskKind.ASSEMBLE))
        .singleElement()
        .satisfies(a -> assertThat(a.layer()).isEqualTo(Fixtures.layer(Fixtures.DEPENDENCY_KEY)));
    assertThat(farm.buildFailed.records()).isEmpty();
  }

  @Test
  void aWorkerThatRenewsItsLeaseKeepsItsTaskLongerThanTheLease() {
    ScriptedWorkers workers =
        farm.workers(
            task ->
                task.kind() == TaskKind.INSTALL ? null : ScriptedWorkers.succeedEverything(task));
    farm.deploy(new CoordinatorVerticle(config()));
    PushEvent push = Fixtures.push();
    await(farm.publisher.publish(farm.topics.push(), push.buildId(), push));
    await().atMost(BUILD_TIMEOUT).until(() -> farm.tasksSeen(TaskKind.INSTALL).size() == 1);
    BuildTask install = farm.tasksSeen(TaskKind.INSTALL).get(0);

    // Renew well within the lease for three leases' worth of renewals, then report.
    long renewals = 0;
    while (renewals < 3 * LEASE.toMillis() / 250) {
      await(workers.heartbeat(install));
      renewals++;
      sleep(250);
    }
    await(workers.publish(Fixtures.installed(install, Fixtures.layer(install.dependencyKey()))));

    awaitExactlyOne(farm.imageReady, ImageReady.class);
    assertThat(farm.tasksSeen(TaskKind.INSTALL))
        .as("the renewed task was never issued again")
        .extracting(BuildTask::taskId)
        .containsExactly(install.taskId());
    assertThat(
            farm.builds.bodies(BuildSnapshot.class).stream()
                .filter(s -> s.state() == BuildState.INSTALLING)
                .map(BuildSnapshot::leaseExpiresAt)
                .distinct()
                .count())
        .as("each renewal moved the deadline")
        .isGreaterThan(3);
  }

  @Test
  void aTaskThatAlwaysLosesItsWorkerFailsTheBuildWorkerLostAfterTheLastAttempt() {
    AtomicReference<ScriptedWorkers> workers = new AtomicReference<>();
    workers.set(
        farm.workers(
            task -> {
              workers.get().heartbeat(task); // claims the task, then dies
              return null;
            }));
    farm.deploy(new CoordinatorVerticle(config()));
    PushEvent push = Fixtures.push();
    await(farm.publisher.publish(farm.topics.push(), push.buildId(), push));

    awaitExactlyOne(farm.buildFailed, BuildFailed.class);
    BuildFailed failed = farm.buildFailed.bodies(BuildFailed.class).get(0);
    assertThat(failed.code()).isEqualTo("worker::lost");
    assertThat(failed.stage()).isEqualTo(TaskKind.DETECT);
    assertThat(failed.message()).contains("3 attempts");
    assertThat(farm.tasksSeen(TaskKind.DETECT))
        .extracting(BuildTask::attempt)
        .containsExactly(1, 2, 3);
    assertThat(farm.imageReady.records()).isEmpty();
  }

  @Test
  void aLeaseThatRunsOutWhileNoCoordinatorRunsIsRetriedByTheNextOne() {
    AtomicReference<ScriptedWorkers> workers = new AtomicReference<>();
    workers.set(
        farm.workers(
            task -> {
              if (task.kind() == TaskKind.DETECT && task.attempt() == 1) {
                workers.get().heartbeat(task); // claims the task, then dies
                return null;
              }
              return ScriptedWorkers.succeedEverything(task);
            }));
    // A longer lease for the first coordinator, so it stops before it sees this one run out.
    String first =
        farm.deploy(
            new CoordinatorVerticle(
                farm.config()
                    .withInstanceId("coordinator-a")
                    .withTaskLeases(Duration.ofSeconds(5), 3)));
    PushEvent push = Fixtures.push();
    await(farm.publisher.publish(farm.topics.push(), push.buildId(), push));
    await().atMost(BUILD_TIMEOUT).until(() -> claimDeadline() != null);
    farm.undeploy(first);
    Instant deadline = claimDeadline();
    await().atMost(BUILD_TIMEOUT).until(() -> Instant.now().isAfter(deadline));

    farm.deploy(new CoordinatorVerticle(config().withInstanceId("coordinator-b")));

    awaitExactlyOne(farm.imageReady, ImageReady.class);
    // The restored deadline had passed: attempt 2, not a re-send of the lost attempt 1.
    assertThat(farm.tasksSeen(TaskKind.DETECT))
        .extracting(BuildTask::attempt)
        .containsExactly(1, 2);
  }

  /** The lease deadline of the claimed DETECT, once its snapshot is written. */
  private Instant claimDeadline() {
    return farm.builds.bodies(BuildSnapshot.class).stream()
        .filter(s -> s.state() == BuildState.DETECTING && s.leaseExpiresAt() != null)
        .map(BuildSnapshot::leaseExpiresAt)
        .reduce((a, b) -> b)
        .orElse(null);
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
