package dev.kiln.coordinator;

import static dev.kiln.coordinator.Awaits.await;
import static dev.kiln.coordinator.CoordinatorKafkaTest.BUILD_TIMEOUT;
import static dev.kiln.coordinator.CoordinatorKafkaTest.awaitExactlyOne;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.events.BuildFailed;
import dev.kiln.events.PushEvent;
import dev.kiln.events.TaskKind;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Finished builds are deleted from kiln.builds after the retention, and stay deleted. */
@ExtendWith(SharedKafka.class)
class BuildRetentionKafkaTest {
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
  void aFinishedBuildIsTombstonedAfterTheRetentionAndNotRestoredByTheNextCoordinator() {
    farm.workers(task -> Fixtures.failed(task, "install::package-not-found", "no such package"));
    CoordinatorConfig config = farm.config().withBuildRetention(Duration.ofSeconds(2));
    CoordinatorVerticle coordinator = new CoordinatorVerticle(config);
    String first = farm.deploy(coordinator);
    HttpJson http = new HttpJson(coordinator.actualHttpPort());
    PushEvent push = Fixtures.push();
    await(farm.publisher.publish(farm.topics.push(), push.buildId(), push));
    awaitExactlyOne(farm.buildFailed, BuildFailed.class);

    await()
        .atMost(BUILD_TIMEOUT)
        .until(
            () ->
                farm.builds.records().stream()
                    .anyMatch(r -> push.buildId().equals(r.key()) && r.value() == null));
    await()
        .atMost(BUILD_TIMEOUT)
        .until(() -> http.get("/v1/builds/" + push.buildId()).status() == 404);
    assertThat(http.get("/v1/builds?tenant=acme").json().path("builds")).isEmpty();
    farm.undeploy(first);

    CoordinatorVerticle second =
        new CoordinatorVerticle(
            farm.config().withInstanceId("coordinator-b").withBuildRetention(Duration.ofDays(7)));
    farm.deploy(second);
    assertThat(new HttpJson(second.actualHttpPort()).get("/v1/builds/" + push.buildId()).status())
        .isEqualTo(404);
    assertThat(farm.tasksSeen(TaskKind.DETECT)).hasSize(1);
    assertThat(farm.buildFailed.records()).hasSize(1);
  }
}
