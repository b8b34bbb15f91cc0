package dev.kiln.messaging;

import dev.kiln.events.Topics;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * The Kafka ACLs of each Kiln service principal: who may read and write which topic, join which
 * consumer group and create topics. The one source of truth for the table in {@code
 * docs/operations.md}; the secure broker of the tests applies exactly these bindings.
 *
 * <p>Only the coordinator writes transactionally (snapshot, tasks, outcome and consumed offset in
 * one transaction): its transactional ids start with its consumer group name ({@code
 * <group>-<instance>}), so it gets WRITE and DESCRIBE on transactional ids with that prefix.
 * Idempotent producers need no cluster ACL (since Kafka 3.0, WRITE on a topic is enough).
 */
public final class KafkaAcls {
  /** The coordinator: consumes pushes and results, writes tasks, outcomes, logs, snapshots. */
  public static final String COORDINATOR = "coordinator";

  /** A worker: consumes tasks, writes results and logs. */
  public static final String WORKER = "worker";

  /** The cache-service: reads tenant records (index credentials, quotas). */
  public static final String CACHE_SERVICE = "cache-service";

  /** Git hooks / webhook bridges and {@code kiln push}: write pushes, follow builds. */
  public static final String PUSHER = "pusher";

  /** Deployers: consume image-ready and build-failed events. */
  public static final String DEPLOYER = "deployer";

  /** Every Kiln service principal, in the order of the table. */
  public static final List<String> PRINCIPALS =
      List.of(COORDINATOR, WORKER, CACHE_SERVICE, PUSHER, DEPLOYER);

  /**
   * The consumer group (id prefix) each consuming service joins; a service's group id must start
   * with it (e.g. {@code kiln-workers} or {@code kiln-workers-eu}).
   */
  public record Groups(String coordinator, String workers, String cacheService, String deployer) {
    public static final Groups DEFAULT =
        new Groups("kiln-coordinator", "kiln-workers", "kiln-cache-service", "kiln-deployer");
  }

  private KafkaAcls() {}

  /** The tenants topic (written by the coordinator, read by the cache-service). */
  static String tenantsTopic(Topics topics) {
    return topics.tenants();
  }

  /** Every binding of every principal, for the default consumer groups. */
  public static Map<String, List<AclBinding>> all(Topics topics) {
    return all(topics, Groups.DEFAULT);
  }

  /** Every binding of every principal. */
  public static Map<String, List<AclBinding>> all(Topics topics, Groups groups) {
    Map<String, List<AclBinding>> all = new LinkedHashMap<>();
    for (String principal : PRINCIPALS) {
      all.put(principal, forPrincipal(principal, topics, groups));
    }
    return all;
  }

  /**
   * The bindings for one service principal ({@code User:<principal>}) on a farm's topics.
   *
   * @throws IllegalArgumentException for a principal that is not a Kiln service
   */
  public static List<AclBinding> forPrincipal(String principal, Topics topics, Groups groups) {
    Grants grants = new Grants("User:" + principal);
    switch (principal) {
      case COORDINATOR -> {
        grants.prefixedTopics(topics.prefix() + "kiln.", AclOperation.CREATE);
        grants.topic(topics.push(), AclOperation.READ, AclOperation.WRITE);
        grants.topic(topics.results(), AclOperation.READ);
        grants.topic(topics.builds(), AclOperation.READ, AclOperation.WRITE);
        grants.topic(tenantsTopic(topics), AclOperation.READ, AclOperation.WRITE);
        grants.topic(topics.tasks(), AclOperation.WRITE);
        grants.topic(topics.imageReady(), AclOperation.WRITE);
        grants.topic(topics.buildFailed(), AclOperation.WRITE);
        grants.topic(topics.buildCancelled(), AclOperation.WRITE);
        grants.topic(topics.logs(), AclOperation.WRITE);
        grants.topic(topics.deadLetters(), AclOperation.WRITE);
        grants.group(groups.coordinator());
        grants.transactionalIds(groups.coordinator());
      }
      case WORKER -> {
        grants.topic(topics.tasks(), AclOperation.READ);
        grants.topic(topics.results(), AclOperation.WRITE);
        grants.topic(topics.logs(), AclOperation.WRITE);
        grants.topic(topics.deadLetters(), AclOperation.WRITE);
        grants.group(groups.workers());
      }
      case CACHE_SERVICE -> {
        grants.topic(tenantsTopic(topics), AclOperation.READ);
        grants.group(groups.cacheService());
      }
      case PUSHER -> {
        grants.topic(topics.push(), AclOperation.WRITE);
        // `kiln push` follows its build without a consumer group.
        grants.topic(topics.logs(), AclOperation.READ);
        grants.topic(topics.imageReady(), AclOperation.READ);
        grants.topic(topics.buildFailed(), AclOperation.READ);
        grants.topic(topics.buildCancelled(), AclOperation.READ);
      }
      case DEPLOYER -> {
        grants.topic(topics.imageReady(), AclOperation.READ);
        grants.topic(topics.buildFailed(), AclOperation.READ);
        grants.topic(topics.buildCancelled(), AclOperation.READ);
        grants.topic(topics.deployFailed(), AclOperation.WRITE);
        grants.topic(topics.deadLetters(), AclOperation.WRITE);
        grants.group(groups.deployer());
      }
      default ->
          throw new IllegalArgumentException(
              "'" + principal + "' is not a Kiln service principal; use one of " + PRINCIPALS);
    }
    return grants.bindings;
  }

