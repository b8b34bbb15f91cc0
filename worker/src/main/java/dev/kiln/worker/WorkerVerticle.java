package dev.kiln.worker;

import dev.kiln.cache.client.CacheServiceClient;
import dev.kiln.events.BuildTask;
import dev.kiln.events.CodedMessage;
import dev.kiln.events.InvalidEventException;
import dev.kiln.events.TaskHeartbeat;
import dev.kiln.events.TaskKind;
import dev.kiln.events.TaskResult;
import dev.kiln.events.Topics;
import dev.kiln.messaging.DeadLetterRouter;
import dev.kiln.messaging.EventPublisher;
import dev.kiln.messaging.PartitionLanes;
import dev.kiln.observability.Tracing;
import dev.kiln.worker.fetch.SourceFetcher;
import dev.kiln.worker.fetch.SourceSnapshots;
import dev.kiln.worker.fs.BackgroundDeleter;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.WorkerExecutor;
import io.vertx.kafka.client.common.TopicPartition;
import io.vertx.kafka.client.consumer.KafkaConsumer;
import io.vertx.kafka.client.consumer.KafkaConsumerRecord;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker: consumes {@code kiln.tasks}, runs each task on a worker thread and reports it.
 *
 * <p>Per record, on the event loop: decode it (malformed records go to the dead-letter topic);
 * queue it in its partition's lane and <em>pause that partition</em>; run the task on the worker
 * pool; publish its log lines to {@code kiln.logs} and then its {@link TaskResult} to {@code
 * kiln.results}; once the broker has acknowledged them, commit the record's offset + 1; resume the
 * partition when its lane is empty. Pausing partitions rather than the consumer keeps the consumer
 * polling, so a ten-minute install never exceeds {@code max.poll.interval.ms} and never triggers a
 * rebalance. A crash before the commit redelivers the task (at least once; results carry task id
 * and attempt so the coordinator drops duplicates).
 */
