package dev.kiln.coordinator;

import dev.kiln.events.BuildTask;
import dev.kiln.events.PushEvent;
import dev.kiln.observability.Tracing;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Context;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.common.header.Headers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Each build's trace, kept across the coordinator's state machine: the push's {@code traceparent}
 * is remembered by build id, and every task and outcome the build causes is a span under it, whose
 * context goes along in the record's headers.
 *
 * <p>Tracing must never fail or hold up a build, so every method here logs and carries on when
 * anything goes wrong; a build whose trace was lost (forgotten, or written before traces existed)
 * simply starts a new one.
 */
final class BuildTraces {
  private static final Logger LOG = LoggerFactory.getLogger(BuildTraces.class);

  /**
   * Builds whose trace is remembered; the least recently used go first. Far more than run at once,
   * and small (one short string each).
   */
  static final int REMEMBERED = 10_000;

  private final Tracing tracing;
  private final Map<String, String> traceparents =
      Collections.synchronizedMap(
          new LinkedHashMap<>(256, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
              return size() > REMEMBERED;
            }
          });

  BuildTraces(Tracing tracing) {
    this.tracing = tracing;
  }

  /**
   * The root span of a push accepted over HTTP, git or a webhook, written into its record's
   * headers; the caller ends it once Kafka has the record. A client's own {@code traceparent} is
   * not trusted: the farm's trace starts here.
   */
  Span pushAccepted(PushEvent push, Headers headers) {
    try {
      Span span = pushSpan(push, SpanKind.PRODUCER);
      Tracing.inject(span, headers);
      return span;
    } catch (RuntimeException e) {
      LOG.warn("no trace for push {}: {}", push.buildId(), e.toString());
      return Span.getInvalid();
    }
  }

  /** A build's root span: a new trace named after the app pushed. */
  private Span pushSpan(PushEvent push, SpanKind kind) {
    Span span = tracing.start("push " + push.tenant() + "/" + push.app(), Context.root(), kind);
    span.setAttribute("kiln.build.id", push.buildId());
    span.setAttribute("kiln.tenant", push.tenant());
    span.setAttribute("kiln.app", push.app());
    return span;
  }

  /** Ends a span, marking it failed when {@code failure} is not null. */
  static void end(Span span, Throwable failure) {
    if (failure != null) {
      span.setStatus(StatusCode.ERROR, failure.toString());
    }
    span.end();
  }

  /**
   * A push record was consumed: its trace becomes the build's. A push without a valid context
   * (written by hand, or forged) gets a fresh root span, so the build is still traced.
   */
  void pushConsumed(PushEvent push, Headers headers) {
    try {
      if (traceparents.containsKey(push.buildId())) {
        return; // delivered again: the build keeps the trace it has
      }
      Context parent = Tracing.extract(headers);
      if (!Span.fromContext(parent).getSpanContext().isValid()) {
        Span root = pushSpan(push, SpanKind.CONSUMER);
        root.end();
        parent = Context.root().with(root);
      }
      Tracing.traceparent(parent).ifPresent(tp -> traceparents.put(push.buildId(), tp));
    } catch (RuntimeException e) {
      LOG.warn("no trace for build {}: {}", push.buildId(), e.toString());
    }
  }

  /**
   * A build read back from {@code kiln.builds} (after a restart, or a move of partitions): its
   * snapshot records carry the build's trace, so the build goes on in the same one.
   */
  void restored(String buildId, String traceparent) {
    if (Span.fromContext(Tracing.fromTraceparent(traceparent)).getSpanContext().isValid()) {
      traceparents.putIfAbsent(buildId, traceparent);
    }
  }

  /** A task is sent to the workers: a span "dispatch KIND" under the build's, in its headers. */
  void taskDispatched(BuildTask task, Headers headers) {
    try {
      Span span =
          tracing.start("dispatch " + task.kind(), buildContext(task.buildId()), SpanKind.PRODUCER);
      span.setAttribute("kiln.build.id", task.buildId());
      span.setAttribute("kiln.task.id", task.taskId());
      span.setAttribute("kiln.task.attempt", task.attempt());
      Tracing.inject(span, headers);
      span.end();
    } catch (RuntimeException e) {
      LOG.warn("no trace for task {}: {}", task.taskId(), e.toString());
    }
  }

  /** The build's outcome is published: a span named after it, under the build's, in its headers. */
  void outcome(String buildId, String outcome, Headers headers) {
    try {
      Span span = tracing.start(outcome, buildContext(buildId), SpanKind.PRODUCER);
      span.setAttribute("kiln.build.id", buildId);
      if (!"image-ready".equals(outcome)) {
        span.setStatus(StatusCode.ERROR, outcome);
      }
      Tracing.inject(span, headers);
      span.end();
    } catch (RuntimeException e) {
      LOG.warn("no trace for the outcome of build {}: {}", buildId, e.toString());
    }
  }

  /**
   * Any other record about the build (its snapshot, a log line) carries the build's context as it
   * is: the snapshot's is how the trace survives a restart.
   */
  void carry(String buildId, Headers headers) {
    String traceparent = traceparents.get(buildId);
    if (traceparent != null) {
      Tracing.inject(Tracing.fromTraceparent(traceparent), headers);
    }
  }

  /** The build was deleted: its trace need not be remembered. */
  void forget(String buildId) {
    traceparents.remove(buildId);
  }

  /** The build's context; a build without one (forgotten, older) starts a new trace now. */
  private Context buildContext(String buildId) {
    String traceparent = traceparents.get(buildId);
    if (traceparent != null) {
      return Tracing.fromTraceparent(traceparent);
    }
    Span root = tracing.mark("build " + buildId, Context.root(), SpanKind.INTERNAL);
    Context context = Context.root().with(root);
    Tracing.traceparent(context).ifPresent(tp -> traceparents.put(buildId, tp));
    return context;
  }
}
