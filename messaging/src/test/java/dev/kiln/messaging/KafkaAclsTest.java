package dev.kiln.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.broker.EmbeddedKafka;
import dev.kiln.events.PushEvent;
import dev.kiln.events.Topics;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The ACL table of {@link KafkaAcls} on a SASL/SCRAM broker with an authorizer: each service can do
 * its job, and each attack by a principal that should not is refused by the broker and leaves no
 * record behind.
 */
class KafkaAclsTest {
  private static final Topics TOPICS = Topics.DEFAULT;
  private static final String INTRUDER = "intruder";
  private static final String TENANT = "tenant-acme";

  private static EmbeddedKafka kafka;
  private static Vertx vertx;

  @BeforeAll
  static void startSecureBroker() throws Exception {
    Map<String, List<AclBinding>> acls = new LinkedHashMap<>(KafkaAcls.all(TOPICS));
    acls.put(INTRUDER, List.of());
    acls.put(TENANT, List.of());
    kafka = EmbeddedKafka.secure(acls);
    vertx = Vertx.vertx();
    // The coordinator creates the topics, as at start-up: its ACLs allow that.
    KafkaTopicsAdmin.ensureTopics(
        kafka.bootstrapServers(), settings(KafkaAcls.COORDINATOR), TOPICS);
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    kafka.close();
  }

  private static KafkaClientSettings settings(String user) {
    return KafkaClientSettings.of(kafka.saslSettings(user));
  }

  @Test
  void aForgedResultFromANonWorkerPrincipalIsRejected() throws Exception {
    String forgedKey = "forged-" + UUID.randomUUID();
    for (String principal :
        List.of(INTRUDER, TENANT, KafkaAcls.PUSHER, KafkaAcls.DEPLOYER, KafkaAcls.CACHE_SERVICE)) {
      // A plain producer: the record is refused for the topic itself.
      assertThatThrownBy(() -> send(principal, false, TOPICS.results(), forgedKey))
          .as("%s writing %s", principal, TOPICS.results())
          .isInstanceOf(ExecutionException.class)
          .cause()
          .isInstanceOf(TopicAuthorizationException.class);
      // An idempotent one (the default) is refused before its first record.
      assertThatThrownBy(() -> send(principal, true, TOPICS.results(), forgedKey))
          .as("%s writing %s idempotently", principal, TOPICS.results())
          .satisfies(e -> assertThat(causes(e)).anyMatch(AuthorizationException.class::isInstance));
    }
    assertThat(readAllAs(KafkaAcls.COORDINATOR, TOPICS.results()))
        .noneMatch(r -> forgedKey.equals(r.key()));
  }

  @Test
  void aTenantPrincipalCannotReadTasks() throws Exception {
    String taskKey = "task-" + UUID.randomUUID();
    EventPublisher coordinator =
        new EventPublisher(
            vertx, kafka.bootstrapServers(), settings(KafkaAcls.COORDINATOR), "/kiln/coordinator");
    try {
      coordinator.publish(TOPICS.tasks(), taskKey, push(taskKey)).await();
    } finally {
      coordinator.close().await();
    }
    assertThat(readAllAs(KafkaAcls.WORKER, TOPICS.tasks())).anyMatch(r -> taskKey.equals(r.key()));

    for (String principal : List.of(TENANT, INTRUDER, KafkaAcls.PUSHER, KafkaAcls.DEPLOYER)) {
      assertThatThrownBy(() -> readAllAs(principal, TOPICS.tasks()))
          .as("%s reading %s", principal, TOPICS.tasks())
          .isInstanceOf(TopicAuthorizationException.class);
      // Nor by joining the workers' group.
      List<ConsumerRecord<String, byte[]>> got = new ArrayList<>();
      assertThatThrownBy(() -> subscribeAs(principal, "kiln-workers", TOPICS.tasks(), got))
          .as("%s joining the workers' group", principal)
          .isInstanceOf(AuthorizationException.class);
      assertThat(got).isEmpty();
    }
  }

  @Test
  void aWorkerCannotWriteBuildSnapshots() throws Exception {
    String buildKey = "build-" + UUID.randomUUID();
    EventPublisher worker =
        new EventPublisher(vertx, kafka.bootstrapServers(), settings(KafkaAcls.WORKER), "/kiln/w");
    try {
      assertThatThrownBy(() -> worker.publish(TOPICS.builds(), buildKey, push(buildKey)).await())
          .satisfies(
              e -> assertThat(causes(e)).anyMatch(TopicAuthorizationException.class::isInstance));
      // Nor tasks for other workers, nor outcomes for deployers.
      for (String topic : List.of(TOPICS.tasks(), TOPICS.imageReady(), TOPICS.push())) {
        assertThatThrownBy(() -> worker.publish(topic, buildKey, push(buildKey)).await())
            .as("worker writing %s", topic)
            .satisfies(
                e -> assertThat(causes(e)).anyMatch(TopicAuthorizationException.class::isInstance));
      }
    } finally {
      worker.close().await();
    }
    assertThat(readAllAs(KafkaAcls.COORDINATOR, TOPICS.builds()))
        .noneMatch(r -> buildKey.equals(r.key()));
  }