  /**
   * The table of {@code docs/operations.md}: one row per principal and resource, operations joined,
   * for the default topic names and groups.
   */
  public static String markdownTable() {
    StringBuilder table = new StringBuilder();
    table.append("| principal | resource | pattern | operations |\n");
    table.append("|---|---|---|---|\n");
    for (Map.Entry<String, List<AclBinding>> entry : all(Topics.DEFAULT).entrySet()) {
      Map<String, List<String>> byResource = new LinkedHashMap<>();
      for (AclBinding binding : entry.getValue()) {
        ResourcePattern pattern = binding.pattern();
        String key =
            pattern.resourceType().name().toLowerCase(java.util.Locale.ROOT)
                + " `"
                + pattern.name()
                + "` | "
                + pattern.patternType().name().toLowerCase(java.util.Locale.ROOT);
        byResource
            .computeIfAbsent(key, k -> new ArrayList<>())
            .add(binding.entry().operation().name());
      }
      byResource.forEach(
          (resource, operations) ->
              table
                  .append("| `User:")
                  .append(entry.getKey())
                  .append("` | ")
                  .append(resource)
                  .append(" | ")
                  .append(String.join(", ", operations))
                  .append(" |\n"));
    }
    return table.toString();
  }

  /** Collects ALLOW bindings for one principal from any host. */
  private static final class Grants {
    private final String principal;
    private final List<AclBinding> bindings = new ArrayList<>();

    Grants(String principal) {
      this.principal = principal;
    }

    /** The operations on one topic, plus DESCRIBE (clients look up partitions first). */
    void topic(String name, AclOperation... operations) {
      ResourcePattern topic = new ResourcePattern(ResourceType.TOPIC, name, PatternType.LITERAL);
      for (AclOperation operation : operations) {
        allow(topic, operation);
      }
      allow(topic, AclOperation.DESCRIBE);
    }

    void prefixedTopics(String prefix, AclOperation operation) {
      allow(new ResourcePattern(ResourceType.TOPIC, prefix, PatternType.PREFIXED), operation);
    }

    /** Joining a group and committing its offsets (READ implies DESCRIBE). */
    void group(String idPrefix) {
      allow(
          new ResourcePattern(ResourceType.GROUP, idPrefix, PatternType.PREFIXED),
          AclOperation.READ);
    }

    /** Using transactional ids that start with the prefix (a transactional producer). */
    void transactionalIds(String idPrefix) {
      ResourcePattern ids =
          new ResourcePattern(ResourceType.TRANSACTIONAL_ID, idPrefix, PatternType.PREFIXED);
      allow(ids, AclOperation.WRITE);
      allow(ids, AclOperation.DESCRIBE);
    }

    private void allow(ResourcePattern resource, AclOperation operation) {
      bindings.add(
          new AclBinding(
              resource,
              new AccessControlEntry(principal, "*", operation, AclPermissionType.ALLOW)));
    }
  }
}
