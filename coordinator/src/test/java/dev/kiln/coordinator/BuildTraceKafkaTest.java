package dev.kiln.coordinator;

import static dev.kiln.coordinator.CoordinatorKafkaTest.BUILD_TIMEOUT;
import static dev.kiln.coordinator.CoordinatorKafkaTest.awaitExactlyOne;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.events.BuildTask;
import dev.kiln.events.EventCodec;
import dev.kiln.events.ImageReady;
import dev.kiln.events.PushEvent;
import dev.kiln.events.TaskKind;
import dev.kiln.observability.Tracing;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** One build is one distributed trace, carried in the Kafka headers of every hop. */
@ExtendWith(SharedKafka.class)
class BuildTraceKafkaTest {
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
  void thePushEveryTaskAndImageReadyCarryOneTraceId() {
    ScriptedWorkers workers = farm.workers(ScriptedWorkers::succeedEverything);
    CoordinatorVerticle coordinator = new CoordinatorVerticle(farm.config());
    farm.deploy(coordinator);
    PushEvent push = Fixtures.push();
    HttpJson http = new HttpJson(coordinator.actualHttpPort());

    assertThat(
            http.postJson("/v1/pushes", new String(EventCodec.toJson(push), StandardCharsets.UTF_8))
                .status())
        .isEqualTo(202);
    awaitExactlyOne(farm.imageReady, ImageReady.class);

    SpanContext pushed = traceOf(farm.pushes.records().get(0).headers());
    assertThat(pushed.isValid()).as("the push record's traceparent").isTrue();
    String traceId = pushed.getTraceId();

    List<BuildTask> tasks = workers.seen();
    assertThat(tasks)
        .extracting(BuildTask::kind)
        .contains(TaskKind.DETECT, TaskKind.INSTALL, TaskKind.ASSEMBLE);
    Map<String, SpanContext> taskTraces = workers.taskTraces();
    for (BuildTask task : tasks) {
      SpanContext carried = taskTraces.get(task.taskId());
      assertThat(carried.isValid()).as("the traceparent of %s", task.taskId()).isTrue();
      assertThat(carried.getTraceId()).as("trace of %s", task.taskId()).isEqualTo(traceId);
      assertThat(carried.getSpanId()).isNotEqualTo(pushed.getSpanId());
    }
    assertThat(taskTraces.values().stream().map(SpanContext::getSpanId).distinct())
        .as("a span of its own per task")
        .hasSize(tasks.size());

    Map<String, String> ready = farm.imageReady.records().get(0).headers();
    assertThat(traceOf(ready).getTraceId()).isEqualTo(traceId);
    assertThat(ready.get("ce_traceparent")).isEqualTo(ready.get(Tracing.TRACEPARENT));
    // The build's snapshots carry it too: a restarted coordinator goes on in the same trace.
    await()
        .atMost(BUILD_TIMEOUT)
        .untilAsserted(
            () ->
                assertThat(farm.builds.records())
                    .isNotEmpty()
                    .allSatisfy(
                        r -> assertThat(traceOf(r.headers()).getTraceId()).isEqualTo(traceId)));
  }

  /** The trace context a recorded record's {@code traceparent} header names (invalid if none). */
  static SpanContext traceOf(Map<String, String> headers) {
    return Span.fromContext(Tracing.fromTraceparent(headers.get(Tracing.TRACEPARENT)))
        .getSpanContext();
  }
}
