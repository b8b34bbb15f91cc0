package dev.kiln.coordinator;

import static dev.kiln.coordinator.CoordinatorKafkaTest.BUILD_TIMEOUT;
import static dev.kiln.coordinator.CoordinatorKafkaTest.awaitExactlyOne;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.EventCodec;
import dev.kiln.events.ImageReady;
import dev.kiln.events.PushEvent;
import dev.kiln.events.StepTiming;
import dev.kiln.events.TaskKind;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The HTTP API of a running coordinator: pushes go through Kafka and builds show up. */
@ExtendWith(SharedKafka.class)
class CoordinatorHttpApiTest {
  private Harness farm;
  private HttpJson http;
  private CoordinatorVerticle coordinator;

  @BeforeEach
  void start() throws Exception {
    farm = new Harness();
    farm.workers(ScriptedWorkers::succeedEverything);
    coordinator = new CoordinatorVerticle(farm.config());
    farm.deploy(coordinator);
    http = new HttpJson(coordinator.actualHttpPort());
  }

  @AfterEach
  void stop() {
    farm.close();
  }

  @Test
  void aPushPostedOverHttpIsBuiltAndItsProgressIsVisible() {
    PushEvent push = Fixtures.push();
    assertThat(http.get("/health").json().get("builds").asInt()).isZero();

    HttpJson.Response accepted = http.postJson("/v1/pushes", json(push));

    assertThat(accepted.status()).isEqualTo(202);
    assertThat(accepted.json().get("buildId").asText()).isEqualTo(push.buildId());
    awaitExactlyOne(farm.imageReady, ImageReady.class);
    await()
        .atMost(BUILD_TIMEOUT)
        .untilAsserted(
            () -> {
              HttpJson.Response build = http.get("/v1/builds/" + push.buildId());
              assertThat(build.status()).isEqualTo(200);
              BuildSnapshot snapshot =
                  EventCodec.mapper().treeToValue(build.json(), BuildSnapshot.class);
              assertThat(snapshot.state().name()).isEqualTo("SUCCEEDED");
              assertThat(snapshot.outcomePublished()).isTrue();
              assertThat(snapshot.imageDigest()).isEqualTo(Fixtures.digest('e'));
              assertThat(snapshot.steps())
                  .extracting(StepTiming::kind, StepTiming::skipped)
                  .containsExactly(
                      tuple(TaskKind.DETECT, false),
                      tuple(TaskKind.INSTALL, false),
                      tuple(TaskKind.ASSEMBLE, false));
            });
    HttpJson.Response list = http.get("/v1/builds?tenant=acme&app=web");
    assertThat(list.json().get("builds"))
        .singleElement()
        .satisfies(b -> assertThat(b.get("buildId").asText()).isEqualTo(push.buildId()));
    HttpJson.Response health = http.get("/health");
    assertThat(health.status()).isEqualTo(200);
    assertThat(health.json().get("status").asText()).isEqualTo("UP");
    assertThat(health.json().get("builds").asInt()).isEqualTo(1);

    HttpJson.Response again = http.postJson("/v1/pushes", json(push));

    assertThat(again.status()).isEqualTo(200);
    assertThat(again.json().get("status").asText()).isEqualTo("duplicate");
    assertThat(farm.pushes.records()).hasSize(1);
    assertThat(farm.tasksSeen(TaskKind.DETECT)).hasSize(1);
  }

  @Test
  void anInvalidPushIsRefusedNamingTheFieldAndNothingReachesKafka() {
    ObjectNode push = EventCodec.mapper().valueToTree(Fixtures.push());
    push.put("commit", "HEAD");

    HttpJson.Response refused = http.postJson("/v1/pushes", push.toString());

    assertThat(refused.status()).isEqualTo(400);
    assertThat(refused.json().get("field").asText()).isEqualTo("commit");
    assertThat(refused.json().get("error").asText()).contains("'HEAD' is not a full git commit id");
    PushEvent valid = Fixtures.push("acme", "web", Fixtures.OTHER_COMMIT);
    assertThat(http.postJson("/v1/pushes", json(valid)).status()).isEqualTo(202);
    await().atMost(BUILD_TIMEOUT).until(() -> !farm.pushes.records().isEmpty());
    assertThat(farm.pushes.bodies(PushEvent.class)).containsExactly(valid);
  }

  private static String json(PushEvent push) {
    return new String(EventCodec.toJson(push), StandardCharsets.UTF_8);
  }
}
