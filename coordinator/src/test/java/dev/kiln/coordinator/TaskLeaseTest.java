package dev.kiln.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.events.BuildFailed;
import dev.kiln.events.BuildLogLine;
import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildState;
import dev.kiln.events.BuildTask;
import dev.kiln.events.PushEvent;
import dev.kiln.events.TaskHeartbeat;
import dev.kiln.events.TaskKind;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Task leases as pure bookkeeping: issue, renew, run out, retry, give up. No Kafka. */
class TaskLeaseTest {
  private static final Duration LEASE = Duration.ofSeconds(30);
  private final ManualClock clock = new ManualClock();
  private final BuildStateMachine machine =
      new BuildStateMachine(clock, tenant -> List.of(), LEASE, 3);
  private final PushEvent push = Fixtures.push();

  @Test
  void everyIssuedTaskStatesItsLeaseWhichStartsOnlyWhenAWorkerClaimsIt() {
    Decision d = machine.onPush(push, null, null);

    assertThat(d.next().leaseExpiresAt()).as("unclaimed: no deadline yet").isNull();
    BuildTask detect = d.tasks().get(0);
    assertThat(detect.leaseMillis()).isEqualTo(30_000L);
    assertThat(detect.renewEveryMillis()).isEqualTo(10_000L);

    // Queued behind other tasks for ten leases: an unclaimed task never runs out.
    clock.advance(LEASE.multipliedBy(10));
    assertThat(machine.leaseExpired(d.next())).isFalse();
    assertThat(machine.onLeaseExpired(d.next(), null).snapshot()).isEmpty();

    BuildSnapshot claimed = machine.onHeartbeat(beat(d.next()), d.next()).next();
    assertThat(claimed.leaseExpiresAt()).isEqualTo(clock.now.plus(LEASE));

    clock.advance(Duration.ofSeconds(5));
    BuildSnapshot installing =
        machine
            .onResult(
                Fixtures.detected(detect, Fixtures.plan("pip"), Fixtures.DEPENDENCY_KEY), claimed)
            .next();
    assertThat(installing.leaseExpiresAt()).as("the next step is unclaimed again").isNull();
    assertThat(installing.attempt()).isEqualTo(1);
  }

  @Test
  void aHeartbeatOfTheCurrentTaskRenewsTheLeaseFromNow() {
    BuildSnapshot detecting = machine.onPush(push, null, null).next();
    clock.advance(Duration.ofSeconds(20));

    Decision renewed = machine.onHeartbeat(beat(detecting), detecting);

    assertThat(renewed.next().leaseExpiresAt()).isEqualTo(clock.now.plus(LEASE));
    assertThat(renewed.actions()).containsExactly(new Action.WriteSnapshot(renewed.next()));
    assertThat(renewed.tasks()).isEmpty();
  }

  @Test
  void aHeartbeatOfAnotherTaskOrAFinishedBuildRenewsNothing() {
    BuildSnapshot detecting = machine.onPush(push, null, null).next();
    TaskHeartbeat stale =
        new TaskHeartbeat(
            detecting.buildId(),
            BuildTask.taskId(detecting.buildId(), TaskKind.DETECT, 1),
            TaskKind.DETECT,
            1,
            "worker-9",
            clock.now);
    assertThat(machine.onHeartbeat(stale, detecting).snapshot()).isEmpty();
    assertThat(machine.onHeartbeat(beat(detecting), null).snapshot()).isEmpty();

    BuildSnapshot failed =
        machine.onResult(Fixtures.failed(task(detecting), "x::y", "broken"), detecting).next();
    assertThat(failed.leaseExpiresAt()).isNull();
    assertThat(machine.onHeartbeat(beat(detecting), failed).snapshot()).isEmpty();
  }