public final class WorkerVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(WorkerVerticle.class);
  private static final long FIRST_RETRY_MILLIS = 500;
  private static final long MAX_RETRY_MILLIS = 30_000;
  private static final Duration TASK_POLL_TIMEOUT = Duration.ofMillis(20);

  /** Makes the task steps once the worker's shared resources exist. */
  @FunctionalInterface
  public interface StepsFactory {
    TaskSteps create(WorkerResources resources) throws Exception;
  }

  private final WorkerConfig config;
  private final StepsFactory stepsFactory;
  private final Set<Integer> assigned = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final AtomicInteger revocations = new AtomicInteger();

  private Context context;
  private Tracing tracing;
  private BackgroundDeleter deleter;
  private TaskRunner runner;
  private EventPublisher publisher;
  private DeadLetterRouter deadLetters;
  private WorkerExecutor executor;
  private TaskSlots slots;
  private KafkaConsumer<String, byte[]> consumer;
  private PartitionLanes<String, byte[]> lanes;
  private boolean stopping;
  private io.micrometer.core.instrument.MeterRegistry meters =
      new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
  private final AtomicInteger runningTasks = new AtomicInteger();

  public WorkerVerticle(WorkerConfig config, StepsFactory stepsFactory) {
    this.config = config;
    this.stepsFactory = stepsFactory;
  }

  /**
   * Where this worker counts its tasks ({@code kiln_task_duration_seconds}, {@code
   * kiln_tasks_running}); its node serves them at {@code /metrics}. Set before deploying.
   */
  public WorkerVerticle withMeters(io.micrometer.core.instrument.MeterRegistry registry) {
    this.meters = java.util.Objects.requireNonNull(registry, "registry");
    return this;
  }

  private void countTask(TaskResult result) {
    io.micrometer.core.instrument.Timer.builder("kiln.task.duration")
        .description("How long a task's step ran on this worker, by step and outcome")
        .tags(
            "step",
            result.kind().name(),
            "outcome",
            result.outcome().name().toLowerCase(java.util.Locale.ROOT),
            "worker",
            config.workerId())
        .serviceLevelObjectives(dev.kiln.observability.ServiceMetrics.DURATION_BUCKETS)
        .register(meters)
        .record(result.durationMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  private TaskSteps stepsFor(CacheServiceClient cache, String tenant) {
    try {
      return stepsFactory.create(new WorkerResources(config, deleter, cache.forTenant(tenant)));
    } catch (Exception e) {
      throw new IllegalStateException(
          "the worker's steps could not be made for tenant " + tenant + ": " + e.getMessage(), e);
    }
  }

  @Override
  public Future<?> start() {
    context = vertx.getOrCreateContext();
    io.micrometer.core.instrument.Gauge.builder(
            "kiln.tasks.running", runningTasks, AtomicInteger::get)
        .description("Tasks this worker is running now")
        .tag("worker", config.workerId())
        .register(meters);
    tracing = Tracing.forService("kiln-worker");
    return vertx
        .executeBlocking(
            () -> {
              Files.createDirectories(config.workDir());
              deleter = new BackgroundDeleter(config.workDir().resolve("trash"));
              CacheServiceClient cache =
                  new CacheServiceClient(config.cacheServiceUrl(), config.farmToken());
              // Steps and snapshots act for one tenant each (see TaskRunner); they are small,
              // so each tenant this worker has served keeps its own.
              Map<String, TaskSteps> stepsByTenant = new ConcurrentHashMap<>();
              Map<String, SourceSnapshots> snapshotsByTenant = new ConcurrentHashMap<>();
              // Made once now too, so a misconfigured worker fails to start rather than per task.
              stepsFactory.create(new WorkerResources(config, deleter, cache));
              SourceFetcher fetcher =
                  new SourceFetcher(
                      config.workDir(),
                      deleter,
                      config.gitTimeout(),
                      config.sourceRoot(),
                      config.fetchLimits(),
                      java.util.Map.of());
              runner =
                  new TaskRunner(
                      config.workerId(),
                      fetcher,
                      tenant ->
                          snapshotsByTenant.computeIfAbsent(
                              tenant,
                              t -> new SourceSnapshots(config.workDir(), cache.forTenant(t))),
                      tenant -> stepsByTenant.computeIfAbsent(tenant, t -> stepsFor(cache, t)));
              return null;
            },
            false)
        .compose(
            ready -> {
              publisher =
                  new EventPublisher(
                      vertx,
                      config.bootstrapServers(),
                      config.kafkaClient(),
                      "/kiln/worker/" + config.workerId());
              deadLetters =
                  new DeadLetterRouter(
                      publisher, config.topics().deadLetters(), "worker/" + config.workerId());
              slots = TaskSlots.forConcurrency(config.concurrency());
              executor =
                  vertx.createSharedWorkerExecutor(
                      "kiln-worker-" + config.workerId(), config.concurrency(), 24, TimeUnit.HOURS);
              consumer = KafkaConsumer.create(vertx, consumerSettings());
              // Pausing and resuming a partition waits for the consumer's poll in progress, so a
              // lane that finishes a task would otherwise sit up to the default 1 s before the
              // build's next task (same partition) is fetched.
              consumer.pollTimeout(TASK_POLL_TIMEOUT);
              // One record in flight per partition, paused while it runs (pause at 1), committed
              // with this worker's id after its result is acknowledged, never after a revoke.
              lanes =
                  new PartitionLanes<>(vertx, consumer, this::handle, 1)
                      .commitMetadata(config.workerId());
              consumer.partitionsAssignedHandler(this::onAssigned);
              consumer.partitionsRevokedHandler(this::onRevoked);
              consumer.exceptionHandler(
                  e ->
                      LOG.warn(
                          "worker {}: Kafka consumer error: {}", config.workerId(), e.toString()));
              consumer.handler(this::onRecord);
              return consumer.subscribe(config.topics().tasks());
            })
        .onSuccess(
            subscribed ->
                LOG.info(
                    "worker {} consuming {} as group {} with {} task threads",
                    config.workerId(),
                    config.topics().tasks(),
                    config.consumerGroup(),
                    config.concurrency()));
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    if (lanes != null) {
      lanes.drain(); // takes no more records; running tasks are not committed once closed
    }
    Future<Void> closed = consumer == null ? Future.succeededFuture() : consumer.close();
    return closed
        .eventually(() -> publisher == null ? Future.succeededFuture() : publisher.close())
        .eventually(
            () -> {
              if (executor != null) {
                executor.close();
              }
              if (deleter != null) {
                deleter.close();
              }
              // Exports the spans still queued; an unreachable collector must not hold the stop.
              return tracing == null
                  ? Future.succeededFuture()
                  : Future.fromCompletionStage(tracing.shutdown(), context).otherwiseEmpty();
            });
  }

  /** Partitions of {@code kiln.tasks} this worker owns right now. */
  public Set<Integer> assignedPartitions() {
    return Set.copyOf(new TreeSet<>(assigned));
  }

  /**
   * How many times partitions were taken away from this worker (by rebalances) since it started.
   */
  public int revocations() {
    return revocations.get();
  }

  /** How many task records this worker has committed. */
  public int committedTasks() {
    return lanes == null ? 0 : (int) lanes.committed();
  }

  private Map<String, String> consumerSettings() {
    Map<String, String> settings = new HashMap<>();
    settings.put("bootstrap.servers", config.bootstrapServers());
    settings.put("group.id", config.consumerGroup());
    settings.put("client.id", "kiln-worker-" + config.workerId());
    settings.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    settings.put(
        "value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
    // The offset of a task is committed by hand, only after its result is acknowledged.
    settings.put("enable.auto.commit", "false");
    settings.put("auto.offset.reset", "earliest");
    // Tasks are written in the coordinator's transactions: a task of an aborted one never existed.
    settings.put("isolation.level", "read_committed");
    // A consumer has one fetch in flight per broker, and a partition resumed while one is parked
    // at the broker (waiting for data on the others) joins only the next fetch: with the default
    // 500 ms wait, a build's next task would sit up to that long after the lane reopens.
    settings.put("fetch.max.wait.ms", "20");
    // Small batches: each partition's records wait in its lane while a task runs; fetching many
    // ahead would only hold them back from other workers.
    settings.put("max.poll.records", Integer.toString(Math.max(2, config.concurrency())));
    // Incremental rebalances: when a worker joins or leaves, only the partitions that move are
    // revoked, so the other workers' running tasks and queues are left alone.
    settings.put(
        "partition.assignment.strategy",
        "org.apache.kafka.clients.consumer.CooperativeStickyAssignor");
    settings.putAll(config.kafkaConsumerSettings());
    return config.kafkaClient().applyTo(settings);
  }

  private void onAssigned(Set<TopicPartition> partitions) {
    for (TopicPartition partition : partitions) {
      assigned.add(partition.getPartition());
    }
    LOG.info("worker {} assigned {}", config.workerId(), partitions);
  }

  private void onRevoked(Set<TopicPartition> partitions) {
    if (!partitions.isEmpty()) {
      revocations.incrementAndGet();
    }
    for (TopicPartition partition : partitions) {
      assigned.remove(partition.getPartition());
    }
    // Records not started yet belong to the partition's next owner; a running task finishes and
    // reports, but its offset is not committed (the new owner runs it again and commits it).
    lanes.revoked(partitions);
    LOG.info("worker {} lost {}", config.workerId(), partitions);
  }

  private void onRecord(KafkaConsumerRecord<String, byte[]> record) {
    if (stopping || !assigned.contains(record.partition())) {
      return; // not ours (any more): not committed, the owner reads it
    }
    lanes.accept(record);
  }

  private Future<Void> handle(KafkaConsumerRecord<String, byte[]> record) {
    TopicPartition lane = new TopicPartition(record.topic(), record.partition());
    return retrying(() -> deadLetters.decode(record), lane)
        .compose(
            decoded -> {
              if (decoded.isEmpty()) {
                return Future.succeededFuture(); // dead-lettered, with the reason in its headers
              }
              BuildTask task;
              try {
                task = decoded.get().body(BuildTask.class);
              } catch (InvalidEventException wrongType) {
                return retrying(() -> deadLetters.reject(record, wrongType), lane);
              }
              return runTask(
                  task, lane, record.timestamp(), Tracing.extract(record.record().headers()));
            });
  }

  /**
   * Runs a task in a span "task KIND", a child of the trace context its record carried (the
   * coordinator's dispatch), and reports its result with that span's context in the headers.
   */
  private Future<Void> runTask(
      BuildTask task,
      TopicPartition lane,
      long writtenAtMillis,
      io.opentelemetry.context.Context parent) {
    LOG.info("worker {} runs {} (attempt {})", config.workerId(), task.taskId(), task.attempt());
    Span span = taskSpan(task, parent);
    KafkaLogSink log = new KafkaLogSink(context, publisher, config.topics().logs(), task, span);
    long renewing = renewLease(task);
    return inSlot(
            task.kind(),
            () ->
                executor.<TaskResult>executeBlocking(
                    () -> {
                      Instant started = Instant.now();
                      runningTasks.incrementAndGet();
                      try {
                        return runner
                            .run(task, log)
                            .timed(started, started.toEpochMilli() - writtenAtMillis);
                      } finally {
                        runningTasks.decrementAndGet();
                      }
                    },
                    false))
        .onComplete(done -> vertx.cancelTimer(renewing))
        .recover(
            unexpected -> {
              LOG.error("task {} failed outside its step", task.taskId(), unexpected);
              return Future.succeededFuture(
                  TaskResult.failed(
                      task,
                      new CodedMessage(
                          TaskRunner.INTERNAL_ERROR,
                          TaskRunner.fit(
                              "worker "
                                  + config.workerId()
                                  + " could not run the task: "
                                  + unexpected
                                  + ". This is a bug in Kiln; push again to retry.")),
                      config.workerId(),
                      0));
            })
        .compose(result -> afterLogLines(log).map(result))
        .onSuccess(this::countTask)
        .compose(
            result ->
                retrying(() -> publisher.send(resultRecord(task, result, span)).mapEmpty(), lane)
                    .onComplete(
                        published -> {
                          if (published.failed()) {
                            span.setStatus(StatusCode.ERROR, published.cause().toString());
                          } else if (!result.succeeded()) {
                            span.setStatus(StatusCode.ERROR, "the task failed");
                          }
                        }))
        .onComplete(done -> span.end())
        .onSuccess(published -> LOG.info("worker {} reported {}", config.workerId(), task.taskId()))
        .mapEmpty();
  }

  private Span taskSpan(BuildTask task, io.opentelemetry.context.Context parent) {
    try {
      Span span = tracing.start("task " + task.kind(), parent, SpanKind.CONSUMER);
      span.setAttribute("kiln.build.id", task.buildId());
      span.setAttribute("kiln.task.id", task.taskId());
      span.setAttribute("kiln.task.attempt", task.attempt());
      span.setAttribute("kiln.worker.id", config.workerId());
      return span;
    } catch (RuntimeException e) {
      LOG.warn("no trace for task {}: {}", task.taskId(), e.toString());
      return Span.getInvalid();
    }
  }

  /** The result's record, carrying the task span's trace context on to the coordinator. */
  private org.apache.kafka.clients.producer.ProducerRecord<String, byte[]> resultRecord(
      BuildTask task, TaskResult result, Span span) {
    var record =
        publisher
            .codec()
            .toRecord(config.topics().results(), Topics.appKey(task.tenant(), task.app()), result);
    if (span.getSpanContext().isValid()) {
      Tracing.inject(span, record.headers());
    }
    return record;
  }

  /**
   * Runs {@code work} once a slot of {@code kind} is free (see {@link TaskSlots}) and frees it when
   * the work ends, however it ends. The task is claimed before it waits, so its lease is renewed
   * while it queues here.
   */
  private <T> Future<T> inSlot(TaskKind kind, Supplier<Future<T>> work) {
    Promise<Void> granted = Promise.promise();
    slots.acquire(kind, () -> context.runOnContext(go -> granted.complete()));
    return granted.future().compose(go -> work.get()).onComplete(done -> slots.release(kind));
  }

  /**
   * Claims the task and renews its lease while it runs: a heartbeat on {@code kiln.results} (keyed
   * by build id, so it stays ahead of the result) when it starts and every third of the lease the
   * task states. A worker that dies stops renewing, and the coordinator issues the task again. A
   * heartbeat that cannot be sent is only logged: the next one may get through, and losing two in a
   * row is what the lease allows.
   *
   * @return the timer to cancel when the task ends
   */
  private long renewLease(BuildTask task) {
    // The first heartbeat, at once, claims the task: its lease starts only now, so time a task
    // spent queued behind others never counts against it.
    return vertx.setPeriodic(
        1,
        task.renewEveryMillis(),
        id ->
            publisher
                .publish(
                    config.topics().results(),
                    Topics.appKey(task.tenant(), task.app()),
                    TaskHeartbeat.of(task, config.workerId(), Instant.now()))
                .onFailure(
                    e ->
                        LOG.warn(
                            "worker {}: could not renew the lease of {}: {}",
                            config.workerId(),
                            task.taskId(),
                            e.toString())));
  }

  /**
   * Waits for the task's log lines; the hop through the context lets every queued line be sent
   * first.
   */
  private Future<Void> afterLogLines(KafkaLogSink log) {
    Promise<Void> flushed = Promise.promise();
    context.runOnContext(ignored -> log.flushed().onComplete(flushed));
    return flushed.future();
  }

  /**
   * Retries a Kafka action with backoff while the lane is still ours: a result that cannot be
   * published yet must not be skipped (the offset after it would be committed and the task lost),
   * nor the task run again.
   */
  private <T> Future<T> retrying(Supplier<Future<T>> action, TopicPartition lane) {
    Promise<T> outcome = Promise.promise();
    attempt(action, lane, outcome, FIRST_RETRY_MILLIS);
    return outcome.future();
  }

  private <T> void attempt(
      Supplier<Future<T>> action, TopicPartition lane, Promise<T> outcome, long delay) {
    action
        .get()
        .onComplete(
            result -> {
              if (result.succeeded()) {
                outcome.complete(result.result());
              } else if (stopping || !lanes.owns(lane)) {
                outcome.fail(result.cause());
              } else {
                LOG.warn(
                    "worker {}: {}; retrying in {} ms",
                    config.workerId(),
                    result.cause().toString(),
                    delay);
                vertx.setTimer(
                    delay,
                    id -> attempt(action, lane, outcome, Math.min(delay * 2, MAX_RETRY_MILLIS)));
              }
            });
  }
}
