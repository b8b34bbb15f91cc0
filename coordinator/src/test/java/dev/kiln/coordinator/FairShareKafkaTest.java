package dev.kiln.coordinator;

import static dev.kiln.coordinator.CoordinatorKafkaTest.BUILD_TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildState;
import dev.kiln.events.ImageReady;
import dev.kiln.events.PushEvent;
import dev.kiln.events.TaskKind;
import dev.kiln.events.Tenant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * One tenant's burst cannot starve another: acme queues 100 builds, then globex pushes one, which
 * starts at once, while all but acme's first four still wait. The bound: a build waits only for its
 * own tenant's builds (its tenant's concurrentBuilds quota), never for another tenant's queue; on
 * kiln.tasks its tasks wait behind at most the other tenants' running builds' tasks, each tenant
 * having at most concurrentBuilds builds in flight.
 */
@ExtendWith(SharedKafka.class)
class FairShareKafkaTest {
  private static final int BURST = 100;
  private Harness farm;

  @BeforeEach
  void start() throws Exception {
    farm =
        new Harness(
            List.of(
                TestSecurity.tenant(
                    "acme", TestSecurity.ACME_TOKEN, new Tenant.Quotas(4, 200, 20L << 30)),
                TestSecurity.tenant("globex", TestSecurity.GLOBEX_TOKEN, Tenant.Quotas.DEFAULTS)));
  }

  @AfterEach
  void stop() {
    farm.close();
  }

  @Test
  void aTenantsBuildStartsAtOnceWhileAnotherTenantsHundredBuildsWait() {
    // Busy workers: nothing of acme's moves while globex pushes.
    ScriptedWorkers workers = farm.workers(task -> null);
    CoordinatorVerticle coordinator = new CoordinatorVerticle(farm.config());
    farm.deploy(coordinator);
    List<PushEvent> burst = new ArrayList<>();
    for (int i = 0; i < BURST; i++) {
      PushEvent push = Fixtures.push("acme", "app-" + i, String.format("%040x", i + 1));
      burst.add(push);
      farm.publisher.publish(farm.topics.push(), push.buildId(), push);
    }
    await()
        .atMost(BUILD_TIMEOUT)
        .until(() -> states("acme").getOrDefault(BuildState.QUEUED, 0) == BURST - 4);
    assertThat(farm.tasksSeen(TaskKind.DETECT)).hasSize(4);

    PushEvent globex = Fixtures.push("globex", "shop", "f".repeat(40));
    Awaits.await(farm.publisher.publish(farm.topics.push(), globex.buildId(), globex));

    await()
        .atMost(BUILD_TIMEOUT)
        .until(
            () ->
                farm.tasksSeen(TaskKind.DETECT).stream()
                    .anyMatch(t -> t.buildId().equals(globex.buildId())));
    assertThat(states("acme").get(BuildState.QUEUED)).isEqualTo(BURST - 4);

    // Queued builds report where they wait among their tenant's waiting builds.
    HttpJson http = new HttpJson(coordinator.actualHttpPort());
    List<String> waiting =
        burst.stream()
            .map(PushEvent::buildId)
            .filter(id -> lastSnapshot(id).state() == BuildState.QUEUED)
            .toList();
    List<Integer> positions = new ArrayList<>();
    for (String id : waiting) {
      HttpJson.Response build = http.get("/v1/builds/" + id);
      assertThat(build.json().get("queueLength").asInt()).isEqualTo(BURST - 4);
      positions.add(build.json().get("queuePosition").asInt());
    }
    assertThat(positions)
        .containsExactlyInAnyOrderElementsOf(
            java.util.stream.IntStream.rangeClosed(1, BURST - 4).boxed().toList());
    assertThat(http.get("/v1/builds/" + globex.buildId()).json().has("queuePosition")).isFalse();

    // Then everything builds.
    workers.script(ScriptedWorkers::succeedEverything);
    for (var held : workers.seen()) {
      Awaits.await(workers.publish(ScriptedWorkers.succeedEverything(held)));
    }
    await()
        .atMost(BUILD_TIMEOUT.multipliedBy(3))
        .until(() -> farm.imageReady.bodies(ImageReady.class).size() == BURST + 1);
  }

  private Map<BuildState, Integer> states(String tenant) {
    Map<String, BuildSnapshot> last = new LinkedHashMap<>();
    farm.builds.bodies(BuildSnapshot.class).stream()
        .filter(s -> s.push().tenant().equals(tenant))
        .forEach(s -> last.put(s.buildId(), s));
    Map<BuildState, Integer> counts = new LinkedHashMap<>();
    last.values().forEach(s -> counts.merge(s.state(), 1, Integer::sum));
    return counts;
  }

  private BuildSnapshot lastSnapshot(String buildId) {
    List<BuildSnapshot> all =
        farm.builds.bodies(BuildSnapshot.class).stream()
            .filter(s -> s.buildId().equals(buildId))
            .toList();
    return all.get(all.size() - 1);
  }
}
