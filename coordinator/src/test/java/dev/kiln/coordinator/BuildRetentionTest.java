package dev.kiln.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.events.BuildPlanSummary;
import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildState;
import dev.kiln.events.PushEvent;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which finished builds retention deletes, as pure bookkeeping on {@link KnownBuilds}. */
class BuildRetentionTest {
  private static final Instant T0 = Instant.parse("2026-11-01T00:00:00Z");
  private final KnownBuilds builds = new KnownBuilds();

  @Test
  void finishedBuildsOlderThanTheCutoffAreFoundOldestFirstWithoutScanningTheRest() {
    for (int i = 0; i < 1000; i++) {
      builds.put(build("app-" + i, i, BuildState.FAILED, true, null, T0.plusSeconds(1000 + i)));
    }
    BuildSnapshot oldest = build("web", 1, BuildState.FAILED, true, null, T0.plusSeconds(1));
    BuildSnapshot older = build("web", 2, BuildState.FAILED, true, null, T0.plusSeconds(2));
    builds.put(older);
    builds.put(oldest);

    long before = builds.visited();
    assertThat(builds.finishedBefore(T0.plusSeconds(500), 100)).containsExactly(oldest, older);
    assertThat(builds.visited() - before).isLessThanOrEqualTo(3);
    assertThat(builds.finishedBefore(T0.plusSeconds(500), 1)).containsExactly(oldest);
  }

  @Test
  void unfinishedBuildsAndOutcomesNotYetPublishedAreNeverDeleted() {
    builds.put(build("running", 1, BuildState.INSTALLING, false, null, T0));
    builds.put(build("queued", 2, BuildState.QUEUED, false, null, T0));
    builds.put(build("unpublished", 3, BuildState.FAILED, false, null, T0));

    assertThat(builds.finishedBefore(T0.plusSeconds(3600), 100)).isEmpty();
  }

  @Test
  void anAppsLatestSuccessfulBuildIsKeptForItsStickyPythonWhateverItsAge() {
    BuildSnapshot first = build("web", 1, BuildState.SUCCEEDED, true, "3.11.9", T0);
    BuildSnapshot latest = build("web", 2, BuildState.SUCCEEDED, true, "3.12.7", T0.plusSeconds(1));
    BuildSnapshot failedLater = build("web", 3, BuildState.FAILED, true, null, T0.plusSeconds(2));
    builds.put(first);
    builds.put(latest);
    builds.put(failedLater);

    List<BuildSnapshot> old = builds.finishedBefore(T0.plusSeconds(3600), 100);

    assertThat(old).containsExactly(first, failedLater);
    old.forEach(s -> builds.restore(s.buildId(), null));
    assertThat(builds.previousPython("acme", "web")).isEqualTo("3.12.7");
    assertThat(builds.size()).isEqualTo(1);
  }

  private static BuildSnapshot build(
      String app, int n, BuildState state, boolean published, String python, Instant updated) {
    PushEvent push = Fixtures.push("acme", app, String.format("%040x", n));
    BuildPlanSummary plan =
        python == null
            ? null
            : new BuildPlanSummary(
                "buildpack",
                ".",
                python,
                null,
                null,
                null,
                null,
                "pip",
                List.of(),
                null,
                null,
                Map.of(),
                List.of(),
                null);
    return BuildSnapshot.builder()
        .buildId(push.buildId())
        .state(state)
        .push(push)
        .attempt(1)
        .plan(plan)
        .outcomePublished(published)
        .createdAt(updated)
        .updatedAt(updated)
        .build();
  }
}
