package dev.kiln.cache;

import dev.kiln.events.EventCodec;
import dev.kiln.events.InvalidEventException;
import dev.kiln.events.Tenant;
import dev.kiln.events.security.SecretBox;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tenants the coordinator keeps in {@code kiln.tenants}, followed from the start of the topic
 * on a thread of its own: each tenant's private indexes (passwords opened with the farm's secret
 * key only when the proxy needs them) and store quota. No consumer group: every cache-service
 * replica reads the whole compacted topic.
 */
public final class TenantsTopicDirectory implements TenantDirectory, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(TenantsTopicDirectory.class);

  private final Map<String, Tenant> tenants = new ConcurrentHashMap<>();
  private final SecretBox secrets;
  private final KafkaConsumer<String, byte[]> consumer;
  private final Thread follower;
  private final CountDownLatch caughtUp = new CountDownLatch(1);
  private volatile boolean closed;

  /**
   * @param clientSettings Kafka client settings: {@code bootstrap.servers} and any security
   *     settings
   * @param secrets opens index passwords; null when tenants have none (then a sealed one fails)
   */
  public TenantsTopicDirectory(
      Map<String, String> clientSettings, String topic, SecretBox secrets) {
    this.secrets = secrets;
    Map<String, Object> config = new HashMap<>(clientSettings);
    config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    config.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "kiln-cache-service-tenants");
    this.consumer =
        new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer());
    List<TopicPartition> partitions =
        consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
            .map(p -> new TopicPartition(p.topic(), p.partition()))
            .toList();
    if (partitions.isEmpty()) {
      consumer.close(Duration.ZERO);
      throw new IllegalStateException(
          "the topic "
              + topic
              + " does not exist on the farm's Kafka cluster; start the coordinator first (it"
              + " creates the farm's topics), or check --kafka and --topic-prefix");
    }
    consumer.assign(partitions);
    consumer.seekToBeginning(partitions);
    Map<TopicPartition, Long> end = consumer.endOffsets(partitions, Duration.ofSeconds(30));
    this.follower = new Thread(() -> follow(end), "kiln-cache-tenants");
    follower.setDaemon(true);
    follower.start();
  }

  /** Waits until everything the topic held at start has been read. */
  public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
    return caughtUp.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void follow(Map<TopicPartition, Long> end) {
    try {
      while (!closed) {
        for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
          apply(record);
        }
        if (caughtUp.getCount() > 0
            && end.entrySet().stream()
                .allMatch(e -> consumer.position(e.getKey()) >= e.getValue())) {
          caughtUp.countDown();
        }
      }
    } catch (WakeupException stopping) {
      // close() woke the consumer
    } catch (RuntimeException e) {
      LOG.error("stopped following the tenants topic: {}", e.toString());
    } finally {
      consumer.close(Duration.ofSeconds(5));
    }
  }

  private void apply(ConsumerRecord<String, byte[]> record) {
    if (record.key() == null) {
      return;
    }
    if (record.value() == null) {
      tenants.remove(record.key());
      return;
    }
    try {
      tenants.put(record.key(), EventCodec.fromJson(record.value(), Tenant.class));
    } catch (InvalidEventException e) {
      LOG.warn(
          "skipped an unreadable tenant record for {} at offset {}: {}",
          record.key(),
          record.offset(),
          e.getMessage());
    }
  }

  @Override
  public Optional<IndexCredentials> index(String tenant, String name) {
    Tenant known = tenants.get(tenant);
    if (known == null) {
      return Optional.empty();
    }
    return known
        .index(name)
        .map(
            index ->
                new IndexCredentials(
                    index.url(),
                    index.username(),
                    index.sealedPassword() == null
                        ? null
                        : Objects.requireNonNull(
                                secrets,
                                "the cache-service has no secret key to open index passwords"
                                    + " with; give it the farm's KILN_SECRET_KEY")
                            .open(
                                SecretBox.tenantSecretAad(tenant, name), index.sealedPassword())));
  }

  @Override
  public List<String> indexNames(String tenant) {
    Tenant known = tenants.get(tenant);
    return known == null
        ? List.of()
        : known.indexes().stream().map(Tenant.TenantIndex::name).toList();
  }

  @Override
  public long storeQuotaBytes(String tenant) {
    Tenant known = tenants.get(tenant);
    return known == null || known.quotas() == null ? Long.MAX_VALUE : known.quotas().storeBytes();
  }

  @Override
  public void close() {
    closed = true;
    consumer.wakeup();
    try {
      follower.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
