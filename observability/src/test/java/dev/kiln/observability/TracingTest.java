package dev.kiln.observability;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Context;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TracingTest {
  private final Tracing tracing = Tracing.unexported("kiln-test");

  @AfterEach
  void close() {
    tracing.close();
  }

  @Test
  void aSpanInjectedIntoKafkaHeadersIsTheParentExtractedFromThem() {
    Span push = tracing.start("push acme/web", Context.root(), SpanKind.PRODUCER);
    Headers headers = new RecordHeaders();
    Tracing.inject(push, headers);
    push.end();

    String traceparent = text(headers, Tracing.TRACEPARENT);
    // Version 00, the span's ids, sampled (the level-2 "random trace id" bit may be set too).
    assertThat(traceparent)
        .matches(
            "00-"
                + push.getSpanContext().getTraceId()
                + "-"
                + push.getSpanContext().getSpanId()
                + "-0[13]");
    // The CloudEvents distributed-tracing extension's attribute, in Kafka binary mode.
    assertThat(text(headers, "ce_traceparent")).isEqualTo(traceparent);

    ConsumerRecord<String, byte[]> consumed = recordWith(headers);
    Span task = tracing.start("task DETECT", Tracing.extract(consumed), SpanKind.CONSUMER);
    task.end();
    assertThat(task.getSpanContext().getTraceId()).isEqualTo(push.getSpanContext().getTraceId());
    assertThat(task.getSpanContext().getSpanId()).isNotEqualTo(push.getSpanContext().getSpanId());
  }

  @Test
  void injectingTwiceReplacesTheContextInsteadOfAddingASecond() {
    Headers headers = new RecordHeaders();
    Span first = tracing.mark("first", Context.root(), SpanKind.INTERNAL);
    Span second = tracing.mark("second", Context.root(), SpanKind.INTERNAL);
    Tracing.inject(first, headers);
    Tracing.inject(second, headers);
    assertThat(headers.headers(Tracing.TRACEPARENT)).hasSize(1);
    assertThat(headers.headers("ce_traceparent")).hasSize(1);
    assertThat(Tracing.spanContextOf(headers).getSpanId())
        .isEqualTo(second.getSpanContext().getSpanId());
  }

  @Test
  void aCloudEventsOnlyProducerIsFollowedThroughCeTraceparent() {
    Span upstream = tracing.mark("upstream", Context.root(), SpanKind.PRODUCER);
    Headers headers = new RecordHeaders();
    headers.add(
        "ce_traceparent",
        Tracing.traceparent(Context.root().with(upstream))
            .orElseThrow()
            .getBytes(StandardCharsets.UTF_8));
    assertThat(Tracing.spanContextOf(headers).getTraceId())
        .isEqualTo(upstream.getSpanContext().getTraceId());
  }

  @Test
  void aStoredTraceparentIsTheParentOfLaterSpans() {
    Span push = tracing.mark("push", Context.root(), SpanKind.PRODUCER);
    String stored = Tracing.traceparent(Context.root().with(push)).orElseThrow();
    Span outcome = tracing.mark("outcome", Tracing.fromTraceparent(stored), SpanKind.PRODUCER);
    assertThat(outcome.getSpanContext().getTraceId()).isEqualTo(push.getSpanContext().getTraceId());
    assertThat(Tracing.traceparent(Context.root())).isEmpty();
    assertThat(Span.fromContext(Tracing.fromTraceparent(null)).getSpanContext().isValid())
        .isFalse();
  }

  /**
   * A producer that may write to a topic could forge the trace context to graft its records onto
   * someone else's trace, or send malformed values to make the consumer throw. Neither may fail the
   * hop: anything that is not a valid W3C traceparent is ignored and a fresh trace starts.
   */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331", // truncated: no flags
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra-junk-for-version-00",
        "00-0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-01", // trace id too short
        "00-zzf7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", // not hex
        "00-00000000000000000000000000000000-b7ad6b7169203331-01", // all-zero trace id
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", // all-zero span id
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", // forbidden version
        "",
        "\u0000\u0001\u00ff"
      })
  void forgedTraceparentHeaderSpoofingIsIgnoredAndStartsAFreshTrace(String forged) {
    Headers headers = new RecordHeaders();
    headers.add(Tracing.TRACEPARENT, forged.getBytes(StandardCharsets.UTF_8));
    headers.add("ce_traceparent", forged.getBytes(StandardCharsets.UTF_8));

    Context parent = Tracing.extract(recordWith(headers));
    assertThat(Span.fromContext(parent).getSpanContext().isValid()).isFalse();
    Span fresh = tracing.mark("task DETECT", parent, SpanKind.CONSUMER);
    SpanContext context = fresh.getSpanContext();
    assertThat(context.isValid()).isTrue();
    assertThat(context.getTraceId()).isNotEqualTo("0af7651916cd43dd8448eb211c80319c");
    assertThat(Tracing.fromTraceparent(forged)).isEqualTo(Context.root());
  }

  @Test
  void aTraceparentHeaderWithNoValueIsIgnored() {
    Headers headers = new RecordHeaders();
    headers.add(Tracing.TRACEPARENT, null);
    assertThat(Tracing.spanContextOf(headers).isValid()).isFalse();
  }

  @Test
  void theStandardEnvironmentVariablesSayWhereSpansGo() {
    assertThat(OtlpEndpoint.tracesUrl(Map.of())).isEmpty();
    assertThat(
            OtlpEndpoint.tracesUrl(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")))
        .contains("http://collector:4318/v1/traces");
    assertThat(
            OtlpEndpoint.tracesUrl(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")))
        .contains("http://collector:4318/v1/traces");
    assertThat(
            OtlpEndpoint.tracesUrl(
                Map.of(
                    "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318",
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:9000/in")))
        .contains("http://traces:9000/in");
    assertThat(
            OtlpEndpoint.tracesUrl(
                Map.of(
                    "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318",
                    "OTEL_TRACES_EXPORTER", "none")))
        .isEmpty();
  }

  @Test
  void exportHeadersComeFromTheStandardVariablesWithUrlEncodedValues() {
    assertThat(OtlpEndpoint.headers(Map.of())).isEmpty();
    assertThat(
            OtlpEndpoint.headers(
                Map.of("OTEL_EXPORTER_OTLP_HEADERS", "api-key=s3cr%3Dt, x-team = kiln ,broken,=x")))
        .containsExactly(Map.entry("api-key", "s3cr=t"), Map.entry("x-team", "kiln"));
    assertThat(
            OtlpEndpoint.headers(
                Map.of(
                    "OTEL_EXPORTER_OTLP_HEADERS", "a=1",
                    "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "b=2")))
        .containsExactly(Map.entry("b", "2"));
  }

  private static ConsumerRecord<String, byte[]> recordWith(Headers headers) {
    return new ConsumerRecord<>(
        "kiln.tasks",
        0,
        0L,
        0L,
        org.apache.kafka.common.record.TimestampType.CREATE_TIME,
        0,
        0,
        "key",
        new byte[0],
        headers,
        java.util.Optional.empty());
  }

  private static String text(Headers headers, String key) {
    return new String(headers.lastHeader(key).value(), StandardCharsets.UTF_8);
  }
}
