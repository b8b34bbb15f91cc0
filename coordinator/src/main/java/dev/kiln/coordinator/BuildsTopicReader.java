package dev.kiln.coordinator;

import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.EventCodec;
import dev.kiln.events.InvalidEventException;
import dev.kiln.events.Tenant;
import dev.kiln.messaging.KafkaClientSettings;
import dev.kiln.observability.Tracing;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the compacted {@code kiln.builds} topic from the beginning up to the end offsets it had
 * when reading started: the latest snapshot of every build. Blocking; call it on a worker thread.
 *
 * <p>It assigns partitions itself instead of joining a group, so it commits nothing and every
 * coordinator reads the whole topic.
 */
final class BuildsTopicReader {
  private static final Logger LOG = LoggerFactory.getLogger(BuildsTopicReader.class);
  private static final Duration POLL = Duration.ofMillis(200);
  private static final Duration METADATA_RETRY = Duration.ofMillis(100);

  /**
   * The latest snapshot per build, the partition it was read from, how many unreadable records were
   * skipped, where reading stopped (so a follower can go on from there), and each build's trace
   * context as its snapshots carry it (so a restarted coordinator goes on with the same trace).
   */
  record Restored(
      Map<String, BuildSnapshot> snapshots,
      Map<String, Integer> partitions,
      int skipped,
      Map<TopicPartition, Long> endOffsets,
      Map<String, String> traceparents) {}

  /**
   * The latest record of every tenant, and where reading stopped, so a consumer can follow the
   * topic from there.
   */
  record RestoredTenants(
      Map<String, Tenant> tenants, int skipped, Map<TopicPartition, Long> endOffsets) {}

  private BuildsTopicReader() {}

  static Restored readAll(
      String bootstrapServers,
      KafkaClientSettings clientSettings,
      String topic,
      String clientId,
      Duration timeout) {
    return readPartitions(bootstrapServers, clientSettings, topic, null, clientId, timeout);
  }

  /**
   * Like {@link #readAll} but only the given partitions of the topic (null for all): what a
   * coordinator that was just assigned these partitions owns.
   */
  static Restored readPartitions(
      String bootstrapServers,
      KafkaClientSettings clientSettings,
      String topic,
      java.util.Set<Integer> only,
      String clientId,
      Duration timeout) {
    // Per partition first (a tombstone deletes what its own partition holds), then the newest
    // snapshot of a build across partitions: a build can have records in two partitions when an
    // earlier version wrote it to its build id's partition and this one to its app's.
    Map<Integer, Map<String, BuildSnapshot>> byPartition = new HashMap<>();
    int[] skipped = {0};
    Map<String, String> traceparents = new HashMap<>();
    Map<TopicPartition, Long> end =
        read(
            bootstrapServers,
            clientSettings,
            topic,
            only,
            clientId,
            timeout,
            record -> {
              Map<String, BuildSnapshot> latest =
                  byPartition.computeIfAbsent(record.partition(), p -> new HashMap<>());
              if (record.value() == null) {
                if (record.key() != null) {
                  latest.remove(record.key()); // a tombstone: the build was deleted on purpose
                }
                return;
              }
              try {
                BuildSnapshot snapshot =
                    EventCodec.decode(record.headers(), record.value()).body(BuildSnapshot.class);
                latest.put(snapshot.buildId(), snapshot);
                Tracing.traceparent(Tracing.extract(record.headers()))
                    .ifPresent(tp -> traceparents.put(snapshot.buildId(), tp));
              } catch (InvalidEventException | RuntimeException e) {
                skipped[0]++;
                LOG.warn(
                    "skipping unreadable snapshot {}-{}@{}: {}",
                    record.topic(),
                    record.partition(),
                    record.offset(),
                    e.getMessage());
              }
            });
    Map<String, BuildSnapshot> newest = new HashMap<>();
    Map<String, Integer> partitions = new HashMap<>();
    byPartition.forEach(
        (partition, latest) ->
            latest.forEach(
                (buildId, snapshot) -> {
                  BuildSnapshot other = newest.get(buildId);
                  if (other == null || isNewer(snapshot, other)) {
                    newest.put(buildId, snapshot);
                    partitions.put(buildId, partition);
                  }
                }));
    return new Restored(newest, partitions, skipped[0], end, traceparents);
  }

  private static boolean isNewer(BuildSnapshot a, BuildSnapshot b) {
    if (a.updatedAt() == null || b.updatedAt() == null) {
      return b.updatedAt() == null && a.updatedAt() != null;
    }
    return a.updatedAt().isAfter(b.updatedAt());
  }

