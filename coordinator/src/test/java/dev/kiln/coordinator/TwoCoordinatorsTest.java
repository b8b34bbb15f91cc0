package dev.kiln.coordinator;

import static dev.kiln.coordinator.CoordinatorKafkaTest.BUILD_TIMEOUT;
import static dev.kiln.coordinator.CoordinatorKafkaTest.QUIET;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.events.BuildTask;
import dev.kiln.events.ImageReady;
import dev.kiln.events.PushEvent;
import dev.kiln.events.TaskKind;
import dev.kiln.events.Tenant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Coordinator replicas: two coordinators in one group split the partitions, each restores and
 * decides on its own builds only, each lists every build from its read view of kiln.builds, and
 * stopping one hands its in-flight builds to the other, which finishes them exactly once.
 */
@ExtendWith(SharedKafka.class)
class TwoCoordinatorsTest {
  private static final int BUILDS = 12;
  private Harness farm;

  @BeforeEach
  void start() throws Exception {
    farm =
        new Harness(
            List.of(
                TestSecurity.tenant(
                    "acme", TestSecurity.ACME_TOKEN, new Tenant.Quotas(50, 50, 20L << 30))));
  }

  @AfterEach
  void stop() {
    farm.close();
  }

  @Test
  void stoppingOneOfTwoCoordinatorsHandsItsBuildsToTheOtherAndEveryBuildEndsExactlyOnce() {
    // Workers that hold every ASSEMBLE until released: all builds are in flight when one stops.
    AtomicBoolean released = new AtomicBoolean();
    ScriptedWorkers workers =
        farm.workers(
            task ->
                task.kind() == TaskKind.ASSEMBLE && !released.get()
                    ? null
                    : ScriptedWorkers.succeedEverything(task));
    CoordinatorVerticle a = new CoordinatorVerticle(farm.config().withInstanceId("coordinator-a"));
    CoordinatorVerticle b = new CoordinatorVerticle(farm.config().withInstanceId("coordinator-b"));
    String aDeployment = farm.deploy(a);
    farm.deploy(b);
    await()
        .atMost(BUILD_TIMEOUT)
        .until(
            () -> {
              Set<Integer> union = new HashSet<>(a.ownedPartitions());
              union.addAll(b.ownedPartitions());
              return !a.ownedPartitions().isEmpty()
                  && !b.ownedPartitions().isEmpty()
                  && union.size() == a.ownedPartitions().size() + b.ownedPartitions().size()
                  && union.size() == 6;
            });

    List<PushEvent> pushes = new ArrayList<>();
    for (int i = 0; i < BUILDS; i++) {
      PushEvent push = Fixtures.push("acme", "app-" + i, String.format("%040x", i + 1));
      pushes.add(push);
      Awaits.await(farm.publisher.publish(farm.topics.push(), push.buildId(), push));
    }
    Set<String> buildIds = pushes.stream().map(PushEvent::buildId).collect(Collectors.toSet());
    await().atMost(BUILD_TIMEOUT).until(() -> assembling().size() == BUILDS);

    // Each coordinator decides on its own partitions only, but lists every build (read view).
    for (CoordinatorVerticle coordinator : List.of(a, b)) {
      HttpJson http = new HttpJson(coordinator.actualHttpPort());
      await().atMost(BUILD_TIMEOUT).until(() -> listed(http).containsAll(buildIds));
    }

    farm.undeploy(aDeployment);
    await().atMost(BUILD_TIMEOUT).until(() -> b.ownedPartitions().size() == 6);
    released.set(true);
    for (BuildTask held : assembling().values()) {
      Awaits.await(
          workers.publish(
              Fixtures.assembled(
                  held, "registry.test/acme/" + held.buildId(), Fixtures.digest('e'))));
    }

    await()
        .atMost(BUILD_TIMEOUT)
        .until(
            () ->
                farm.imageReady.bodies(ImageReady.class).stream()
                    .map(ImageReady::buildId)
                    .collect(Collectors.toSet())
                    .equals(buildIds));
    await()
        .during(QUIET)
        .atMost(QUIET.plusSeconds(10))
        .until(() -> farm.imageReady.records().size() == BUILDS);
    assertThat(farm.buildFailed.records()).isEmpty();
    assertThat(workers.invalidTasks()).isEmpty();
  }

  /** The ASSEMBLE task seen last for each build. */
  private java.util.Map<String, BuildTask> assembling() {
    java.util.Map<String, BuildTask> byBuild = new java.util.HashMap<>();
    farm.tasksSeen(TaskKind.ASSEMBLE).forEach(t -> byBuild.put(t.buildId(), t));
    return byBuild;
  }

  private static Set<String> listed(HttpJson http) {
    Set<String> ids = new HashSet<>();
    for (JsonNode build : http.get("/v1/builds?tenant=acme&limit=100").json().path("builds")) {
      ids.add(build.path("buildId").asText());
    }
    return ids;
  }
}
