package dev.kiln.worker;

import dev.kiln.events.BuildLogLine;
import dev.kiln.events.BuildTask;
import dev.kiln.messaging.EventPublisher;
import dev.kiln.observability.Tracing;
import dev.kiln.worker.steps.LogSink;
import io.opentelemetry.api.trace.Span;
import io.vertx.core.Context;
import io.vertx.core.Future;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A task's build log, published line by line to {@code kiln.logs} (keyed by build id, so a build's
 * lines stay in order) while the task runs. Steps call it from worker threads; every send is handed
 * to the verticle's context, because the Kafka producer wrapper is not thread-safe, and lines keep
 * the order they were written in.
 */
final class KafkaLogSink implements LogSink {
  private static final Logger LOG = LoggerFactory.getLogger(KafkaLogSink.class);

  private final Context context;
  private final EventPublisher publisher;
  private final String topic;
  private final BuildTask task;
  private final Span span;
  private final AtomicLong sequence = new AtomicLong();
  private final List<Future<?>> sends = new ArrayList<>(); // touched on the context only

  /** A log whose lines carry the trace context of the task's {@code span} in their headers. */
  KafkaLogSink(Context context, EventPublisher publisher, String topic, BuildTask task, Span span) {
    this.context = context;
    this.publisher = publisher;
    this.topic = topic;
    this.task = task;
    this.span = span;
  }

  @Override
  public void info(String line) {
    publish(BuildLogLine.Level.INFO, line);
  }

  @Override
  public void warn(String line) {
    publish(BuildLogLine.Level.WARNING, line);
  }

  @Override
  public void error(String line) {
    publish(BuildLogLine.Level.ERROR, line);
  }

  private void publish(BuildLogLine.Level level, String text) {
    BuildLogLine line =
        new BuildLogLine(
            task.buildId(),
            task.taskId(),
            task.kind(),
            sequence.getAndIncrement(),
            level,
            text == null ? "" : text,
            Instant.now());
    context.runOnContext(
        ignored -> {
          var record = publisher.codec().toRecord(topic, task.buildId(), line);
          if (span.getSpanContext().isValid()) {
            Tracing.inject(span, record.headers());
          }
          sends.add(publisher.send(record));
        });
  }

  /**
   * Completes once every line written so far is acknowledged or has failed. A lost log line must
   * not hold back the task's result, so failures are logged here and the future still succeeds.
   * Call on the verticle's context.
   */
  Future<Void> flushed() {
    List<Future<?>> pending = List.copyOf(sends);
    sends.clear();
    return Future.join(pending)
        .otherwiseEmpty()
        .map(
            all -> {
              long lost = pending.stream().filter(Future::failed).count();
              if (lost > 0) {
                LOG.warn(
                    "{} of {} log lines of {} could not be published: {}",
                    lost,
                    pending.size(),
                    task.taskId(),
                    pending.stream()
                        .filter(Future::failed)
                        .findFirst()
                        .map(f -> f.cause().toString())
                        .orElse(""));
              }
              return null;
            });
  }
}
