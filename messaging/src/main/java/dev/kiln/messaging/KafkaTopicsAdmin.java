package dev.kiln.messaging;

import dev.kiln.events.Topics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Creates Kiln's topics (idempotently) with the partition counts and policies in {@link Topics}.
 */
public final class KafkaTopicsAdmin {
  private KafkaTopicsAdmin() {}

  /** Runs on a worker thread: the admin client blocks. */
  public static Future<Void> ensureTopics(Vertx vertx, String bootstrapServers, Topics topics) {
    return ensureTopics(vertx, bootstrapServers, KafkaClientSettings.none(), topics);
  }

  /** Runs on a worker thread: the admin client blocks. */
  public static Future<Void> ensureTopics(
      Vertx vertx, String bootstrapServers, KafkaClientSettings clientSettings, Topics topics) {
    return vertx.executeBlocking(
        () -> {
          ensureTopics(bootstrapServers, clientSettings, topics);
          return null;
        },
        false);
  }

  /** Blocking form, for command-line tools and tests. */
  public static void ensureTopics(String bootstrapServers, Topics topics) throws Exception {
    ensureTopics(bootstrapServers, KafkaClientSettings.none(), topics);
  }

  /**
   * Blocking form with the operator's client settings. Creating a topic that exists is fine; a
   * principal without CREATE permission gets an error naming the ACL it lacks.
   */
  public static void ensureTopics(
      String bootstrapServers, KafkaClientSettings clientSettings, Topics topics) throws Exception {
    try (Admin admin =
        Admin.create(
            clientSettings.applyToObjects(
                Map.of(
                    AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                    bootstrapServers,
                    AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                    "30000")))) {
      List<NewTopic> wanted = new ArrayList<>();
      for (Topics.Spec spec : topics.all()) {
        NewTopic topic = new NewTopic(spec.name(), spec.partitions(), (short) -1);
        if (spec.compacted()) {
          topic.configs(
              Map.of(
                  TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
                  TopicConfig.MIN_COMPACTION_LAG_MS_CONFIG, "0",
                  TopicConfig.SEGMENT_MS_CONFIG, "3600000"));
        }
        wanted.add(topic);
      }
      var results = admin.createTopics(wanted).values();
      for (var entry : results.entrySet()) {
        try {
          entry.getValue().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
          if (e.getCause() instanceof TopicAuthorizationException
              || e.getCause() instanceof ClusterAuthorizationException) {
            throw new IllegalStateException(
                "not allowed to create topic "
                    + entry.getKey()
                    + " on "
                    + bootstrapServers
                    + ": the coordinator's principal needs CREATE on topics prefixed '"
                    + topics.prefix()
                    + "kiln.' (see docs/operations.md), or create the topics beforehand ("
                    + e.getCause().getMessage()
                    + ")",
                e.getCause());
          }
          if (!(e.getCause() instanceof TopicExistsException)) {
            throw new IllegalStateException(
                "could not create topic "
                    + entry.getKey()
                    + " on "
                    + bootstrapServers
                    + ": "
                    + e.getCause().getMessage(),
                e.getCause());
          }
        }
      }
    }
  }
}
