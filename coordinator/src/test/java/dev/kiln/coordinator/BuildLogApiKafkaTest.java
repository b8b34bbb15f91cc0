package dev.kiln.coordinator;

import static dev.kiln.coordinator.CoordinatorKafkaTest.BUILD_TIMEOUT;
import static dev.kiln.coordinator.CoordinatorKafkaTest.awaitExactlyOne;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.events.BuildFailed;
import dev.kiln.events.BuildLogLine;
import dev.kiln.events.EventCodec;
import dev.kiln.events.ImageReady;
import dev.kiln.events.PushEvent;
import dev.kiln.events.TaskKind;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** GET /v1/builds/{id}/log: the whole log so far, or followed live as Server-Sent Events. */
@ExtendWith(SharedKafka.class)
class BuildLogApiKafkaTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private Harness farm;
  private CoordinatorVerticle coordinator;

  private void start(boolean failDetect) throws Exception {
    farm = new Harness();
    farm.workers(
        task ->
            failDetect && task.kind() == TaskKind.DETECT
                ? Fixtures.failed(task, "detect::no-python-app", "No Python app was found.")
                : ScriptedWorkers.succeedEverything(task));
    coordinator = new CoordinatorVerticle(farm.config());
    farm.deploy(coordinator);
  }

  @AfterEach
  void stop() {
    if (farm != null) {
      farm.close();
    }
  }

  @Test
  void aBuildThatFailedAtOnceHasEveryLineOfItsLogAndItsFailureOnce() throws Exception {
    start(true);
    PushEvent push = Fixtures.push();
    HttpJson http = new HttpJson(coordinator.actualHttpPort());
    assertThat(http.postJson("/v1/pushes", json(push)).status()).isEqualTo(202);
    awaitExactlyOne(farm.buildFailed, BuildFailed.class);
    await().atMost(BUILD_TIMEOUT).until(() -> !written(push.buildId()).isEmpty());
    List<String> written = written(push.buildId());

    HttpResponse<String> text = get(push.buildId(), "text/plain", TestSecurity.OPERATOR_TOKEN);
    HttpResponse<String> json =
        get(push.buildId(), "application/json", TestSecurity.OPERATOR_TOKEN);

    assertThat(text.statusCode()).isEqualTo(200);
    assertThat(text.headers().firstValue("Content-Type"))
        .hasValueSatisfying(type -> assertThat(type).startsWith("text/plain"));
    assertThat(text.body().lines().toList()).isEqualTo(written);
    assertThat(
            json.body().lines().map(BuildLogApiKafkaTest::lineText).flatMap(String::lines).toList())
        .isEqualTo(written);
    assertThat(text.body().split("No Python app was found.", -1)).hasSize(2);
  }

  @Test
  void aFollowerThatAsksRightAfterThePushGetsEveryLineOfABuildThatFailsAtOnce() throws Exception {
    start(true);
    PushEvent push = Fixtures.push();
    HttpJson http = new HttpJson(coordinator.actualHttpPort());

    assertThat(http.postJson("/v1/pushes", json(push)).status()).isEqualTo(202);
    HttpResponse<String> events =
        get(push.buildId(), "text/event-stream", TestSecurity.OPERATOR_TOKEN);

    assertThat(events.statusCode()).isEqualTo(200);
    List<String> logs = new ArrayList<>();
    String end = null;
    String event = null;
    for (String line : events.body().lines().toList()) {
      if (line.startsWith("event: ")) {
        event = line.substring(7);
      } else if (line.startsWith("data: ") && "log".equals(event)) {
        logs.addAll(lineText(line.substring(6)).lines().toList());
      } else if (line.startsWith("data: ") && "end".equals(event)) {
        end = line.substring(6);
      }
    }
    assertThat(end).isEqualTo("{\"outcome\":\"failed\"}");
    await().atMost(BUILD_TIMEOUT).until(() -> written(push.buildId()).equals(logs));
    assertThat(logs).isNotEmpty();
    assertThat(String.join("\n", logs).split("No Python app was found.", -1)).hasSize(2);
  }

  @Test
  void aFollowerThatAttachesAfterTheBuildEndedStillGetsEveryLineAndTheOutcome() throws Exception {
    start(false);
    PushEvent push = Fixtures.push();
    HttpJson http = new HttpJson(coordinator.actualHttpPort());
    assertThat(http.postJson("/v1/pushes", json(push)).status()).isEqualTo(202);
    awaitExactlyOne(farm.imageReady, ImageReady.class);
    await().atMost(BUILD_TIMEOUT).until(() -> !written(push.buildId()).isEmpty());

    HttpResponse<String> events =
        get(push.buildId(), "text/event-stream", TestSecurity.OPERATOR_TOKEN);

    assertThat(events.statusCode()).isEqualTo(200);
    List<String> logs = new ArrayList<>();
    String end = null;
    String event = null;
    for (String line : events.body().lines().toList()) {
      if (line.startsWith("event: ")) {
        event = line.substring(7);
      } else if (line.startsWith("data: ") && "log".equals(event)) {
        logs.addAll(lineText(line.substring(6)).lines().toList());
      } else if (line.startsWith("data: ") && "end".equals(event)) {
        end = line.substring(6);
      }
    }
    assertThat(logs).isEqualTo(written(push.buildId()));
    assertThat(end).isEqualTo("{\"outcome\":\"succeeded\"}");
  }

  @Test
  void attackATenantCannotReadAnotherTenantsBuildLog() throws Exception {
    start(false);
    PushEvent push = Fixtures.push();
    HttpJson http = new HttpJson(coordinator.actualHttpPort());
    assertThat(http.postJson("/v1/pushes", json(push)).status()).isEqualTo(202);
    awaitExactlyOne(farm.imageReady, ImageReady.class);

    HttpResponse<String> stolen = get(push.buildId(), "text/plain", TestSecurity.GLOBEX_TOKEN);
    HttpResponse<String> followed =
        get(push.buildId(), "text/event-stream", TestSecurity.GLOBEX_TOKEN);
    HttpResponse<String> own = get(push.buildId(), "text/plain", TestSecurity.ACME_TOKEN);

    assertThat(stolen.statusCode()).isEqualTo(404);
    assertThat(followed.statusCode()).isEqualTo(404);
    assertThat(stolen.body()).doesNotContain("acme");
    assertThat(own.statusCode()).isEqualTo(200);
  }

  /** The text of every log line the farm wrote for the build, in order. */
  private List<String> written(String buildId) {
    return farm.logs.bodies(BuildLogLine.class).stream()
        .filter(line -> line.buildId().equals(buildId))
        // A line's text may hold several lines (a framed failure); readers see each on its own.
        .flatMap(line -> line.text().lines())
        .toList();
  }

  private HttpResponse<String> get(String buildId, String accept, String token) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(
                URI.create(
                    "http://127.0.0.1:"
                        + coordinator.actualHttpPort()
                        + "/v1/builds/"
                        + buildId
                        + "/log"))
            .header("Accept", accept)
            .header("Authorization", "Bearer " + token)
            .timeout(Duration.ofSeconds(60))
            .GET()
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static String lineText(String json) {
    try {
      return EventCodec.mapper().readTree(json).get("text").asText();
    } catch (Exception e) {
      throw new AssertionError("not a log line: " + json, e);
    }
  }

  private static String json(PushEvent push) {
    return new String(EventCodec.toJson(push), StandardCharsets.UTF_8);
  }
}