  @Test
  void aLeaseThatRanOutIssuesTheStepAgainWithTheNextAttemptAndANewTaskId() {
    BuildSnapshot detecting = claimed(machine.onPush(push, null, null).next());
    clock.advance(LEASE.minusMillis(1));
    assertThat(machine.leaseExpired(detecting)).isFalse();
    assertThat(machine.onLeaseExpired(detecting, null).snapshot()).isEmpty();

    clock.advance(Duration.ofMillis(1));
    Decision retry = machine.onLeaseExpired(detecting, "3.12.7");

    BuildSnapshot next = retry.next();
    assertThat(next.state()).isEqualTo(BuildState.DETECTING);
    assertThat(next.attempt()).isEqualTo(2);
    assertThat(next.currentTaskId())
        .matches(detecting.buildId() + "/detect/2/[0-9a-f]{16}")
        .isNotEqualTo(detecting.currentTaskId());
    assertThat(next.leaseExpiresAt()).as("the new attempt waits for its own claim").isNull();
    assertThat(retry.actions().get(0)).isEqualTo(new Action.WriteSnapshot(next));
    BuildTask task = retry.tasks().get(0);
    assertThat(task.taskId()).isEqualTo(next.currentTaskId());
    assertThat(task.attempt()).isEqualTo(2);
    assertThat(task.previousPython()).isEqualTo("3.12.7");
    assertThat(retry.logs())
        .singleElement()
        .satisfies(
            l -> {
              assertThat(l.level()).isEqualTo(BuildLogLine.Level.WARNING);
              assertThat(l.text())
                  .contains(detecting.currentTaskId())
                  .contains("attempt 2 of 3")
                  .contains("30 s");
            });

    // The lost attempt's late result moves nothing; the new attempt's does.
    Decision late =
        machine.onResult(
            Fixtures.detected(task(detecting), Fixtures.plan("pip"), Fixtures.DEPENDENCY_KEY),
            next);
    assertThat(late.snapshot()).isEmpty();
    assertThat(late.ignoredBecause()).hasValueSatisfying(r -> assertThat(r).contains("stale"));
    Decision current =
        machine.onResult(
            Fixtures.detected(task, Fixtures.plan("pip"), Fixtures.DEPENDENCY_KEY), next);
    assertThat(current.next().state()).isEqualTo(BuildState.INSTALLING);
    assertThat(current.next().attempt()).as("each step starts at attempt 1").isEqualTo(1);
  }

  @Test
  void afterTheLastAttemptTheBuildFailsSayingTheWorkerWasLost() {
    BuildSnapshot s = claimed(machine.onPush(push, null, null).next());
    for (int attempt = 2; attempt <= 3; attempt++) {
      clock.advance(LEASE);
      s = claimed(machine.onLeaseExpired(s, null).next());
      assertThat(s.attempt()).isEqualTo(attempt);
    }
    clock.advance(LEASE);
    Decision lost = machine.onLeaseExpired(s, null);

    assertThat(lost.tasks()).isEmpty();
    assertThat(lost.next().state()).isEqualTo(BuildState.FAILED);
    assertThat(lost.next().leaseExpiresAt()).isNull();
    BuildFailed failed = lost.buildFailed().orElseThrow();
    assertThat(failed.code()).isEqualTo("worker::lost");
    assertThat(failed.stage()).isEqualTo(TaskKind.DETECT);
    assertThat(failed.message())
        .contains("3 attempts")
        .contains(s.currentTaskId())
        .contains("Check the workers' logs")
        .contains("push a new commit");
  }

  @Test
  void aTakenOverClaimWhoseLeaseRanOutWhileNoCoordinatorRanGetsAWholeLeaseFromTheTakeover() {
    BuildSnapshot detecting = claimed(machine.onPush(push, null, null).next());
    clock.advance(Duration.ofMinutes(5));

    // Its worker's heartbeats since the last owner died wait unread behind the restore.
    BuildSnapshot takenOver = machine.takenOver(detecting);

    assertThat(takenOver.leaseExpiresAt()).isEqualTo(clock.now.plus(machine.lease()));
    assertThat(machine.leaseExpired(takenOver)).isFalse();
    assertThat(machine.resume(takenOver, null).tasks()).isEmpty();
    // No sign of life for a whole lease after the takeover: issued again as attempt 2.
    clock.advance(machine.lease());
    Decision retried = machine.onLeaseExpired(takenOver, null);
    assertThat(retried.next().attempt()).isEqualTo(2);
    assertThat(retried.tasks().get(0).taskId()).isNotEqualTo(detecting.currentTaskId());
  }

