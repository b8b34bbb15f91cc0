package dev.kiln.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.broker.EmbeddedKafka;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.kafka.client.common.TopicPartition;
import io.vertx.kafka.client.consumer.KafkaConsumer;
import io.vertx.kafka.client.consumer.OffsetAndMetadata;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link PartitionLanes} against a real broker: the lanes' pause, resume, retry and commit calls go
 * to a real consumer, and the committed offsets are read back from the broker.
 */
class PartitionLanesTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static EmbeddedKafka kafka;

  private Vertx vertx;
  private Context context;
  private String topic;
  private TopicPartition partition;
  private KafkaConsumer<String, String> consumer;
  private PartitionLanes<String, String> lanes;

  /** Processing of each record (by offset) waits for the test to complete it. */
  private final Map<Long, Promise<Void>> pending = new ConcurrentHashMap<>();

  /** Offsets in the order processing started, one entry per attempt. */
  private final List<Long> started = new CopyOnWriteArrayList<>();

  /** Offsets whose first attempts fail immediately, with how many attempts fail. */
  private final Map<Long, Integer> failures = new ConcurrentHashMap<>();

  @BeforeAll
  static void startKafka() {
    kafka = EmbeddedKafka.start();
  }

  @AfterAll
  static void stopKafka() {
    kafka.close();
  }

  @BeforeEach
  void setUp() throws Exception {
    topic = "lanes-" + UUID.randomUUID().toString().substring(0, 8);
    partition = new TopicPartition(topic, 0);
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
      admin
          .createTopics(List.of(new NewTopic(topic, 1, (short) 1)))
          .all()
          .get(30, TimeUnit.SECONDS);
    }
    vertx = Vertx.vertx();
    context = vertx.getOrCreateContext();
  }

  @AfterEach
  void tearDown() throws Exception {
    if (consumer != null) {
      on(() -> consumer.close());
    }
    vertx.close().await();
  }

  private void startLanes(int pauseAt) throws Exception {
    Map<String, String> config = new HashMap<>();
    config.put("bootstrap.servers", kafka.bootstrapServers());
    config.put("group.id", topic + "-group");
    config.put("enable.auto.commit", "false");
    config.put("auto.offset.reset", "earliest");
    config.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    config.put("value.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    on(
        () -> {
          consumer = KafkaConsumer.create(vertx, config);
          lanes =
              new PartitionLanes<>(vertx, consumer, this::process, pauseAt, 20, 100)
                  .commitMetadata("lanes-test");
          consumer.handler(lanes::accept);
          return consumer.assign(Set.of(partition));
        });
  }

  private Future<Void> process(
      io.vertx.kafka.client.consumer.KafkaConsumerRecord<String, String> r) {
    started.add(r.offset());
    Integer failing = failures.get(r.offset());
    if (failing != null && failing > 0) {
      failures.put(r.offset(), failing - 1);
      return Future.failedFuture(new IllegalStateException("broker away"));
    }
    Promise<Void> done = Promise.promise();
    pending.put(r.offset(), done);
    return done.future();
  }

  private void produce(int count) throws Exception {
    Properties props = new Properties();
    props.put("bootstrap.servers", kafka.bootstrapServers());
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
      for (int i = 0; i < count; i++) {
        producer.send(new ProducerRecord<>(topic, 0, "k", "v" + i)).get(30, TimeUnit.SECONDS);
      }
    }
  }

  private void complete(long offset) throws Exception {
    await().atMost(WAIT).until(() -> pending.containsKey(offset));
    on(
        () -> {
          pending.get(offset).complete();
          return Future.succeededFuture();
        });
  }

  private String committedMetadata() throws Exception {
    OffsetAndMetadata committed = on(() -> consumer.committed(partition));
    return committed == null ? null : committed.getMetadata();
  }

  private boolean owns() throws Exception {
    return on(() -> Future.succeededFuture(lanes.owns(partition)));
  }

  private Long committedOffset() throws Exception {
    OffsetAndMetadata committed = on(() -> consumer.committed(partition));
    return committed == null ? null : committed.getOffset();
  }

  private Set<TopicPartition> paused() throws Exception {
    return on(() -> consumer.paused());
  }

  /** Runs {@code action} on the lanes' context and waits for the future it returns. */
  private <T> T on(Callable<Future<T>> action) throws Exception {
    CompletableFuture<T> result = new CompletableFuture<>();
    context.runOnContext(
        v -> {
          try {
            action
                .call()
                .onComplete(
                    ar -> {
                      if (ar.succeeded()) {
                        result.complete(ar.result());
                      } else {
                        result.completeExceptionally(ar.cause());
                      }
                    });
          } catch (Exception e) {
            result.completeExceptionally(e);
          }
        });
    return result.get(30, TimeUnit.SECONDS);
  }

  @Test
  void recordsRunOneAtATimeInOrderAndEachOffsetIsCommittedOnlyAfterItsProcessing()
      throws Exception {
    startLanes(100);
    produce(3);
    await().atMost(WAIT).until(() -> pending.containsKey(0L));
    Thread.sleep(200); // records 1 and 2 are queued behind record 0, not started
    assertThat(started).containsExactly(0L);
    assertThat(committedOffset()).isNull();

    complete(0);
    await().atMost(WAIT).until(() -> Long.valueOf(1).equals(committedOffset()));
    complete(1);
    complete(2);
    await().atMost(WAIT).until(() -> Long.valueOf(3).equals(committedOffset()));
    assertThat(started).containsExactly(0L, 1L, 2L);
    assertThat(on(() -> Future.succeededFuture(lanes.committed()))).isEqualTo(3L);
    assertThat(committedMetadata()).isEqualTo("lanes-test");
  }

  @Test
  void aLongQueuePausesItsPartitionAndAnEmptyQueueResumesIt() throws Exception {
    startLanes(2);
    produce(3);
    // Record 0 runs; 1 and 2 queue up, reaching the pause threshold.
    await().atMost(WAIT).until(() -> pending.containsKey(0L));
    await().atMost(WAIT).until(() -> paused().contains(partition));

    complete(0);
    complete(1);
    complete(2);
    await().atMost(WAIT).until(() -> Long.valueOf(3).equals(committedOffset()));
    await().atMost(WAIT).until(() -> paused().isEmpty());

    // Resumed for real: a later record is fetched and processed.
    produce(1);
    complete(3);
    await().atMost(WAIT).until(() -> Long.valueOf(4).equals(committedOffset()));
  }

  @Test
  void aFailedRecordIsRetriedHoldingItsLaneAndNothingPastItIsCommitted() throws Exception {
    failures.put(0L, 2);
    startLanes(100);
    produce(2);
    await().atMost(WAIT).until(() -> pending.containsKey(0L));
    assertThat(started).containsExactly(0L, 0L, 0L);
    assertThat(committedOffset()).isNull();

    complete(0);
    complete(1);
    await().atMost(WAIT).until(() -> Long.valueOf(2).equals(committedOffset()));
    assertThat(started).containsExactly(0L, 0L, 0L, 1L);
  }

  @Test
  void aRecordFinishingAfterItsPartitionWasRevokedIsNotCommittedAndDoesNotResumeIt()
      throws Exception {
    startLanes(1);
    produce(2);
    await().atMost(WAIT).until(() -> pending.containsKey(0L));
    await().atMost(WAIT).until(() -> paused().contains(partition));

    assertThat(owns()).isTrue();
    // The rebalance listener would do this when the group takes the partition away.
    on(
        () -> {
          lanes.revoked(Set.of(partition));
          return Future.succeededFuture();
        });
    assertThat(owns()).isFalse(); // a processor's own retries stop here
    complete(0);
    // drain() completes once the revoked lane's record is finished, commit attempt included.
    on(() -> lanes.drain());

    assertThat(committedOffset()).isNull();
    assertThat(on(() -> Future.succeededFuture(lanes.committed()))).isZero();
    assertThat(paused()).contains(partition);
    assertThat(started).containsExactly(0L); // the queued record is left to the new owner
  }

  @Test
  void aFailingRecordOfARevokedPartitionIsNotRetried() throws Exception {
    failures.put(0L, 1_000);
    startLanes(1);
    produce(1);
    await().atMost(WAIT).until(() -> started.size() >= 2);
    on(
        () -> {
          lanes.revoked(Set.of(partition));
          return Future.succeededFuture();
        });
    int attempts = started.size();
    Thread.sleep(500); // retries are 20-100 ms apart: several would have run
    assertThat(started.size()).isLessThanOrEqualTo(attempts + 1);
    assertThat(committedOffset()).isNull();
  }
}
