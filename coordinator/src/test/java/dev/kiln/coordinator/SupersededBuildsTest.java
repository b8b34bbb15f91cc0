package dev.kiln.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.events.BuildCancelled;
import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildState;
import dev.kiln.events.BuildTask;
import dev.kiln.events.PushEvent;
import dev.kiln.events.TaskKind;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A later push to the same tenant, app and branch supersedes the builds of earlier ones: a waiting
 * build is cancelled at once, a running one at its next step boundary; either ends CANCELLED with a
 * build-cancelled event naming the newer build, and never publishes an image.
 */
class SupersededBuildsTest {
  private static final String OLD_COMMIT = "1".repeat(40);
  private static final String NEW_COMMIT = "2".repeat(40);

  private final TaskLeaseTest.ManualClock clock = new TaskLeaseTest.ManualClock();
  private final BuildStateMachine machine = new BuildStateMachine(clock);
  private final PushEvent older = Fixtures.push("acme", "web", OLD_COMMIT);
  private final PushEvent newer = Fixtures.push("acme", "web", NEW_COMMIT);

  @Test
  void aWaitingBuildIsCancelledAtOnceNamingTheNewerBuild() {
    BuildSnapshot queued = machine.queue(older, "acme runs 4 builds").next();

    Decision superseded = machine.supersede(queued, newer.buildId());

    BuildSnapshot cancelled = superseded.next();
    assertThat(cancelled.state()).isEqualTo(BuildState.CANCELLED);
    assertThat(cancelled.supersededBy()).isEqualTo(newer.buildId());
    assertThat(cancelled.outcomePublished()).isTrue();
    assertThat(cancelled.queuedReason()).isNull();
    assertThat(superseded.tasks()).isEmpty();
    assertThat(superseded.imageReady()).isEmpty();
    BuildCancelled event = superseded.buildCancelled().orElseThrow();
    assertThat(event.buildId()).isEqualTo(older.buildId());
    assertThat(event.supersededBy()).isEqualTo(newer.buildId());
    assertThat(event.ref()).isEqualTo("refs/heads/main");
    assertThat(event.commit()).isEqualTo(OLD_COMMIT);
    assertThat(event.stage()).isNull();
    assertThat(event.message()).contains("it had not started").contains(newer.buildId());
  }

  @Test
  void aRunningBuildIsMarkedAndStopsAtItsNextStepBoundaryWithoutAnImage() {
    BuildSnapshot detecting = machine.onPush(older, null, null).next();
    BuildTask detect = BuildStateMachine.currentTask(detecting, null);
    BuildSnapshot installing =
        machine
            .onResult(
                Fixtures.detected(detect, Fixtures.plan("pip"), Fixtures.DEPENDENCY_KEY), detecting)
            .next();

    Decision marked = machine.supersede(installing, newer.buildId());

    assertThat(marked.next().state()).isEqualTo(BuildState.INSTALLING);
    assertThat(marked.next().supersededBy()).isEqualTo(newer.buildId());
    assertThat(marked.snapshotWrites()).containsExactly(marked.next());
    assertThat(marked.tasks()).isEmpty();
    assertThat(marked.logs())
        .extracting(Action.Log::text)
        .anySatisfy(text -> assertThat(text).contains("stops after its current step"));

    // The INSTALL succeeds: a boundary. No ASSEMBLE is sent, no image will ever be ready.
    BuildTask install = BuildStateMachine.currentTask(marked.next(), null);
    Decision boundary =
        machine.onResult(
            Fixtures.installed(install, Fixtures.layer(Fixtures.DEPENDENCY_KEY)), marked.next());

    assertThat(boundary.next().state()).isEqualTo(BuildState.CANCELLED);
    assertThat(boundary.tasks()).isEmpty();
    assertThat(boundary.imageReady()).isEmpty();
    assertThat(boundary.buildFailed()).isEmpty();
    BuildCancelled event = boundary.buildCancelled().orElseThrow();
    assertThat(event.stage()).isEqualTo(TaskKind.INSTALL);
    assertThat(event.supersededBy()).isEqualTo(newer.buildId());
    assertThat(event.message()).contains("stopped after INSTALL");
    // A late duplicate of the result changes nothing.
    assertThat(
            machine
                .onResult(
                    Fixtures.installed(install, Fixtures.layer(Fixtures.DEPENDENCY_KEY)),
                    boundary.next())
                .ignoredBecause())
        .isPresent();
  }

  @Test
  void aFailedStepOfASupersededBuildEndsItCancelledNotFailed() {
    BuildSnapshot detecting = machine.onPush(older, null, null).next();
    BuildSnapshot marked = machine.supersede(detecting, newer.buildId()).next();

    Decision boundary =
        machine.onResult(
            Fixtures.failed(BuildStateMachine.currentTask(marked, null), "detect::x", "no app"),
            marked);

    assertThat(boundary.next().state()).isEqualTo(BuildState.CANCELLED);
    assertThat(boundary.buildFailed()).isEmpty();
    assertThat(boundary.buildCancelled()).isPresent();
  }

  @Test
  void aSupersededBuildWhoseWorkerIsLostIsCancelledNotRetried() {
    BuildSnapshot detecting = machine.onPush(older, null, null).next();
    BuildSnapshot claimed =
        detecting.toBuilder().leaseExpiresAt(clock.instant().plus(machine.lease())).build();
    BuildSnapshot marked = machine.supersede(claimed, newer.buildId()).next();
    clock.advance(machine.lease().plus(Duration.ofSeconds(1)));

    Decision lost = machine.onLeaseExpired(marked, null);

    assertThat(lost.next().state()).isEqualTo(BuildState.CANCELLED);
    assertThat(lost.tasks()).isEmpty();
  }

  @Test
  void anEvenNewerPushRepointsAMarkedBuildAndAFinishedBuildIsLeftAlone() {
    String newest = Fixtures.push("acme", "web", "3".repeat(40)).buildId();
    BuildSnapshot detecting = machine.onPush(older, null, null).next();
    BuildSnapshot marked = machine.supersede(detecting, newer.buildId()).next();

    BuildSnapshot repointed = machine.supersede(marked, newest).next();
    assertThat(repointed.supersededBy()).isEqualTo(newest);

    BuildSnapshot cancelled =
        machine
            .onResult(
                Fixtures.failed(BuildStateMachine.currentTask(repointed, null), "x::y", "z"),
                repointed)
            .next();
    assertThat(machine.supersede(cancelled, newest).ignoredBecause()).isPresent();
  }
}