  @Test
  void aTakenOverClaimWithMoreThanALeaseLeftKeepsItsDeadline() {
    BuildSnapshot detecting = claimed(machine.onPush(push, null, null).next());
    BuildSnapshot later =
        detecting.toBuilder()
            .leaseExpiresAt(clock.now.plus(machine.lease().multipliedBy(3)))
            .build();

    assertThat(machine.takenOver(later)).isSameAs(later);
    assertThat(machine.takenOver(machine.onPush(push, null, null).next()).leaseExpiresAt())
        .as("an unclaimed task has no lease to renew")
        .isNull();
  }

  @Test
  void aRestoredClaimedTaskWithTimeLeftIsLeftToItsWorker() {
    BuildSnapshot detecting = claimed(machine.onPush(push, null, null).next());
    clock.advance(Duration.ofSeconds(10));

    Decision resumed = machine.resume(detecting, null);

    assertThat(resumed.snapshot()).isEmpty();
    assertThat(resumed.tasks()).isEmpty();
    assertThat(resumed.ignoredBecause())
        .hasValueSatisfying(r -> assertThat(r).contains("claimed by a worker"));
  }

  @Test
  void aRestoredUnclaimedTaskIsResentWithTheSameId() {
    BuildSnapshot unclaimed = machine.onPush(push, null, null).next();
    clock.advance(Duration.ofMinutes(5));

    Decision resumed = machine.resume(unclaimed, null);

    assertThat(resumed.snapshotWrites()).isEmpty();
    assertThat(resumed.tasks())
        .extracting(BuildTask::taskId)
        .containsExactly(unclaimed.currentTaskId());
  }

  @Test
  void knownBuildsFindsTheLeasesThatRanOutByDeadlineWithoutScanningTheRest() {
    KnownBuilds builds = new KnownBuilds();
    Instant t0 = clock.now;
    for (int i = 0; i < 500; i++) {
      PushEvent p = Fixtures.push("acme", "app-" + i, String.format("%040x", i));
      builds.put(leased(p, t0.plusSeconds(100 + i)));
    }
    PushEvent soon = Fixtures.push("acme", "soon", "1".repeat(40));
    PushEvent sooner = Fixtures.push("acme", "sooner", "2".repeat(40));
    builds.put(leased(soon, t0.plusSeconds(5)));
    builds.put(leased(sooner, t0.plusSeconds(3)));
    // A finished build and a queued one hold no lease, whatever their snapshot says.
    builds.put(
        leased(Fixtures.push("acme", "done", "3".repeat(40)), t0).toBuilder()
            .state(BuildState.SUCCEEDED)
            .build());

    long before = builds.visited();
    assertThat(builds.leasesEndedBy(t0.plusSeconds(10), 100))
        .extracting(s -> s.push().app())
        .containsExactly("sooner", "soon");
    assertThat(builds.visited() - before).isLessThanOrEqualTo(3);
    assertThat(builds.leased()).isEqualTo(502);

    // Renewed: the build leaves the ended set; its old deadline is forgotten.
    BuildSnapshot renewed =
        builds.get(soon.buildId()).orElseThrow().toBuilder()
            .leaseExpiresAt(t0.plusSeconds(60))
            .build();
    builds.put(renewed);
    assertThat(builds.leasesEndedBy(t0.plusSeconds(10), 100))
        .extracting(s -> s.push().app())
        .containsExactly("sooner");
    assertThat(builds.leasesEndedBy(t0.plusSeconds(10), 0)).isEmpty();
    assertThat(builds.leased()).isEqualTo(502);
  }

  private static BuildSnapshot leased(PushEvent p, Instant deadline) {
    return BuildSnapshot.builder()
        .buildId(p.buildId())
        .state(BuildState.DETECTING)
        .push(p)
        .attempt(1)
        .currentTaskId(BuildTask.taskId(p.buildId(), TaskKind.DETECT, 1))
        .createdAt(deadline)
        .updatedAt(deadline)
        .leaseExpiresAt(deadline)
        .build();
  }

  /** The snapshot after a worker claimed its task (its first heartbeat). */
  private BuildSnapshot claimed(BuildSnapshot s) {
    return machine.onHeartbeat(beat(s), s).next();
  }

  private TaskHeartbeat beat(BuildSnapshot s) {
    return TaskHeartbeat.of(task(s), "worker-1", clock.now);
  }

  private static BuildTask task(BuildSnapshot s) {
    return BuildStateMachine.currentTask(s, null);
  }

  static final class ManualClock extends Clock {
    Instant now = Instant.parse("2026-11-30T11:00:00Z");

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