  @Test
  void eachServiceCanDoItsJobWithItsOwnSettings() throws Exception {
    String key = "ok-" + UUID.randomUUID();
    EventPublisher worker =
        new EventPublisher(vertx, kafka.bootstrapServers(), settings(KafkaAcls.WORKER), "/kiln/w");
    EventPublisher coordinator =
        new EventPublisher(
            vertx, kafka.bootstrapServers(), settings(KafkaAcls.COORDINATOR), "/kiln/coordinator");
    EventPublisher pusher =
        new EventPublisher(vertx, kafka.bootstrapServers(), settings(KafkaAcls.PUSHER), "/kiln/p");
    try {
      pusher.publish(TOPICS.push(), key, push(key)).await();
      coordinator.publish(TOPICS.tasks(), key, push(key)).await();
      coordinator.publish(TOPICS.builds(), key, push(key)).await();
      coordinator.publish(TOPICS.imageReady(), key, push(key)).await();
      worker.publish(TOPICS.results(), key, push(key)).await();
      worker.publish(TOPICS.logs(), key, push(key)).await();
    } finally {
      worker.close().await();
      coordinator.close().await();
      pusher.close().await();
    }
    List<ConsumerRecord<String, byte[]>> got = new ArrayList<>();
    subscribeAs(KafkaAcls.COORDINATOR, "kiln-coordinator-test", TOPICS.results(), got);
    assertThat(got).anyMatch(r -> key.equals(r.key()));
    got.clear();
    subscribeAs(KafkaAcls.WORKER, "kiln-workers-test", TOPICS.tasks(), got);
    assertThat(got).anyMatch(r -> key.equals(r.key()));
    got.clear();
    subscribeAs(KafkaAcls.DEPLOYER, "kiln-deployer-test", TOPICS.imageReady(), got);
    assertThat(got).anyMatch(r -> key.equals(r.key()));
    assertThat(readAllAs(KafkaAcls.COORDINATOR, TOPICS.push())).anyMatch(r -> key.equals(r.key()));
    assertThat(readAllAs(KafkaAcls.COORDINATOR, TOPICS.builds()))
        .anyMatch(r -> key.equals(r.key()));
    assertThat(readAllAs(KafkaAcls.PUSHER, TOPICS.logs())).anyMatch(r -> key.equals(r.key()));
  }

  @Test
  void theCoordinatorWritesTransactionallyUnderItsGroupPrefixAndNobodyElseMay() throws Exception {
    String key = "txn-" + UUID.randomUUID();
    try (KafkaProducer<String, byte[]> coordinator =
        transactional(KafkaAcls.COORDINATOR, "kiln-coordinator-" + key)) {
      coordinator.initTransactions();
      coordinator.beginTransaction();
      coordinator.send(
          new ProducerRecord<>(TOPICS.tasks(), key, "task".getBytes(StandardCharsets.UTF_8)));
      coordinator.sendOffsetsToTransaction(
          Map.of(new TopicPartition(TOPICS.results(), 0), new OffsetAndMetadata(0)),
          new ConsumerGroupMetadata("kiln-coordinator-" + key));
      coordinator.commitTransaction();
    }
    assertThat(readAllAs(KafkaAcls.WORKER, TOPICS.tasks())).anyMatch(r -> key.equals(r.key()));

    // A worker taking over the coordinator's transactional id, to forge tasks atomically.
    try (KafkaProducer<String, byte[]> worker =
        transactional(KafkaAcls.WORKER, "kiln-coordinator-" + key)) {
      assertThatThrownBy(worker::initTransactions)
          .isInstanceOf(TransactionalIdAuthorizationException.class);
    }
    // The coordinator itself only under its prefix.
    try (KafkaProducer<String, byte[]> elsewhere =
        transactional(KafkaAcls.COORDINATOR, "someone-else-" + key)) {
      assertThatThrownBy(elsewhere::initTransactions)
          .isInstanceOf(TransactionalIdAuthorizationException.class);
    }
  }

