package dev.kiln.coordinator;

import static dev.kiln.coordinator.CoordinatorKafkaTest.BUILD_TIMEOUT;
import static dev.kiln.coordinator.CoordinatorKafkaTest.QUIET;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.events.BuildCancelled;
import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildState;
import dev.kiln.events.ImageReady;
import dev.kiln.events.PushEvent;
import dev.kiln.events.Topics;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Pushes to one branch in quick succession: only the newest builds to the end. */
@ExtendWith(SharedKafka.class)
class SupersededPushesKafkaTest {
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
  void fivePushesToOneBranchInQuickSuccessionBuildOnlyTheNewestAndCancelTheRestNamingIt() {
    TopicRecorder cancelled =
        TopicRecorder.start(farm.vertx, farm.bootstrapServers, farm.topics.buildCancelled());
    // Workers hold every task until all five pushes are in, as busy workers would.
    ScriptedWorkers workers = farm.workers(task -> null);
    farm.deploy(new CoordinatorVerticle(farm.config()));
    List<PushEvent> pushes = new ArrayList<>();
    for (int i = 1; i <= 5; i++) {
      PushEvent push = Fixtures.push("acme", "web", String.valueOf(i).repeat(40));
      pushes.add(push);
      // Keyed as POST /v1/pushes keys them: one app's pushes stay in order on one partition.
      Awaits.await(
          farm.publisher.publish(
              farm.topics.push(), Topics.appKey(push.tenant(), push.app()), push));
    }
    String newest = pushes.get(4).buildId();
    // The fifth waits for a slot (acme may run 4): every older build is marked superseded by it.
    await()
        .atMost(BUILD_TIMEOUT)
        .until(
            () ->
                pushes.subList(0, 4).stream()
                    .allMatch(p -> newest.equals(lastSnapshot(p.buildId()).supersededBy())));

    // The held DETECTs finish now: step boundaries, where the superseded builds stop.
    workers.script(ScriptedWorkers::succeedEverything);
    for (var held : workers.seen()) {
      Awaits.await(workers.publish(ScriptedWorkers.succeedEverything(held)));
    }

    CoordinatorKafkaTest.awaitExactlyOne(farm.imageReady, ImageReady.class);
    assertThat(farm.imageReady.bodies(ImageReady.class).get(0).buildId()).isEqualTo(newest);
    await().atMost(BUILD_TIMEOUT).until(() -> cancelled.bodies(BuildCancelled.class).size() == 4);
    await()
        .during(QUIET)
        .atMost(QUIET.plusSeconds(10))
        .until(() -> cancelled.records().size() == 4);
    Map<String, String> supersededBy = new LinkedHashMap<>();
    cancelled
        .bodies(BuildCancelled.class)
        .forEach(c -> supersededBy.put(c.buildId(), c.supersededBy()));
    assertThat(supersededBy)
        .containsOnlyKeys(pushes.subList(0, 4).stream().map(PushEvent::buildId).toList())
        .allSatisfy((older, newer) -> assertThat(newer).isEqualTo(newest));
    for (PushEvent older : pushes.subList(0, 4)) {
      assertThat(lastSnapshot(older.buildId()).state()).isEqualTo(BuildState.CANCELLED);
    }
    assertThat(lastSnapshot(newest).state()).isEqualTo(BuildState.SUCCEEDED);
    assertThat(farm.buildFailed.records()).isEmpty();
  }

  private BuildSnapshot lastSnapshot(String buildId) {
    List<BuildSnapshot> all =
        farm.builds.bodies(BuildSnapshot.class).stream()
            .filter(s -> s.buildId().equals(buildId))
            .toList();
    return all.isEmpty()
        ? BuildSnapshot.builder().buildId(buildId).build()
        : all.get(all.size() - 1);
  }
}
