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

class KnownBuildsTest {
  private final KnownBuilds builds = new KnownBuilds();

  @Test
  void previousPythonIsThatOfTheAppsMostRecentSuccessfulBuild() {
    builds.put(snapshot("acme", "web", '1', BuildState.SUCCEEDED, "3.11.9", 10));
    builds.put(snapshot("acme", "web", '2', BuildState.SUCCEEDED, "3.12.7", 20));
    builds.put(snapshot("acme", "web", '3', BuildState.FAILED, "3.13.5", 30));
    builds.put(snapshot("acme", "web", '4', BuildState.ASSEMBLING, "3.10.15", 40));
    builds.put(snapshot("acme", "api", '5', BuildState.SUCCEEDED, "3.9.20", 50));
    builds.put(snapshot("other", "web", '6', BuildState.SUCCEEDED, "3.9.20", 60));

    assertThat(builds.previousPython("acme", "web")).isEqualTo("3.12.7");
    assertThat(builds.previousPython("acme", "api")).isEqualTo("3.9.20");
    assertThat(builds.previousPython("acme", "new")).isNull();
  }

  @Test
  void listingShowsOneTenantsBuildsNewestFirstOptionallyOfOneApp() {
    BuildSnapshot old = snapshot("acme", "web", '1', BuildState.SUCCEEDED, "3.12.7", 10);
    BuildSnapshot newer = snapshot("acme", "api", '2', BuildState.DETECTING, null, 20);
    BuildSnapshot newest = snapshot("acme", "web", '3', BuildState.FAILED, null, 30);
    builds.put(old);
    builds.put(newer);
    builds.put(newest);
    builds.put(snapshot("other", "web", '4', BuildState.SUCCEEDED, null, 40));

    assertThat(builds.list("acme", null, 100)).containsExactly(newest, newer, old);
    assertThat(builds.list("acme", "web", 100)).containsExactly(newest, old);
    assertThat(builds.list("acme", null, 1)).containsExactly(newest);
    assertThat(builds.list("nobody", null, 100)).isEmpty();
  }

  @Test
  void restoringAPreviousSnapshotUndoesAPut() {
    BuildSnapshot first = snapshot("acme", "web", '1', BuildState.DETECTING, null, 10);
    builds.put(first);
    BuildSnapshot second = snapshot("acme", "web", '1', BuildState.INSTALLING, null, 10);
    builds.put(second);

    builds.restore(first.buildId(), first);
    assertThat(builds.get(first.buildId())).contains(first);
    builds.restore(first.buildId(), null);
    assertThat(builds.get(first.buildId())).isEmpty();
    assertThat(builds.size()).isZero();
  }

  @Test
  void perAppLookupsLookOnlyAtThatAppsBuildsHoweverManyOthersExist() {
    // 20,000 builds of other apps and tenants, all successful with a Python version.
    for (int i = 0; i < 20_000; i++) {
      String tenant = i % 2 == 0 ? "acme" : "other";
      builds.put(
          snapshot(
              tenant, "app" + (i % 100), commit(i), BuildState.SUCCEEDED, "3.9.20", 1_000 + i));
    }
    builds.put(snapshot("acme", "web", commit(90_001), BuildState.SUCCEEDED, "3.11.9", 10));
    builds.put(snapshot("acme", "web", commit(90_002), BuildState.SUCCEEDED, "3.12.7", 20));
    builds.put(snapshot("acme", "web", commit(90_003), BuildState.FAILED, "3.13.5", 30));

    long before = builds.visited();
    assertThat(builds.previousPython("acme", "web")).isEqualTo("3.12.7");
    assertThat(builds.previousPython("acme", "nothing-yet")).isNull();
    assertThat(builds.visited() - before).isEqualTo(1);

    before = builds.visited();
    assertThat(builds.list("acme", "web", 100))
        .extracting(s -> s.plan().pythonVersion())
        .containsExactly("3.13.5", "3.12.7", "3.11.9");
    assertThat(builds.visited() - before).isEqualTo(3);

    before = builds.visited();
    List<BuildSnapshot> newest = builds.list("acme", null, 5);
    assertThat(newest).hasSize(5).allMatch(s -> s.push().tenant().equals("acme"));
    assertThat(newest.get(0).createdAt()).isEqualTo(Instant.ofEpochSecond(1_000 + 19_998));
    assertThat(builds.visited() - before).isEqualTo(5);
  }

