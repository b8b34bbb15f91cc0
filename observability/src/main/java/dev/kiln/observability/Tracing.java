package dev.kiln.observability;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapSetter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.ReadWriteSpan;
import io.opentelemetry.sdk.trace.ReadableSpan;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SdkTracerProviderBuilder;
import io.opentelemetry.sdk.trace.SpanProcessor;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One service's OpenTelemetry traces, and the W3C trace context carried in Kafka record headers
 * from hop to hop (push, each task, its result, the build's outcome).
 *
 * <p>Each service owns its own tracer provider (resource {@code service.name=<service>}) rather
 * than using {@code GlobalOpenTelemetry}: {@code kiln up} runs several services in one JVM and each
 * must still report as itself. Spans are always sampled so every hop has a real trace id to pass
 * on; they are exported over OTLP (http/protobuf, batched) only when an endpoint is configured.
 *
 * <p>The context travels as the {@code traceparent} header and, because Kiln's events are
 * CloudEvents in Kafka binary mode, also as {@code ce_traceparent}: the CloudEvents
 * distributed-tracing extension's attribute. A header that is not a valid W3C trace context
 * (forged, truncated, all-zero ids) is ignored and the hop starts a fresh trace: tracing never
 * fails a build.
 */
public final class Tracing implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Tracing.class);

  public static final String TRACEPARENT = "traceparent";
  public static final String TRACESTATE = "tracestate";

  /** The CloudEvents binary-mode prefix: extension attribute {@code x} is header {@code ce_x}. */
  public static final String CLOUDEVENTS_PREFIX = "ce_";

  private static final String INSTRUMENTATION = "dev.kiln";
  private static final Duration EXPORT_TIMEOUT = Duration.ofSeconds(5);
  private static final W3CTraceContextPropagator PROPAGATOR =
      W3CTraceContextPropagator.getInstance();

  private final String service;
  private final SdkTracerProvider provider;
  private final Tracer tracer;
  private final Optional<String> exportedTo;

  private Tracing(String service, Optional<String> tracesUrl) {
    this(service, tracesUrl, Map.of());
  }

  private Tracing(String service, Optional<String> tracesUrl, Map<String, String> exportHeaders) {
    this.service = Objects.requireNonNull(service, "service");
    this.exportedTo = tracesUrl;
    SdkTracerProviderBuilder builder =
        SdkTracerProvider.builder()
            .setResource(
                Resource.getDefault()
                    .merge(
                        Resource.create(
                            Attributes.of(AttributeKey.stringKey("service.name"), service))))
            .setSampler(Sampler.alwaysOn());
    builder.addSpanProcessor(
        tracesUrl
            .<SpanProcessor>map(
                url -> BatchSpanProcessor.builder(exporter(url, exportHeaders)).build())
            .orElseGet(KeepNothing::new));
    this.provider = builder.build();
    this.tracer = provider.get(INSTRUMENTATION);
  }

  private static OtlpHttpSpanExporter exporter(String url, Map<String, String> headers) {
    var exporter = OtlpHttpSpanExporter.builder().setEndpoint(url).setTimeout(EXPORT_TIMEOUT);
    headers.forEach(exporter::addHeader);
    return exporter.build();
  }

  /** A service's tracing, exporting where the OTEL_EXPORTER_OTLP_* environment variables say. */
  public static Tracing forService(String service) {
    Map<String, String> env = System.getenv();
    Tracing tracing = new Tracing(service, OtlpEndpoint.tracesUrl(env), OtlpEndpoint.headers(env));
    tracing.exportedTo.ifPresent(
        url -> LOG.info("{} exports its traces over OTLP to {}", service, url));
    return tracing;
  }

  /** A service's tracing exporting to this OTLP traces URL (e.g. {@code .../v1/traces}). */
  public static Tracing exportingTo(String service, String tracesUrl) {
    return new Tracing(service, Optional.of(tracesUrl));
  }

  /** Spans with real ids that go nowhere: for tests, and services nobody watches. */
  public static Tracing unexported(String service) {
    return new Tracing(service, Optional.empty());
  }

  public String service() {
    return service;
  }

  /** The OTLP URL spans are exported to, if any. */
  public Optional<String> exportedTo() {
    return exportedTo;
  }

  /**
   * Starts a span; {@code parent} may be {@link Context#root()} (or hold no valid span) to start a
   * new trace. End it, however the work ends.
   */
  public Span start(String name, Context parent, SpanKind kind) {
    return tracer
        .spanBuilder(name)
        .setParent(parent == null ? Context.root() : parent)
        .setSpanKind(kind)
        .startSpan();
  }

  /** Starts a span and ends it at once: a hop that only hands work on (a dispatched task). */
  public Span mark(String name, Context parent, SpanKind kind) {
    Span span = start(name, parent, kind);
    span.end();
    return span;
  }

  // --- Propagation over Kafka headers -------------------------------------------------------

  /**
   * Writes {@code span}'s context into the headers as {@code traceparent} and {@code
   * ce_traceparent} (and {@code tracestate}, {@code ce_tracestate} when it has one), replacing any
   * already there. Never throws: a record without its trace is still delivered.
   */
  public static void inject(Span span, Headers headers) {
    inject(Context.root().with(span), headers);
  }

  /** As {@link #inject(Span, Headers)}, for the span in {@code context}. */
  public static void inject(Context context, Headers headers) {
    try {
      PROPAGATOR.inject(context, headers, HEADER_SETTER);
    } catch (RuntimeException e) {
      LOG.warn("could not write the trace context into a record's headers: {}", e.toString());
    }
  }

  /**
   * The trace context a record carries, as a parent for the next span: from {@code traceparent},
   * else {@code ce_traceparent}. A missing or invalid context yields {@link Context#root()}, so the
   * next span starts a new trace.
   */
  public static Context extract(Headers headers) {
    try {
      return PROPAGATOR.extract(Context.root(), headers, HEADER_GETTER);
    } catch (RuntimeException e) {
      LOG.debug("unreadable trace context, starting a new trace: {}", e.toString());
      return Context.root();
    }
  }

  public static Context extract(ConsumerRecord<?, ?> record) {
    return extract(record.headers());
  }

  /** The {@code traceparent} of the span in {@code context}; empty when it holds none. */
  public static Optional<String> traceparent(Context context) {
    if (!Span.fromContext(context).getSpanContext().isValid()) {
      return Optional.empty();
    }
    String[] out = new String[1];
    PROPAGATOR.inject(
        context,
        null,
        (ignored, key, value) -> {
          if (TRACEPARENT.equals(key)) {
            out[0] = value;
          }
        });
    return Optional.ofNullable(out[0]);
  }

  /** A parent context from a stored {@code traceparent}; root when null or invalid. */
  public static Context fromTraceparent(String traceparent) {
    if (traceparent == null) {
      return Context.root();
    }
    return PROPAGATOR.extract(Context.root(), Map.of(TRACEPARENT, traceparent), MAP_GETTER);
  }

  /** The span context a record's headers carry (invalid when none or forged). */
  public static SpanContext spanContextOf(Headers headers) {
    return Span.fromContext(extract(headers)).getSpanContext();
  }

  // --- Life cycle ---------------------------------------------------------------------------

  /** Exports every ended span now; completes when done (or failed). */
  public CompletableFuture<Void> flush() {
    return completion(provider.forceFlush());
  }

  /**
   * Exports what is left and stops; completes when done, without blocking the caller (a Vert.x
   * verticle's stop runs on an event loop).
   */
  public CompletableFuture<Void> shutdown() {
    return completion(provider.shutdown());
  }

  /** Blocking {@link #shutdown()}, for try-with-resources in tests and plain threads. */
  @Override
  public void close() {
    provider
        .shutdown()
        .join(EXPORT_TIMEOUT.toMillis() * 2, java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  private static CompletableFuture<Void> completion(CompletableResultCode code) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    code.whenComplete(
        () -> {
          if (code.isSuccess()) {
            done.complete(null);
          } else {
            done.completeExceptionally(
                new IllegalStateException(
                    "spans could not be exported", code.getFailureThrowable()));
          }
        });
    return done;
  }

  private static final TextMapSetter<Headers> HEADER_SETTER =
      (headers, key, value) -> {
        if (headers == null) {
          return;
        }
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        for (String name : List.of(key, CLOUDEVENTS_PREFIX + key)) {
          headers.remove(name);
          headers.add(name, bytes);
        }
      };

  private static final TextMapGetter<Headers> HEADER_GETTER =
      new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Headers headers) {
          return List.of(TRACEPARENT, TRACESTATE);
        }

        @Override
        public String get(Headers headers, String key) {
          if (headers == null) {
            return null;
          }
          Header header = headers.lastHeader(key);
          if (header == null) {
            header = headers.lastHeader(CLOUDEVENTS_PREFIX + key);
          }
          return header == null || header.value() == null
              ? null
              : new String(header.value(), StandardCharsets.UTF_8);
        }
      };

  private static final TextMapGetter<Map<String, String>> MAP_GETTER =
      new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Map<String, String> carrier) {
          return carrier.keySet();
        }

        @Override
        public String get(Map<String, String> carrier, String key) {
          return carrier == null ? null : carrier.get(key);
        }
      };

  /**
   * A processor that keeps nothing. Without any processor the SDK hands out no-op spans with
   * invalid ids, and the trace context would stop at the first hop of an unexported service.
   */
  private static final class KeepNothing implements SpanProcessor {
    @Override
    public void onStart(Context parentContext, ReadWriteSpan span) {}

    @Override
    public boolean isStartRequired() {
      return false;
    }

    @Override
    public void onEnd(ReadableSpan span) {}

    @Override
    public boolean isEndRequired() {
      return false;
    }
  }
}
