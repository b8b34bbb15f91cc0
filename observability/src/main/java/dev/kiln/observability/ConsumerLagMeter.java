package dev.kiln.observability;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code kiln_consumer_lag_records{group,topic}}: how many records of a topic a consumer group has
 * not yet committed, summed over the topic's partitions. For a work topic it is the queue's depth:
 * {@code kiln.tasks} for the workers, {@code kiln.push} and {@code kiln.results} for the
 * coordinators.
 *
 * <p>Read from the broker (committed offsets against end offsets) when scraped, at most once per
 * {@link #REFRESH} however often it is scraped. Blocking: gauges are read off the event loop.
 */
public final class ConsumerLagMeter implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ConsumerLagMeter.class);
  static final Duration REFRESH = Duration.ofSeconds(1);
  private static final long TIMEOUT_SECONDS = 5;

  private final Map<String, Object> adminConfig;
  private final String group;
  private final List<String> topics;
  private final Clock clock;
  private Admin admin;
  private Map<String, Long> lagByTopic = Map.of();
  private long refreshedAtMillis; // 0: never, so the first read asks the broker
  private boolean warned;

  /**
   * @param adminConfig the Kafka admin client's settings (bootstrap servers, security)
   * @param group the consumer group whose lag is measured
   * @param topics the topics the group consumes
   */
  public ConsumerLagMeter(
      Map<String, Object> adminConfig, String group, List<String> topics, MeterRegistry registry) {
    this.adminConfig = new HashMap<>(adminConfig);
    this.adminConfig.putIfAbsent("client.id", "kiln-lag-" + group);
    this.group = group;
    this.topics = List.copyOf(topics);
    this.clock = Clock.systemUTC();
    for (String topic : this.topics) {
      Gauge.builder("kiln.consumer.lag", this, meter -> meter.lagOf(topic))
          .description(
              "Records of the topic the consumer group has not committed yet (its queue depth)")
          .tags("group", group, "topic", topic)
          .baseUnit("records")
          .register(registry);
    }
  }

  /** The group's lag on {@code topic}; NaN when the broker could not be asked. */
  synchronized double lagOf(String topic) {
    long now = clock.millis();
    if (now - refreshedAtMillis >= REFRESH.toMillis()) {
      refreshedAtMillis = now;
      try {
        lagByTopic = measure();
      } catch (Exception e) {
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
        // Said once at WARN (an operator sees why the gauge is NaN), then only at DEBUG.
        if (!warned) {
          warned = true;
          LOG.warn(
              "consumer lag of group {} unknown (the gauge reads NaN): {}", group, e.toString());
        } else {
          LOG.debug("consumer lag of group {} unknown: {}", group, e.toString());
        }
        lagByTopic = Map.of();
      }
    }
    Long lag = lagByTopic.get(topic);
    return lag == null ? Double.NaN : lag;
  }

  private Map<String, Long> measure() throws Exception {
    if (admin == null) {
      admin = Admin.create(adminConfig);
    }
    Map<TopicPartition, OffsetAndMetadata> committed =
        admin
            .listConsumerGroupOffsets(group)
            .partitionsToOffsetAndMetadata()
            .get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    Map<String, TopicDescription> descriptions =
        admin.describeTopics(topics).allTopicNames().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    for (TopicDescription description : descriptions.values()) {
      for (TopicPartitionInfo partition : description.partitions()) {
        latest.put(
            new TopicPartition(description.name(), partition.partition()), OffsetSpec.latest());
      }
    }
    Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends =
        admin.listOffsets(latest).all().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    Map<String, Long> lag = new HashMap<>();
    for (String topic : topics) {
      lag.put(topic, 0L);
    }
    ends.forEach(
        (partition, end) -> {
          OffsetAndMetadata done = committed.get(partition);
          // A partition the group never committed on has had nothing consumed by it yet.
          long position = done == null ? 0 : done.offset();
          lag.merge(partition.topic(), Math.max(0, end.offset() - position), Long::sum);
        });
    return lag;
  }

  @Override
  public synchronized void close() {
    if (admin != null) {
      admin.close(Duration.ofSeconds(2));
      admin = null;
    }
  }
}
