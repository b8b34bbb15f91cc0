package dev.kiln.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildState;
import dev.kiln.events.StepTiming;
import dev.kiln.events.TaskKind;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The dashboard's last-hour figures, from snapshots alone. */
class FarmSummaryTest {
  private static final Instant NOW = Instant.parse("2026-11-30T12:00:00Z");
  private static final StepTiming DETECT = new StepTiming(TaskKind.DETECT, "t-d", "w1", 300, false);
  private static final StepTiming INSTALL_RAN =
      new StepTiming(TaskKind.INSTALL, "t-i", "w1", 4000, false);
  private static final StepTiming INSTALL_CACHED = StepTiming.skipped(TaskKind.INSTALL, "t-i");
  private static final StepTiming ASSEMBLE =
      new StepTiming(TaskKind.ASSEMBLE, "t-a", "w2", 900, false);

  private int commits;

  @Test
  void countsBuildsThatFinishedInTheLastHourAndTheirThroughput() {
    FarmSummary summary =
        FarmSummary.of(
            NOW,
            FarmSummary.LAST_HOUR,
            List.of(
                finished(BuildState.SUCCEEDED, Duration.ofMinutes(5), "pip", DETECT, ASSEMBLE),
                finished(BuildState.FAILED, Duration.ofMinutes(59), "pip", DETECT),
                finished(BuildState.CANCELLED, Duration.ofMinutes(30), "pip", DETECT),
                // Older than the window: not counted, though the caller passed it.
                finished(BuildState.SUCCEEDED, Duration.ofMinutes(61), "pip", DETECT)),
            List.of());

    assertThat(summary.finished()).isEqualTo(3);
    assertThat(summary.succeeded()).isEqualTo(1);
    assertThat(summary.failed()).isEqualTo(1);
    assertThat(summary.cancelled()).isEqualTo(1);
    assertThat(summary.buildsPerMinute()).isEqualTo(3 / 60.0);
  }

  @Test
  void hitRatioIsCachedInstallsOverBuildsThatNeededAnInstall() {
    FarmSummary summary =
        FarmSummary.of(
            NOW,
            FarmSummary.LAST_HOUR,
            List.of(
                finished(BuildState.SUCCEEDED, Duration.ofMinutes(1), "pip", INSTALL_CACHED),
                finished(BuildState.SUCCEEDED, Duration.ofMinutes(2), "pip", INSTALL_CACHED),
                finished(BuildState.SUCCEEDED, Duration.ofMinutes(3), "pip", INSTALL_RAN),
                finished(BuildState.FAILED, Duration.ofMinutes(4), "pip", INSTALL_RAN),
                // No requirements: INSTALL is skipped because nothing needs installing, not
                // because the cache had it.
                finished(BuildState.SUCCEEDED, Duration.ofMinutes(5), null, INSTALL_CACHED),
                // Failed in DETECT: never got to need an install.
                finished(BuildState.FAILED, Duration.ofMinutes(6), "pip", DETECT)),
            List.of());

    assertThat(summary.installsNeeded()).isEqualTo(4);
    assertThat(summary.installsCached()).isEqualTo(2);
    assertThat(summary.cacheHitRatio()).isEqualTo(0.5);
  }

  @Test
  void noInstallsMeansNoRatioRatherThanZero() {
    FarmSummary summary = FarmSummary.of(NOW, FarmSummary.LAST_HOUR, List.of(), List.of());

    assertThat(summary.finished()).isZero();
    assertThat(summary.buildsPerMinute()).isZero();
    assertThat(summary.cacheHitRatio()).isNull();
  }

  @Test
  void countsRunningAndQueuedBuildsApart() {
    FarmSummary summary =
        FarmSummary.of(
            NOW,
            FarmSummary.LAST_HOUR,
            List.of(),
            List.of(
                unfinished(BuildState.QUEUED),
                unfinished(BuildState.DETECTING),
                unfinished(BuildState.INSTALLING),
                unfinished(BuildState.ASSEMBLING)));

    assertThat(summary.running()).isEqualTo(3);
    assertThat(summary.queued()).isEqualTo(1);
  }

  private BuildSnapshot finished(
      BuildState state, Duration ago, String packageManager, StepTiming... steps) {
    return snapshot(state)
        .plan(Fixtures.plan(packageManager))
        .steps(List.of(steps))
        .updatedAt(NOW.minus(ago))
        .build();
  }

  private BuildSnapshot unfinished(BuildState state) {
    return snapshot(state).updatedAt(NOW).build();
  }

  private BuildSnapshot.Builder snapshot(BuildState state) {
    var push = Fixtures.push("acme", "web", String.format("%040x", ++commits));
    return BuildSnapshot.builder()
        .buildId(push.buildId())
        .state(state)
        .push(push)
        .attempt(1)
        .createdAt(NOW.minus(Duration.ofHours(2)));
  }
}