  private static KafkaProducer<String, byte[]> transactional(String principal, String id) {
    Map<String, Object> config = new LinkedHashMap<>(kafka.clientConfig(principal));
    config.put("transactional.id", id);
    config.put("max.block.ms", "10000");
    config.put("request.timeout.ms", "5000");
    return new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer());
  }

  @Test
  void onlyTheCoordinatorAndTheCacheServiceReadTenantRecords() throws Exception {
    String tenants = KafkaAcls.tenantsTopic(TOPICS);
    try (org.apache.kafka.clients.admin.Admin admin =
        org.apache.kafka.clients.admin.Admin.create(Map.copyOf(kafka.clientConfig()))) {
      if (!admin.listTopics().names().get(30, TimeUnit.SECONDS).contains(tenants)) {
        admin
            .createTopics(
                List.of(new org.apache.kafka.clients.admin.NewTopic(tenants, 1, (short) 1)))
            .all()
            .get(30, TimeUnit.SECONDS);
      }
    }
    String key = "tenant-" + UUID.randomUUID();
    EventPublisher coordinator =
        new EventPublisher(
            vertx, kafka.bootstrapServers(), settings(KafkaAcls.COORDINATOR), "/kiln/coordinator");
    try {
      coordinator.publish(tenants, key, push(key)).await();
    } finally {
      coordinator.close().await();
    }
    assertThat(readAllAs(KafkaAcls.CACHE_SERVICE, tenants)).anyMatch(r -> key.equals(r.key()));
    for (String principal :
        List.of(KafkaAcls.WORKER, KafkaAcls.PUSHER, KafkaAcls.DEPLOYER, TENANT, INTRUDER)) {
      assertThatThrownBy(() -> readAllAs(principal, tenants))
          .as("%s reading %s", principal, tenants)
          .isInstanceOf(TopicAuthorizationException.class);
    }
    assertThatThrownBy(() -> send(KafkaAcls.CACHE_SERVICE, false, tenants, key))
        .cause()
        .isInstanceOf(TopicAuthorizationException.class);
  }

  @Test
  void aPrincipalThatMayNotCreateTopicsIsToldWhichAclItLacks() {
    assertThatThrownBy(
            () ->
                KafkaTopicsAdmin.ensureTopics(
                    kafka.bootstrapServers(),
                    settings(KafkaAcls.WORKER),
                    Topics.withPrefix("other.")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("not allowed to create topic other.kiln.")
        .hasMessageContaining("CREATE on topics prefixed 'other.kiln.'");
  }

  @Test
  void withoutCredentialsNothingIsReachable() {
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("bootstrap.servers", kafka.bootstrapServers());
    config.put("default.api.timeout.ms", "5000");
    config.put("request.timeout.ms", "3000");
    try (KafkaConsumer<String, byte[]> anonymous =
        new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer())) {
      assertThatThrownBy(() -> anonymous.partitionsFor(TOPICS.tasks(), Duration.ofSeconds(5)))
          .isInstanceOf(org.apache.kafka.common.KafkaException.class);
    }
  }

  @Test
  void docsOperationsListsExactlyTheAclsTheCodeApplies() throws Exception {
    Path docs = Path.of("..", "docs", "operations.md");
    assertThat(Files.readString(docs)).contains(KafkaAcls.markdownTable());
  }

  private static PushEvent push(String key) {
    return new PushEvent(
        "acme",
        "shop",
        "https://git.example.com/acme/shop.git",
        "main",
        "0123456789abcdef0123456789abcdef01234567",
        null,
        Map.of(),
        Instant.parse("2026-01-01T00:00:00Z"));
  }

  private static void send(String principal, boolean idempotent, String topic, String key)
      throws Exception {
    Map<String, Object> config = new LinkedHashMap<>(kafka.clientConfig(principal));
    config.put("enable.idempotence", Boolean.toString(idempotent));
    config.put("acks", idempotent ? "all" : "1");
    config.put("max.block.ms", "10000");
    config.put("delivery.timeout.ms", "10000");
    config.put("request.timeout.ms", "5000");
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer())) {
      producer
          .send(new ProducerRecord<>(topic, key, "forged".getBytes(StandardCharsets.UTF_8)))
          .get(30, TimeUnit.SECONDS);
    }
  }

  /** Every record of {@code topic}, read by assignment (no group), as {@code principal}. */
  private static List<ConsumerRecord<String, byte[]>> readAllAs(String principal, String topic) {
    Map<String, Object> config = new LinkedHashMap<>(kafka.clientConfig(principal));
    config.put("default.api.timeout.ms", "10000");
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic, Duration.ofSeconds(10)).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("could not read " + topic + " to its end as " + principal);
        }
        consumer.poll(Duration.ofMillis(200)).forEach(records::add);
      }
      return records;
    }
  }

  /**
   * Joins {@code group} on {@code topic} as {@code principal} and collects what a few polls get.
   */
  private static void subscribeAs(
      String principal, String group, String topic, List<ConsumerRecord<String, byte[]>> into) {
    Map<String, Object> config = new LinkedHashMap<>(kafka.clientConfig(principal));
    config.put("group.id", group);
    config.put("auto.offset.reset", "earliest");
    config.put("default.api.timeout.ms", "10000");
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(500)).forEach(into::add);
        if (!into.isEmpty()) {
          consumer.commitSync();
          return;
        }
      }
    }
  }

  private static List<Throwable> causes(Throwable e) {
    List<Throwable> chain = new ArrayList<>();
    for (Throwable t = e; t != null && !chain.contains(t); t = t.getCause()) {
      chain.add(t);
    }
    return chain;
  }
}
