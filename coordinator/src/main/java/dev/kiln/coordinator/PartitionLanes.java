package dev.kiln.coordinator;

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
 * most the record in flight. A build's events share a key, hence a partition, hence a lane: they
 * are applied in order.
 *
 * <p>Partitions are processed concurrently with each other. A lane whose queue grows long pauses
 * its partition (the consumer keeps polling the others and stays in the group) and resumes it once
 * the queue is empty. A record whose processing fails (e.g. Kafka unavailable for longer than the
 * producer's delivery timeout) is retried with backoff, holding its lane, because skipping it would
 * lose a build step. Used from the verticle's event loop only.
 */
final class PartitionLanes {
  private static final Logger LOG = LoggerFactory.getLogger(PartitionLanes.class);
  private static final long FIRST_RETRY_MILLIS = 500;
  private static final long MAX_RETRY_MILLIS = 30_000;

  /** Handles one record; the future completes when everything it caused is acknowledged. */
  interface RecordProcessor {
    Future<Void> process(KafkaConsumerRecord<String, byte[]> record);
  }

  private final Vertx vertx;
  private final KafkaConsumer<String, byte[]> consumer;
  private final RecordProcessor processor;
  private final int pauseAt;
  private final Map<TopicPartition, Lane> lanes = new HashMap<>();
  private final List<Lane> busy = new ArrayList<>();
  private boolean stopping;

  PartitionLanes(
      Vertx vertx, KafkaConsumer<String, byte[]> consumer, RecordProcessor processor, int pauseAt) {
    this.vertx = vertx;
    this.consumer = consumer;
    this.processor = processor;
    this.pauseAt = pauseAt;
  }

  void accept(KafkaConsumerRecord<String, byte[]> record) {
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
   * Forgets queued records of partitions this consumer no longer owns; their new owner reads them.
   */
  void revoked(Set<TopicPartition> partitions) {
    for (TopicPartition partition : partitions) {
      Lane lane = lanes.remove(partition);
      if (lane != null) {
        lane.queue.clear();
        lane.revoked = true;
      }
    }
  }

  /** Stops taking records and completes once the records in flight are done (or given up). */
  Future<Void> drain() {
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

  private final class Lane {
    final TopicPartition partition;
    final ArrayDeque<KafkaConsumerRecord<String, byte[]>> queue = new ArrayDeque<>();
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

    void run(KafkaConsumerRecord<String, byte[]> record, int attempt) {
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
              long delay =
                  Math.min(MAX_RETRY_MILLIS, FIRST_RETRY_MILLIS << Math.min(attempt - 1, 16));
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
            consumer
                .commit(Map.of(partition, new OffsetAndMetadata(record.offset() + 1, "")))
                .onComplete(
                    committed -> {
                      if (committed.failed()) {
                        // Harmless: the record is redelivered and the state machine ignores it.
                        LOG.warn(
                            "could not commit {}-{}@{}: {}",
                            record.topic(),
                            record.partition(),
                            record.offset(),
                            committed.cause().toString());
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
