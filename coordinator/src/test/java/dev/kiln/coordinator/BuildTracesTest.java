package dev.kiln.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.events.PushEvent;
import dev.kiln.observability.Tracing;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** How the coordinator keeps one trace per build across its records, without Kafka. */
class BuildTracesTest {
  private final Tracing tracing = Tracing.unexported("kiln-coordinator");
  private final BuildTraces traces = new BuildTraces(tracing);
  private final PushEvent push = Fixtures.push();

  @AfterEach
  void close() {
    tracing.close();
  }

  @Test
  void theAcceptedPushesSpanIsTheParentOfTheOutcome() {
    Headers pushRecord = new RecordHeaders();
    Span root = traces.pushAccepted(push, pushRecord);
    BuildTraces.end(root, null);
    traces.pushConsumed(push, pushRecord);

    Headers outcome = new RecordHeaders();
    traces.outcome(push.buildId(), "image-ready", outcome);

    SpanContext published = Tracing.spanContextOf(outcome);
    assertThat(published.getTraceId()).isEqualTo(root.getSpanContext().getTraceId());
    assertThat(published.getSpanId()).isNotEqualTo(root.getSpanContext().getSpanId());
  }

  @Test
  void aPushWrittenWithoutContextStillGetsATraceThatItsSnapshotsCarry() {
    traces.pushConsumed(push, new RecordHeaders());
    Headers snapshot = new RecordHeaders();
    traces.carry(push.buildId(), snapshot);
    Headers outcome = new RecordHeaders();
    traces.outcome(push.buildId(), "build-failed", outcome);

    assertThat(Tracing.spanContextOf(snapshot).isValid()).isTrue();
    assertThat(Tracing.spanContextOf(outcome).getTraceId())
        .isEqualTo(Tracing.spanContextOf(snapshot).getTraceId());
  }

  @Test
  void aPushDeliveredAgainKeepsTheTraceTheBuildHas() {
    Headers first = new RecordHeaders();
    BuildTraces.end(traces.pushAccepted(push, first), null);
    traces.pushConsumed(push, first);
    Headers second = new RecordHeaders();
    BuildTraces.end(traces.pushAccepted(push, second), null);
    traces.pushConsumed(push, second);

    Headers snapshot = new RecordHeaders();
    traces.carry(push.buildId(), snapshot);
    assertThat(Tracing.spanContextOf(snapshot).getTraceId())
        .isEqualTo(Tracing.spanContextOf(first).getTraceId());
  }

  @Test
  void aRestoredBuildGoesOnInTheTraceItsSnapshotCarriedAndForgedOnesAreIgnored() {
    Headers original = new RecordHeaders();
    BuildTraces.end(traces.pushAccepted(push, original), null);
    String traceparent =
        new String(original.lastHeader(Tracing.TRACEPARENT).value(), StandardCharsets.UTF_8);

    BuildTraces restarted = new BuildTraces(tracing);
    restarted.restored(push.buildId(), traceparent);
    restarted.restored("b-other", "00-00000000000000000000000000000000-b7ad6b7169203331-01");
    Headers outcome = new RecordHeaders();
    restarted.outcome(push.buildId(), "image-ready", outcome);
    Headers other = new RecordHeaders();
    restarted.carry("b-other", other);

    assertThat(Tracing.spanContextOf(outcome).getTraceId())
        .isEqualTo(Tracing.spanContextOf(original).getTraceId());
    assertThat(other.lastHeader(Tracing.TRACEPARENT)).isNull();
  }

  @Test
  void aForgottenBuildStartsANewTraceInsteadOfFailing() {
    Headers pushRecord = new RecordHeaders();
    BuildTraces.end(traces.pushAccepted(push, pushRecord), null);
    traces.pushConsumed(push, pushRecord);
    traces.forget(push.buildId());

    Headers outcome = new RecordHeaders();
    traces.outcome(push.buildId(), "build-cancelled", outcome);
    assertThat(Tracing.spanContextOf(outcome).isValid()).isTrue();
    assertThat(Tracing.spanContextOf(outcome).getTraceId())
        .isNotEqualTo(Tracing.spanContextOf(pushRecord).getTraceId());
  }
}