  @Test
  void theIndexesFollowUpdatesAndUndoneWrites() {
    BuildSnapshot older = snapshot("acme", "web", '1', BuildState.SUCCEEDED, "3.11.9", 10);
    BuildSnapshot running = snapshot("acme", "web", '2', BuildState.ASSEMBLING, "3.12.7", 20);
    builds.put(older);
    builds.put(running);
    assertThat(builds.previousPython("acme", "web")).isEqualTo("3.11.9");

    BuildSnapshot succeeded =
        running.toBuilder()
            .state(BuildState.SUCCEEDED)
            .updatedAt(Instant.ofEpochSecond(25))
            .build();
    builds.put(succeeded);
    assertThat(builds.previousPython("acme", "web")).isEqualTo("3.12.7");
    assertThat(builds.list("acme", "web", 10)).containsExactly(succeeded, older);
    assertThat(builds.list("acme", null, 10)).containsExactly(succeeded, older);

    // A write that could not be published is undone: the lookups forget it too.
    builds.restore(succeeded.buildId(), running);
    assertThat(builds.previousPython("acme", "web")).isEqualTo("3.11.9");
    assertThat(builds.list("acme", "web", 10)).containsExactly(running, older);
    builds.restore(running.buildId(), null);
    builds.restore(older.buildId(), null);
    assertThat(builds.previousPython("acme", "web")).isNull();
    assertThat(builds.list("acme", null, 10)).isEmpty();
    assertThat(builds.size()).isZero();
  }

  @Test
  void theDashboardsListsSpanTenantsForTheOperatorAndOneTenantOtherwise() {
    BuildSnapshot acmeOld = snapshot("acme", "web", '1', BuildState.SUCCEEDED, null, 10);
    BuildSnapshot otherRunning = snapshot("other", "api", '2', BuildState.INSTALLING, null, 20);
    BuildSnapshot acmeQueued = snapshot("acme", "web", '3', BuildState.QUEUED, null, 30);
    builds.put(acmeOld);
    builds.put(otherRunning);
    builds.put(acmeQueued);

    assertThat(builds.newest(null, 10)).containsExactly(acmeQueued, otherRunning, acmeOld);
    assertThat(builds.newest(null, 2)).containsExactly(acmeQueued, otherRunning);
    assertThat(builds.newest("acme", 10)).containsExactly(acmeQueued, acmeOld);
    assertThat(builds.unfinished(null)).containsExactly(acmeQueued, otherRunning);
    assertThat(builds.unfinished("other")).containsExactly(otherRunning);
    assertThat(builds.unfinished("nobody")).isEmpty();
  }

  @Test
  void finishedSinceWalksBackFromTheNewestFinishAndStopsAtTheFirstOlderOne() {
    for (int i = 0; i < 1_000; i++) {
      builds.put(published(snapshot("acme", "web", commit(i), BuildState.SUCCEEDED, null, i)));
    }
    BuildSnapshot recentFailure =
        published(snapshot("other", "api", commit(5_000), BuildState.FAILED, null, 5_000));
    BuildSnapshot recentSuccess =
        published(snapshot("acme", "web", commit(5_001), BuildState.SUCCEEDED, null, 5_001));
    builds.put(recentFailure);
    builds.put(recentSuccess);
    // Finished but its outcome not yet published: not done, not counted.
    builds.put(snapshot("acme", "web", commit(5_002), BuildState.SUCCEEDED, null, 5_002));

    long before = builds.visited();
    assertThat(builds.finishedSince(Instant.ofEpochSecond(4_000), null))
        .containsExactly(recentSuccess, recentFailure);
    assertThat(builds.finishedSince(Instant.ofEpochSecond(4_000), "other"))
        .containsExactly(recentFailure);
    assertThat(builds.visited() - before).isEqualTo(4);
  }

  private static BuildSnapshot published(BuildSnapshot snapshot) {
    return snapshot.toBuilder().outcomePublished(true).build();
  }

  private static String commit(int i) {
    return String.format("%040x", i);
  }

  private static BuildSnapshot snapshot(
      String tenant, String app, char commitChar, BuildState state, String python, long second) {
    return snapshot(tenant, app, String.valueOf(commitChar).repeat(40), state, python, second);
  }

  private static BuildSnapshot snapshot(
      String tenant, String app, String commit, BuildState state, String python, long second) {
    PushEvent push = Fixtures.push(tenant, app, commit);
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
    Instant at = Instant.ofEpochSecond(second);
    return BuildSnapshot.builder()
        .buildId(push.buildId())
        .state(state)
        .push(push)
        .attempt(1)
        .plan(plan)
        .createdAt(at)
        .updatedAt(at)
        .build();
  }
}
