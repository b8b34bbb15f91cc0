package dev.kiln.coordinator;

import static dev.kiln.coordinator.Fixtures.DEPENDENCY_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildState;
import dev.kiln.events.BuildTask;
import dev.kiln.events.StepTiming;
import dev.kiln.events.TaskKind;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The rules of waiting for another build's install, without a broker. */
class CoalescedInstallsTest {
  private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

  private final BuildStateMachine machine =
      new BuildStateMachine(new BuildStateMachineTest.SteppingClock());
  private final InstallCoalescer installs = new InstallCoalescer();

  /** The snapshots the coalescer is asked about, as the coordinator's KnownBuilds holds them. */
  private final Map<String, BuildSnapshot> known = new HashMap<>();

  @Test
  void theFirstBuildOfASetInstallsAndTheNextOnesWaitForIt() {
    Decision a = toInstall("acme", "a");
    Decision b = toInstall("acme", "b");
    Decision c = toInstall("acme", "c");

    assertThat(claim(a)).isEmpty();
    assertThat(claim(b)).contains(a.next().buildId());
    assertThat(claim(c)).contains(a.next().buildId());

    assertThat(installs.inFlightCount()).isEqualTo(1);
    assertThat(installs.parkedCount()).isEqualTo(2);
  }

  @Test
  void anotherTenantsInstallOfTheSameSetIsNotWaitedFor() {
    Decision acme = toInstall("acme", "web");
    Decision globex = toInstall("globex", "web");

    assertThat(claim(acme)).isEmpty();
    assertThat(claim(globex)).isEmpty();
    assertThat(installs.inFlightCount()).isEqualTo(2);
  }

  @Test
  void whenTheInstallIsOverItsWaitersAreReleasedWhateverTheOutcome() {
    for (BuildState end : new BuildState[] {BuildState.ASSEMBLING, BuildState.FAILED}) {
      InstallCoalescer fresh = new InstallCoalescer();
      Decision a = toInstall("acme", "a-" + end);
      Decision b = toInstall("acme", "b-" + end);
      fresh.claim(a.installTask().orElseThrow(), T0, this::live);
      fresh.claim(b.installTask().orElseThrow(), T0, this::live);

      // A heartbeat (same task) changes nothing.
      assertThat(fresh.changed(a.next().buildId(), a.next())).isEmpty();
      BuildSnapshot over = a.next().toBuilder().state(end).build();
      assertThat(fresh.changed(a.next().buildId(), over)).containsExactly(b.next().buildId());
      assertThat(fresh.isParked(b.next().buildId())).isFalse();
      assertThat(fresh.inFlightCount()).isZero();
    }
  }

  @Test
  void anInstallIssuedAgainAfterItsLeaseRanOutReleasesItsWaiters() {
    Decision a = toInstall("acme", "a");
    Decision b = toInstall("acme", "b");
    claim(a);
    claim(b);

    BuildSnapshot retried =
        a.next().toBuilder()
            .attempt(2)
            .currentTaskId(BuildTask.taskId(a.next().buildId(), TaskKind.INSTALL, 2))
            .build();

    assertThat(installs.changed(a.next().buildId(), retried)).containsExactly(b.next().buildId());
  }

  @Test
  void aReleasedWaiterInstallsAndTheOthersWaitForItInstead() {
    Decision a = toInstall("acme", "a");
    Decision b = toInstall("acme", "b");
    Decision c = toInstall("acme", "c");
    claim(a);
    claim(b);
    claim(c);
    known.remove(a.next().buildId()); // failed and forgotten

    installs.changed(a.next().buildId(), null);

    assertThat(claim(b)).isEmpty();
    assertThat(claim(c)).contains(b.next().buildId());
  }

  @Test
  void anInstallWhoseBuildNoLongerWaitsForItIsNotWaitedFor() {
    Decision a = toInstall("acme", "a");
    Decision b = toInstall("acme", "b");
    claim(a);
    known.put(a.next().buildId(), a.next().toBuilder().state(BuildState.CANCELLED).build());

    assertThat(claim(b)).isEmpty(); // the stale entry is replaced, not waited for
  }

  @Test
  void aWaiterWaitsAtMostTheGivenTimeThenInstallsItself() {
    Decision a = toInstall("acme", "a");
    Decision b = toInstall("acme", "b");
    installs.claim(a.installTask().orElseThrow(), T0, this::live);
    installs.claim(b.installTask().orElseThrow(), T0.plusSeconds(10), this::live);
    Duration maxWait = Duration.ofSeconds(180);

    assertThat(installs.overdue(T0.plusSeconds(189), maxWait)).isEmpty();
    assertThat(installs.overdue(T0.plusSeconds(190), maxWait)).containsExactly(b.next().buildId());
    assertThat(installs.isParked(b.next().buildId())).isFalse();
    assertThat(installs.inFlightCount()).isEqualTo(1); // a's install still runs
  }

  @Test
  void theBoundCountsFromTheFirstWaitAcrossInstallsThatFailedOneAfterAnother() {
    Decision a = toInstall("acme", "a");
    Decision b = toInstall("acme", "b");
    Decision c = toInstall("acme", "c");
    installs.claim(a.installTask().orElseThrow(), T0, this::live);
    installs.claim(b.installTask().orElseThrow(), T0, this::live);
    installs.claim(c.installTask().orElseThrow(), T0, this::live);
    known.remove(a.next().buildId());
    installs.changed(a.next().buildId(), null); // a failed: b installs, c waits for b
    installs.claim(b.installTask().orElseThrow(), T0.plusSeconds(100), this::live);
    installs.claim(c.installTask().orElseThrow(), T0.plusSeconds(100), this::live);

    assertThat(installs.overdue(T0.plusSeconds(180), Duration.ofSeconds(180)))
        .containsExactly(c.next().buildId());
  }