  /** Reads the compacted {@code kiln.tenants} topic: the latest record of every tenant. */
  static RestoredTenants readTenants(
      String bootstrapServers,
      KafkaClientSettings clientSettings,
      String topic,
      String clientId,
      Duration timeout) {
    Map<String, Tenant> latest = new HashMap<>();
    int[] skipped = {0};
    Map<TopicPartition, Long> end =
        read(
            bootstrapServers,
            clientSettings,
            topic,
            null,
            clientId,
            timeout,
            record -> {
              Tenant tenant = tenantOf(record.key(), record.value(), record.offset());
              if (record.value() == null) {
                latest.remove(record.key());
              } else if (tenant == null) {
                skipped[0]++;
              } else {
                latest.put(record.key(), tenant);
              }
            });
    return new RestoredTenants(latest, skipped[0], end);
  }

  /**
   * A tenant record's value, or null for a tombstone or an unreadable record (logged). The value is
   * the JSON {@link Tenant}; the key must be its name.
   */
  static Tenant tenantOf(String key, byte[] value, long offset) {
    if (value == null || key == null) {
      return null;
    }
    try {
      Tenant tenant = EventCodec.fromJson(value, Tenant.class);
      if (!tenant.name().equals(key)) {
        throw new InvalidEventException(
            "name", "is " + tenant.name() + " but the record's key is " + key);
      }
      return tenant;
    } catch (InvalidEventException | RuntimeException e) {
      LOG.warn("skipping unreadable tenant record {}@{}: {}", key, offset, e.getMessage());
      return null;
    }
  }

  /** Reads a topic from the beginning to its current end; returns the end offsets. */
  private static Map<TopicPartition, Long> read(
      String bootstrapServers,
      KafkaClientSettings clientSettings,
      String topic,
      java.util.Set<Integer> only,
      String clientId,
      Duration timeout,
      Consumer<ConsumerRecord<String, byte[]>> apply) {
    Properties props = new Properties();
    props.putAll(clientSettings.properties());
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "1000");
    // Only what committed transactions wrote: a snapshot of an aborted transaction never happened.
    // The end offsets are then the last stable offsets.
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    long deadline = System.nanoTime() + timeout.toNanos();
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
      List<PartitionInfo> infos = partitionsOf(consumer, topic, deadline);
      if (infos.isEmpty()) {
        throw new IllegalStateException(
            "topic "
                + topic
                + " does not exist on "
                + bootstrapServers
                + "; the coordinator creates it at start-up, so check that it may create topics");
      }
      List<TopicPartition> partitions =
          infos.stream()
              .filter(p -> only == null || only.contains(p.partition()))
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      if (partitions.isEmpty()) {
        return Map.of();
      }
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
      int read = 0;
      while (!reachedEnd(consumer, end)) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "could not read "
                  + topic
                  + " to its end within "
                  + timeout.toSeconds()
                  + " s ("
                  + read
                  + " records read so far); is the broker at "
                  + bootstrapServers
                  + " reachable and healthy?");
        }
        for (ConsumerRecord<String, byte[]> record : consumer.poll(POLL)) {
          read++;
          apply.accept(record);
        }
      }
      return end;
    }
  }

  /**
   * The topic's partitions. A topic created a moment ago may not be in every broker's metadata yet,
   * so an empty answer is asked again until the deadline.
   */
  private static List<PartitionInfo> partitionsOf(
      KafkaConsumer<?, ?> consumer, String topic, long deadline) {
    while (true) {
      // Never 0: a zero timeout makes partitionsFor throw instead of answering from its cache.
      Duration left =
          Duration.ofNanos(Math.max(METADATA_RETRY.toNanos(), deadline - System.nanoTime()));
      List<PartitionInfo> infos = consumer.partitionsFor(topic, left);
      if ((infos != null && !infos.isEmpty()) || System.nanoTime() > deadline) {
        return infos == null ? List.of() : infos;
      }
      try {
        Thread.sleep(METADATA_RETRY.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(
            "interrupted while waiting for " + topic + "'s metadata", e);
      }
    }
  }

  private static boolean reachedEnd(KafkaConsumer<?, ?> consumer, Map<TopicPartition, Long> end) {
    for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
      if (consumer.position(e.getKey()) < e.getValue()) {
        return false;
      }
    }
    return true;
  }
}
