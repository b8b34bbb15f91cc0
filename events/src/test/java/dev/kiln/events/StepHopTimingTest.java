package dev.kiln.events;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The two hops of a step: coordinator → worker (waited) and worker → coordinator (reported). */
class StepHopTimingTest {
  private static final String BUILD = "b-0123456789abcdef0123";
  private static final Instant STARTED = Instant.parse("2026-11-30T17:00:00.100Z");
  private final EventCodec codec = new EventCodec("/kiln/test");

  private static TaskResult failedDetect() {
    return new TaskResult(
        BUILD,
        BUILD + "/detect/1/0123456789abcdef",
        TaskKind.DETECT,
        1,
        TaskResult.Outcome.FAILED,
        new CodedMessage("detect::no-app", "no app"),
        null,
        null,
        null,
        null,
        null,
        "worker-1",
        400);
  }

  @Test
  void aTimedResultRoundTripsWithWhenItStartedAndHowLongItWaited() throws Exception {
    TaskResult timed = failedDetect().timed(STARTED, 35);

    var record = codec.toRecord("kiln.results", BUILD, timed);
    TaskResult read = EventCodec.decode(record.headers(), record.value()).body(TaskResult.class);

    assertThat(read).isEqualTo(timed);
    assertThat(read.startedAt()).isEqualTo(STARTED);
    assertThat(read.waitedMillis()).isEqualTo(35L);
  }

  @Test
  void theStepTimesBothHopsFromTheResultAndWhenTheCoordinatorTookIt() {
    TaskResult timed = failedDetect().timed(STARTED, 35);

    // started 17:00:00.100 + 400 ms of work = 17:00:00.500; taken at .520: a 20 ms hop back.
    StepTiming step = StepTiming.ran(timed, Instant.parse("2026-11-30T17:00:00.520Z"));

    assertThat(step.waitedMillis()).isEqualTo(35L);
    assertThat(step.reportedMillis()).isEqualTo(20L);
    assertThat(step.durationMillis()).isEqualTo(400L);
  }

  @Test
  void aResultFromAnEarlierWorkerHasNoHopsAndStillReads() throws Exception {
    String json =
        "{\"buildId\":\""
            + BUILD
            + "\",\"taskId\":\"t\",\"kind\":\"DETECT\",\"attempt\":1,\"outcome\":\"FAILED\","
            + "\"failure\":{\"code\":\"detect::no-app\",\"message\":\"no app\"},"
            + "\"worker\":\"worker-1\",\"durationMillis\":400}";
    TaskResult old = EventCodec.fromJson(json.getBytes(StandardCharsets.UTF_8), TaskResult.class);

    StepTiming step = StepTiming.ran(old, STARTED);

    assertThat(old.startedAt()).isNull();
    assertThat(step.waitedMillis()).isNull();
    assertThat(step.reportedMillis()).isNull();
  }

  @Test
  void aNegativeWaitFromSkewedClocksReadsAsZero() {
    assertThat(failedDetect().timed(STARTED, -15).waitedMillis()).isZero();
    StepTiming step = StepTiming.ran(failedDetect().timed(STARTED, 0), STARTED);
    assertThat(step.reportedMillis()).isZero();
  }
}