  @Test
  void aClaimedInstallFoundAtResumeIsWaitedForButASecondOneIsNotParked() {
    Decision a = toInstall("acme", "a");
    Decision b = toInstall("acme", "b");
    Decision c = toInstall("acme", "c");

    installs.adopt(a.installTask().orElseThrow(), T0, this::live);
    installs.adopt(b.installTask().orElseThrow(), T0, this::live);

    assertThat(installs.isParked(b.next().buildId())).isFalse();
    assertThat(claim(c)).contains(a.next().buildId());
  }

  @Test
  void buildsOfPartitionsGivenUpAreForgottenAndTheirWaitersGoOn() {
    Decision a = toInstall("acme", "a");
    Decision b = toInstall("acme", "b");
    claim(a);
    claim(b);

    assertThat(installs.releaseIf(id -> id.equals(a.next().buildId())))
        .containsExactly(b.next().buildId());
    assertThat(installs.inFlightCount()).isZero();
  }

  @Test
  void forgettingAnInstallThatWasNotSentReleasesItsWaiters() {
    Decision a = toInstall("acme", "a");
    Decision b = toInstall("acme", "b");
    claim(a);
    claim(b);

    assertThat(installs.forget(a.next().buildId())).containsExactly(b.next().buildId());
  }

  @Test
  void aParkedBuildWritesItsSnapshotAndSaysWhatItWaitsForButSendsNoTask() {
    Decision planned = toInstall("acme", "b");

    Decision parked = machine.park(planned, "b-owner");

    assertThat(parked.next()).isEqualTo(planned.next());
    assertThat(parked.next().state()).isEqualTo(BuildState.INSTALLING);
    assertThat(parked.tasks()).isEmpty();
    assertThat(parked.snapshotWrites()).containsExactly(planned.next());
    assertThat(parked.logs())
        .extracting(Action.Log::text)
        .anyMatch(t -> t.startsWith("-----> Waiting for build b-owner"));
    assertThatThrownBy(() -> machine.park(Decision.ignore("x"), "b-owner"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void anUnparkedBuildSendsTheInstallItWaitedWithOrReusesTheCachedLayer() {
    Decision planned = toInstall("acme", "b");
    BuildSnapshot waiting = machine.park(planned, "b-owner").next();

    Decision unparked = machine.unpark(waiting, "The install is over");

    assertThat(unparked.installTask()).isEqualTo(planned.installTask());
    Decision reused = machine.reuseLayer(unparked, Fixtures.layer(DEPENDENCY_KEY));
    assertThat(reused.next().state()).isEqualTo(BuildState.ASSEMBLING);
    assertThat(reused.next().layer().reused()).isTrue();
    assertThat(reused.next().steps())
        .extracting(StepTiming::kind, StepTiming::skipped)
        .contains(org.assertj.core.groups.Tuple.tuple(TaskKind.INSTALL, true));
  }

  @Test
  void aParkedBuildThatWasSupersededEndsCancelledAtOnce() {
    BuildSnapshot waiting = machine.park(toInstall("acme", "b"), "b-owner").next();

    Decision now = machine.supersedeWaiting(waiting, "b-newer");
    Decision later = machine.unpark(waiting.toBuilder().supersededBy("b-newer").build(), "over");

    assertThat(now.next().state()).isEqualTo(BuildState.CANCELLED);
    assertThat(now.next().supersededBy()).isEqualTo("b-newer");
    assertThat(now.buildCancelled()).isPresent();
    assertThat(later.next().state()).isEqualTo(BuildState.CANCELLED);
    assertThat(later.tasks()).isEmpty();
  }

  @Test
  void aBuildThatNoLongerWaitsIsNotUnparked() {
    BuildSnapshot waiting = machine.park(toInstall("acme", "b"), "b-owner").next();

    assertThat(
            machine.unpark(waiting.toBuilder().leaseExpiresAt(T0).build(), "over").ignoredBecause())
        .isPresent();
    assertThat(
            machine
                .unpark(waiting.toBuilder().state(BuildState.ASSEMBLING).build(), "over")
                .ignoredBecause())
        .isPresent();
  }

  private Decision toInstall(String tenant, String app) {
    BuildSnapshot detecting =
        machine.onPush(Fixtures.push(tenant, app, Fixtures.COMMIT), null, null).next();
    Decision planned =
        machine.onResult(
            Fixtures.detected(
                BuildStateMachine.currentTask(detecting, null),
                Fixtures.plan("pip"),
                DEPENDENCY_KEY),
            detecting);
    known.put(planned.next().buildId(), planned.next());
    return planned;
  }

  private java.util.Optional<String> claim(Decision planned) {
    return installs.claim(planned.installTask().orElseThrow(), T0, this::live);
  }

  private boolean live(String buildId, String taskId) {
    BuildSnapshot s = known.get(buildId);
    return s != null && s.state() == BuildState.INSTALLING && taskId.equals(s.currentTaskId());
  }
}
