package dev.kiln.coordinator;

import dev.kiln.events.BuildTask;
import dev.kiln.events.EventCodec;
import dev.kiln.events.TaskHeartbeat;
import dev.kiln.events.TaskResult;
import dev.kiln.events.Topics;
import dev.kiln.messaging.EventPublisher;
import dev.kiln.observability.Tracing;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.kafka.client.consumer.KafkaConsumer;
import io.vertx.kafka.client.producer.KafkaHeader;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * The workers' side of the contract, scripted: consumes {@code kiln.tasks} and answers each task
 * with whatever the script returns (null: no answer, as a worker that is still busy or died).
 */
final class ScriptedWorkers {
  private final List<BuildTask> seen = new CopyOnWriteArrayList<>();
  private final Map<String, SpanContext> taskTraces =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final Tracing tracing = Tracing.unexported("kiln-test-worker");
  private final List<String> invalid = new CopyOnWriteArrayList<>();
  private final KafkaConsumer<String, byte[]> consumer;
  private final EventPublisher publisher;
  private final Topics topics;
  private volatile Function<BuildTask, TaskResult> script;

  private ScriptedWorkers(
      KafkaConsumer<String, byte[]> consumer,
      EventPublisher publisher,
      Topics topics,
      Function<BuildTask, TaskResult> script) {
    this.consumer = consumer;
    this.publisher = publisher;
    this.topics = topics;
    this.script = script;
  }

  static ScriptedWorkers start(
      Vertx vertx, String bootstrapServers, Topics topics, Function<BuildTask, TaskResult> script) {
    Map<String, String> props = new HashMap<>();
    props.put("bootstrap.servers", bootstrapServers);
    props.put("group.id", "workers-" + UUID.randomUUID());
    props.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    props.put("value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
    props.put("auto.offset.reset", "earliest");
    props.put("isolation.level", "read_committed");
    KafkaConsumer<String, byte[]> consumer = KafkaConsumer.create(vertx, props);
    EventPublisher publisher = new EventPublisher(vertx, bootstrapServers, "/kiln/test-worker");
    ScriptedWorkers workers = new ScriptedWorkers(consumer, publisher, topics, script);
    consumer.handler(
        r -> {
          RecordHeaders headers = new RecordHeaders();
          for (KafkaHeader h : r.headers()) {
            headers.add(h.key(), h.value().getBytes());
          }
          BuildTask task;
          try {
            task = EventCodec.decode(headers, r.value()).body(BuildTask.class);
          } catch (Exception e) {
            workers.invalid.add(e.getMessage());
            return;
          }
          // As the real worker does: the task's span is a child of the context its record
          // carries, and the result carries the task's span on.
          workers.taskTraces.put(task.taskId(), Tracing.spanContextOf(headers));
          Span span =
              workers.tracing.start(
                  "task " + task.kind(), Tracing.extract(headers), SpanKind.CONSUMER);
          workers.seen.add(task);
          TaskResult result = workers.script.apply(task);
          if (result != null) {
            workers.publish(result, span);
          }
          span.end();
        });
    Awaits.await(consumer.subscribe(topics.tasks()));
    return workers;
  }

  /**
   * A result sent by hand, e.g. while no coordinator is running. A failure is first framed in the
   * build's log, as a real worker's TaskRunner does: the log shows each failure once, and that
   * block is where.
   */
  Future<Void> publish(TaskResult result) {
    return publish(result, Span.getInvalid());
  }

  private Future<Void> publish(TaskResult result, Span span) {
    ProducerRecord<String, byte[]> record =
        publisher.codec().toRecord(topics.results(), result.buildId(), result);
    if (span.getSpanContext().isValid()) {
      Tracing.inject(span, record.headers());
    }
    Future<?> framed = Future.succeededFuture();
    if (!result.succeeded() && result.failure() != null) {
      StringBuilder block = new StringBuilder(" !     Error: " + result.failure().code());
      for (String line : result.failure().message().split("\n")) {
        block.append("\n !     ").append(line);
      }
      framed =
          publisher.publish(
              topics.logs(),
              result.buildId(),
              new dev.kiln.events.BuildLogLine(
                  result.buildId(),
                  result.taskId(),
                  result.kind(),
                  System.nanoTime(),
                  dev.kiln.events.BuildLogLine.Level.ERROR,
                  block.toString(),
                  java.time.Instant.now()));
    }
    return framed.compose(sent -> publisher.send(record).mapEmpty());
  }

  /** The trace context each task's record carried (invalid when it carried none), by task id. */
  Map<String, SpanContext> taskTraces() {
    return Map.copyOf(taskTraces);
  }

  /** A lease renewal for {@code task}, as a worker still running it sends. */
  Future<Void> heartbeat(BuildTask task) {
    return publisher
        .publish(
            topics.results(),
            task.buildId(),
            TaskHeartbeat.of(task, "scripted-worker", java.time.Instant.now()))
        .mapEmpty();
  }

  void script(Function<BuildTask, TaskResult> script) {
    this.script = script;
  }

  /** Why tasks could not be read; a correct coordinator sends none of those. */
  List<String> invalidTasks() {
    return List.copyOf(invalid);
  }

  List<BuildTask> seen() {
    return List.copyOf(seen);
  }

  Future<Void> close() {
    tracing.shutdown();
    return Future.join(consumer.close(), publisher.close()).mapEmpty();
  }

  /** Workers that build everything successfully: pip app, Python 3.12.7, one layer per key. */
  static TaskResult succeedEverything(BuildTask task) {
    return switch (task.kind()) {
      case DETECT -> Fixtures.detected(task, Fixtures.plan("pip"), Fixtures.DEPENDENCY_KEY);
      case INSTALL -> Fixtures.installed(task, Fixtures.layer(task.dependencyKey()));
      case ASSEMBLE ->
          Fixtures.assembled(
              task,
              "registry.test/"
                  + task.tenant()
                  + "/"
                  + task.app()
                  + ":"
                  + task.commit().substring(0, 12),
              Fixtures.digest('e'));
    };
  }
}
