package dev.kiln.coordinator;

import dev.kiln.messaging.KafkaClientSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's consume-process-produce loop, exactly once: one dedicated thread owns a plain
 * kafka-clients consumer (group member, {@code read_committed}) and a transactional producer. Each
 * consumed record is one Kafka transaction holding everything it caused (snapshot, tasks, outcome,
 * log lines, or its dead letter) and its consumed offset ({@code sendOffsetsToTransaction} with the
 * consumer's group metadata). Either all of it becomes visible to {@code read_committed} readers,
 * or none of it and the record is read again.
 *
 * <p>Deciding is not done here: {@link Handler#decide} is asked for each record and the loop waits
 * for its answer (the coordinator answers on its Vert.x context, where all its state lives). Writes
 * not caused by a consumed record (a waiting build started, a lost task issued again, a tombstone)
 * are queued with {@link #transact} and written in their own transaction between records, so one
 * producer, one thread, never two transactions at once.
 *
 * <p>The transactional id is stable per coordinator instance: a restarted instance's {@code
 * initTransactions} fences its previous incarnation (a zombie's later writes fail) and aborts the
 * transaction it left open.
 */
final class TransactionalLoop {
  private static final Logger LOG = LoggerFactory.getLogger(TransactionalLoop.class);
  private static final Duration POLL = Duration.ofMillis(100);
  private static final long RETRY_PAUSE_MS = 250;

  /** What the loop asks of the coordinator. Called on the loop's thread; may answer later. */
  interface Handler {
    /** What one consumed record causes; the loop waits for it. */
    CompletableFuture<Effects> decide(ConsumerRecord<String, byte[]> record);

    /**
     * The group gave this coordinator these partition numbers (of every input topic; called inside
     * poll, may block: the owner must restore their builds before their records come).
     */
    default void assigned(Set<Integer> partitions) {}

    /** These partition numbers were taken away (called inside poll, no transaction open). */
    default void revoked(Set<Integer> partitions) {}
  }

  /**
   * The records one input causes, and what to do once they are committed or aborted.
   *
   * @param tooLarge the records to write instead when these cannot ever be written (too large for
   *     the topic); null to retry forever
   */
  record Effects(
      List<ProducerRecord<String, byte[]>> records,
      Runnable committed,
      Runnable aborted,
      java.util.function.Function<Exception, Effects> tooLarge) {
    static Effects none() {
      return new Effects(List.of(), () -> {}, () -> {}, null);
    }
  }

  /**
   * Test hook: runs once a transaction's records and offsets are acknowledged by the brokers, just
   * before the commit; a throw aborts the transaction.
   */
  interface BeforeCommit {
    void check(List<ProducerRecord<String, byte[]>> sent);
  }

  private record Queued(
      int partition, List<ProducerRecord<String, byte[]>> records, CompletableFuture<Void> done) {}

  /** Side work for a partition this coordinator does not own (any more). */
  static final class NotOwnedException extends IllegalStateException {
    NotOwnedException(int partition) {
      super(
          "partition "
              + partition
              + " belongs to another coordinator now; its owner restored the build and goes on");
    }
  }

  private final String bootstrapServers;
  private final KafkaClientSettings clientSettings;
  private final String groupId;
  private final String clientId;
  private final String transactionalId;
  private final Set<String> inputTopics;
  private final Handler handler;
  private final ConcurrentLinkedQueue<Queued> queue = new ConcurrentLinkedQueue<>();
  private final CompletableFuture<Void> ready = new CompletableFuture<>();
  private final CompletableFuture<Void> stopped = new CompletableFuture<>();
  private final CompletableFuture<Throwable> halted = new CompletableFuture<>();
  private final Thread thread;

  private volatile boolean consuming;
  private volatile boolean running = true;
  private volatile BeforeCommit beforeCommit = sent -> {};
  private KafkaProducer<String, byte[]> producer;
  private KafkaConsumer<String, byte[]> consumer;

  /** Partition numbers this loop owns; loop thread only. */
  private final Set<Integer> owned = new java.util.HashSet<>();

  /** The committed position of every owned input partition; loop thread only. */
  private final Map<TopicPartition, Long> positions = new HashMap<>();

  TransactionalLoop(
      String bootstrapServers,
      KafkaClientSettings clientSettings,
      String groupId,
      String clientId,
      String transactionalId,
      Set<String> inputTopics,
      Handler handler) {
    this.bootstrapServers = bootstrapServers;
    this.clientSettings = clientSettings;
    this.groupId = groupId;
    this.clientId = clientId;
    this.transactionalId = transactionalId;
    this.inputTopics = Set.copyOf(inputTopics);
    this.handler = handler;
    this.thread = new Thread(this::run, "kiln-coordinator-loop-" + clientId);
    this.thread.setDaemon(true);
  }

  /** Starts the thread; the future completes once the producer fenced older incarnations. */
  CompletableFuture<Void> start() {
    thread.start();
    return ready;
  }

  /** Joins the consumer group and starts consuming (after the state was restored). */
  void consume() {
    consuming = true;
  }

  /**
   * Completes with the cause when the loop stops on its own (fenced, a broker error it cannot
   * recover from, a takeover it could not read), never after {@link #stop()}: from then on nothing
   * is decided, so the process must say so and be restarted.
   */
  CompletableFuture<Throwable> halted() {
    return halted;
  }

  void beforeCommit(BeforeCommit hook) {
    this.beforeCommit = hook;
  }

  /**
   * Writes records not caused by a consumed record, in a transaction of their own, if this
   * coordinator still owns {@code partition} when their turn comes (else the future fails with
   * {@link NotOwnedException}). The transaction also commits the partition's input offsets where
   * they are, so the broker refuses it from a member the group has since replaced.
   */
  CompletableFuture<Void> transact(int partition, List<ProducerRecord<String, byte[]>> records) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    if (!running) {
      done.completeExceptionally(new IllegalStateException("the coordinator is stopping"));
      return done;
    }
    queue.add(new Queued(partition, List.copyOf(records), done));
    return done;
  }

  /** Stops after the current transaction; the future completes once the clients are closed. */
  CompletableFuture<Void> stop() {
    running = false;
    if (!thread.isAlive()) {
      stopped.complete(null);
    } else if (consumer != null) {
      consumer.wakeup();
    }
    return stopped;
  }

  private void run() {
    try {
      producer = newProducer();
      producer.initTransactions();
      ready.complete(null);
      while (running) {
        drainQueue();
        if (!consuming) {
          Thread.sleep(20);
          continue;
        }
        if (consumer == null) {
          consumer = newConsumer();
          consumer.subscribe(inputTopics, new Rebalance());
        }
        for (ConsumerRecord<String, byte[]> record : consumer.poll(POLL)) {
          if (!running) {
            break;
          }
          if (!processRecord(record)) {
            break; // rewound: poll again from the record
          }
          drainQueue();
        }
      }
    } catch (WakeupException e) {
      // stop() woke the consumer up
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ProducerFencedException e) {
      ready.completeExceptionally(e);
      halted.complete(e);
      LOG.error(
          "coordinator {} stops: another process started with the same transactional id {} and"
              + " fenced this one. If this is a restart, nothing is wrong; if two replicas run at"
              + " once, give each its own instance id",
          clientId,
          transactionalId);
    } catch (RuntimeException e) {
      ready.completeExceptionally(e);
      halted.complete(e);
      LOG.error("the coordinator's transactional loop {} stopped", transactionalId, e);
    } finally {
      running = false;
      Queued left;
      while ((left = queue.poll()) != null) {
        left.done.completeExceptionally(new IllegalStateException("the coordinator stopped"));
      }
      close();
      stopped.complete(null);
    }
  }

  private void close() {
    if (consumer != null) {
      try {
        consumer.close(); // leaves the group so its partitions move at once
      } catch (RuntimeException e) {
        LOG.warn("closing the coordinator's consumer: {}", e.toString());
      }
    }
    if (producer != null) {
      try {
        producer.close(Duration.ofSeconds(5));
      } catch (RuntimeException e) {
        LOG.warn("closing the coordinator's producer: {}", e.toString());
      }
    }
  }

  private void drainQueue() throws InterruptedException {
    Queued next;
    while (running && (next = queue.poll()) != null) {
      if (!owned.contains(next.partition())) {
        next.done.completeExceptionally(new NotOwnedException(next.partition()));
        continue;
      }
      try {
        commit(next.records(), fencing(next.partition()));
        next.done.complete(null);
      } catch (ProducerFencedException e) {
        next.done.completeExceptionally(e);
        throw e;
      } catch (RuntimeException e) {
        next.done.completeExceptionally(e);
      }
    }
  }

  /**
   * One record, one transaction. True when committed; false when the consumer was rewound to the
   * record (it is read again; the handler undid its decision).
   */
  private boolean processRecord(ConsumerRecord<String, byte[]> record) throws InterruptedException {
    TopicPartition partition = new TopicPartition(record.topic(), record.partition());
    Effects effects;
    try {
      effects = handler.decide(record).get();
    } catch (ExecutionException e) {
      LOG.warn(
          "could not decide on {}-{}@{} ({}); reading it again",
          record.topic(),
          record.partition(),
          record.offset(),
          e.getCause().toString());
      rewind(partition, record.offset());
      return false;
    }
    Map<TopicPartition, OffsetAndMetadata> offsets =
        Map.of(partition, new OffsetAndMetadata(record.offset() + 1));
    try {
      commit(effects.records(), offsets);
      positions.put(partition, record.offset() + 1);
      effects.committed().run();
      return true;
    } catch (ProducerFencedException e) {
      effects.aborted().run();
      throw e;
    } catch (RuntimeException e) {
      effects.aborted().run();
      if (effects.tooLarge() != null && cannotEverBeWritten(e)) {
        Effects instead = effects.tooLarge().apply(e);
        try {
          commit(instead.records(), offsets);
          positions.put(partition, record.offset() + 1);
          instead.committed().run();
          return true;
        } catch (RuntimeException again) {
          instead.aborted().run();
          e = again;
        }
      }
      LOG.warn(
          "the transaction for {}-{}@{} was aborted ({}); reading it again",
          record.topic(),
          record.partition(),
          record.offset(),
          e.toString());
      rewind(partition, record.offset());
      Thread.sleep(RETRY_PAUSE_MS);
      return false;
    }
  }

  /**
   * Sends the records and the offsets in one transaction and commits it. Throws (after aborting)
   * when anything failed, including any one send.
   */
  private void commit(
      List<ProducerRecord<String, byte[]>> records,
      Map<TopicPartition, OffsetAndMetadata> offsets) {
    if (records.isEmpty() && offsets == null) {
      return;
    }
    producer.beginTransaction();
    try {
      List<Future<RecordMetadata>> sends = new ArrayList<>();
      for (ProducerRecord<String, byte[]> record : records) {
        sends.add(producer.send(record));
      }
      if (offsets != null) {
        producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
      }
      producer.flush();
      for (Future<RecordMetadata> send : sends) {
        send.get(0, TimeUnit.MILLISECONDS); // flushed: done; throws the send's own failure
      }
      beforeCommit.check(records); // everything is on the brokers, not yet committed
      producer.commitTransaction();
    } catch (ProducerFencedException | AuthorizationException e) {
      throw e;
    } catch (ExecutionException e) {
      abort();
      throw e.getCause() instanceof RuntimeException r
          ? r
          : new IllegalStateException(e.getCause());
    } catch (InterruptedException | java.util.concurrent.TimeoutException e) {
      abort();
      throw new IllegalStateException(e);
    } catch (RuntimeException e) {
      abort();
      throw e;
    }
  }

  /** Aborts; a producer that cannot abort (fatal state) is replaced, which aborts on the broker. */
  private void abort() {
    try {
      producer.abortTransaction();
    } catch (ProducerFencedException | InvalidProducerEpochException e) {
      throw e;
    } catch (RuntimeException e) {
      LOG.warn("could not abort ({}); starting a new producer", e.toString());
      try {
        producer.close(Duration.ZERO);
      } catch (RuntimeException ignored) {
        // it is being replaced
      }
      producer = newProducer();
      producer.initTransactions();
    }
  }

  private void rewind(TopicPartition partition, long offset) {
    if (consumer.assignment().contains(partition)) {
      consumer.seek(partition, offset);
    }
  }

  /** The partition's input offsets where they are: committing them again changes nothing. */
  private Map<TopicPartition, OffsetAndMetadata> fencing(int partition) {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    for (String topic : inputTopics) {
      Long position = positions.get(new TopicPartition(topic, partition));
      if (position != null) {
        offsets.put(new TopicPartition(topic, partition), new OffsetAndMetadata(position));
      }
    }
    return offsets;
  }

  private static boolean cannotEverBeWritten(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof RecordTooLargeException || t instanceof RecordBatchTooLargeException) {
        return true;
      }
    }
    return false;
  }

  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      if (partitions.isEmpty()) {
        return;
      }
      LOG.info("coordinator {} now owns {}", clientId, partitions);
      Set<Integer> numbers = new java.util.TreeSet<>();
      for (TopicPartition partition : partitions) {
        positions.put(partition, consumer.position(partition));
        numbers.add(partition.partition());
      }
      owned.addAll(numbers);
      handler.assigned(numbers);
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      // Called inside poll: no transaction is open, every offset is committed with its effects.
      if (partitions.isEmpty()) {
        return;
      }
      LOG.info("coordinator {} gives up {}", clientId, partitions);
      Set<Integer> numbers = new java.util.TreeSet<>();
      for (TopicPartition partition : partitions) {
        positions.remove(partition);
        numbers.add(partition.partition());
      }
      owned.removeAll(numbers);
      if (running) {
        handler.revoked(numbers);
      }
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      onPartitionsRevoked(partitions);
    }
  }

  private KafkaProducer<String, byte[]> newProducer() {
    Properties props = new Properties();
    props.putAll(clientSettings.properties());
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(ProducerConfig.CLIENT_ID_CONFIG, clientId + "-txn");
    props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    props.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    return new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
  }

  private KafkaConsumer<String, byte[]> newConsumer() {
    Map<String, Object> props = new HashMap<>();
    clientSettings.properties().forEach((k, v) -> props.put(k.toString(), v));
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
    // Offsets are committed only inside the transactions, with what the record caused.
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    // Results of a worker are not transactional, but pushes may come from a transaction one day,
    // and a coordinator must never act on what its own aborted transactions wrote.
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "100");
    // Partition p of kiln.push and of kiln.results to the same member (both topics have the same
    // partition count): the range assignor does that, the owner of p owns those builds whole.
    props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
    props.put(
        ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
        org.apache.kafka.clients.consumer.RangeAssignor.class.getName());
    return new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer());
  }
}
