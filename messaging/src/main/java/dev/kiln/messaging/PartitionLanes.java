package dev.kiln.messaging;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.kafka.client.common.TopicPartition;
import io.vertx.kafka.client.consumer.KafkaConsumer;
import io.vertx.kafka.client.consumer.KafkaConsumerRecord;
import io.vertx.kafka.client.consumer.OffsetAndMetadata;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Processes consumed records one at a time per partition, in offset order, and commits each
 * record's offset only after its processing finished, so a crash loses nothing and redelivers at
 * most the record in flight. Records sharing a key share a partition, hence a lane: they are
 * applied in order.
 *
 * <p>Partitions are processed concurrently with each other. A lane whose queue grows to {@code
 * pauseAt} records pauses its partition (the consumer keeps polling the others and stays in the
 * group) and resumes it once the queue is empty. A record whose processing fails (e.g. Kafka
 * unavailable for longer than the producer's delivery timeout) is retried with backoff, holding its
 * lane, because skipping it would lose a step.
 *
 * <p><b>Revocation.</b> Once a partition is revoked its lane is dropped: queued records are
 * forgotten (the new owner reads them from the committed offset), a record still in flight is not
 * retried, and when it finishes its offset is <em>not</em> committed and the partition is not
 * resumed. The new owner processes the record again and commits it; a late commit from here could
 * move the group's offset backwards past records the new owner already committed.
 *
 * <p>Used from the consumer's context (its event loop) only; it needs no locking.
 */
public final class PartitionLanes<K, V> {
  private static final Logger LOG = LoggerFactory.getLogger(PartitionLanes.class);
  public static final long FIRST_RETRY_MILLIS = 500;
  public static final long MAX_RETRY_MILLIS = 30_000;

  /** Handles one record; the future completes when everything it caused is acknowledged. */
  @FunctionalInterface
  public interface RecordProcessor<K, V> {
    Future<Void> process(KafkaConsumerRecord<K, V> record);
  }

  private final Vertx vertx;
  private final KafkaConsumer<K, V> consumer;
  private final RecordProcessor<K, V> processor;
  private final int pauseAt;
  private final long firstRetryMillis;
  private final long maxRetryMillis;
  private final Map<TopicPartition, Lane> lanes = new HashMap<>();
  private final List<Lane> busy = new ArrayList<>();
  private final java.util.concurrent.atomic.AtomicLong committed =
      new java.util.concurrent.atomic.AtomicLong();
  private String commitMetadata = "";
  private boolean stopping;

  public PartitionLanes(
      Vertx vertx, KafkaConsumer<K, V> consumer, RecordProcessor<K, V> processor, int pauseAt) {
    this(vertx, consumer, processor, pauseAt, FIRST_RETRY_MILLIS, MAX_RETRY_MILLIS);
  }

  public PartitionLanes(
      Vertx vertx,
      KafkaConsumer<K, V> consumer,
      RecordProcessor<K, V> processor,
      int pauseAt,
      long firstRetryMillis,
      long maxRetryMillis) {
    if (pauseAt < 1) {
      throw new IllegalArgumentException("pauseAt must be at least 1: " + pauseAt);
    }
    this.vertx = vertx;
    this.consumer = consumer;
    this.processor = processor;
    this.pauseAt = pauseAt;
    this.firstRetryMillis = firstRetryMillis;
    this.maxRetryMillis = maxRetryMillis;
  }

  /** Sets the metadata stored with each committed offset (e.g. who committed it). */
  public PartitionLanes<K, V> commitMetadata(String metadata) {
    this.commitMetadata = metadata == null ? "" : metadata;
    return this;
  }

  /**
   * Whether records of {@code partition} are still this consumer's to process: false once it was
   * revoked (until a record of it is accepted again) or the lanes are draining. A processor that
   * retries steps of its own stops retrying when this turns false.
   */
  public boolean owns(TopicPartition partition) {
    return !stopping && lanes.containsKey(partition);
  }

  /** Queues a consumed record in its partition's lane; hand this to {@code consumer.handler}. */
  public void accept(KafkaConsumerRecord<K, V> record) {
    if (stopping) {
      return; // not committed: the partition's next owner gets it again
    }
    TopicPartition partition = new TopicPartition(record.topic(), record.partition());
    Lane lane = lanes.computeIfAbsent(partition, Lane::new);
    lane.queue.add(record);
    if (!lane.paused && lane.queue.size() >= pauseAt) {
      lane.paused = true;
      consumer
          .pause(partition)
          .onFailure(e -> LOG.warn("could not pause {}: {}", partition, e.toString()));
    }
    lane.pump();
  }

  /**
   * Drops the lanes of partitions this consumer no longer owns: queued records are forgotten and a
   * record in flight will neither be committed nor resume its partition. Call it from the
   * consumer's partitions-revoked handler.
   */
  public void revoked(Set<TopicPartition> partitions) {
    for (TopicPartition partition : partitions) {
      Lane lane = lanes.remove(partition);
      if (lane != null) {
        lane.queue.clear();
        lane.revoked = true;
      }
    }
  }

  /** Stops taking records and completes once the records in flight are done (or given up). */
  public Future<Void> drain() {
    stopping = true;
    List<Future<Void>> inFlight = new ArrayList<>();
    for (Lane lane : List.copyOf(busy)) {
      lane.queue.clear();
      if (lane.retryTimer >= 0) {
        vertx.cancelTimer(lane.retryTimer);
        lane.finish();
      } else {
        inFlight.add(lane.idle.future());
      }
    }
    lanes.clear();
    return Future.join(inFlight).mapEmpty();
  }

  /** How many record offsets these lanes have committed successfully; readable from any thread. */
  public long committed() {
    return committed.get();
  }

  private final class Lane {
    final TopicPartition partition;
    final ArrayDeque<KafkaConsumerRecord<K, V>> queue = new ArrayDeque<>();
    boolean inFlight;
    boolean paused;
    boolean revoked;
    long retryTimer = -1;
    Promise<Void> idle = Promise.promise();

    Lane(TopicPartition partition) {
      this.partition = partition;
    }

    void pump() {
      if (inFlight || queue.isEmpty() || stopping || revoked) {
        return;
      }
      inFlight = true;
      idle = Promise.promise();
      busy.add(this);
      run(queue.poll(), 1);
    }

    void run(KafkaConsumerRecord<K, V> record, int attempt) {
      retryTimer = -1;
      Future<Void> processed;
      try {
        processed = processor.process(record);
      } catch (RuntimeException e) {
        processed = Future.failedFuture(e);
      }
      processed.onComplete(
          ar -> {
            if (ar.failed()) {
              if (stopping || revoked) {
                finish();
                return;
              }
              long delay = Math.min(maxRetryMillis, firstRetryMillis << Math.min(attempt - 1, 16));
              LOG.error(
                  "processing {}-{}@{} failed (attempt {}); retrying in {} ms: {}",
                  record.topic(),
                  record.partition(),
                  record.offset(),
                  attempt,
                  delay,
                  ar.cause().toString());
              retryTimer = vertx.setTimer(delay, id -> run(record, attempt + 1));
              return;
            }
            if (revoked) {
              // The partition's new owner processes this record again and commits it; a commit from
              // here could move the group's offset backwards past what the new owner committed.
              LOG.info(
                  "{}-{}@{} finished after its partition was revoked; not committed",
                  record.topic(),
                  record.partition(),
                  record.offset());
              finish();
              return;
            }
            consumer
                .commit(
                    Map.of(partition, new OffsetAndMetadata(record.offset() + 1, commitMetadata)))
                .onComplete(
                    done -> {
                      if (done.failed()) {
                        // Harmless: the record is redelivered and processing must be idempotent.
                        LOG.warn(
                            "could not commit {}-{}@{}: {}",
                            record.topic(),
                            record.partition(),
                            record.offset(),
                            done.cause().toString());
                      } else {
                        committed.incrementAndGet();
                      }
                      finish();
                    });
          });
    }

    void finish() {
      retryTimer = -1;
      inFlight = false;
      busy.remove(this);
      idle.tryComplete();
      if (paused && queue.isEmpty() && !revoked && !stopping) {
        paused = false;
        consumer
            .resume(partition)
            .onFailure(e -> LOG.warn("could not resume {}: {}", partition, e.toString()));
      }
      pump();
    }
  }
}
