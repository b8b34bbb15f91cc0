package dev.kiln.events;

import java.util.List;
import java.util.Objects;

/**
 * Every Kafka topic Kiln uses, with its partition count and cleanup policy, in one place.
 *
 * <p>Topic names may carry a prefix so several farms (or tests) can share one cluster without
 * seeing each other's events.
 */
public final class Topics {

  /** A topic Kiln creates at start-up. */
  public record Spec(String name, int partitions, boolean compacted) {}

  public static final Topics DEFAULT = new Topics("");

  private final String prefix;

  private Topics(String prefix) {
    this.prefix = Objects.requireNonNull(prefix);
  }

  /** Topics whose names all start with {@code prefix} (for example {@code "tenant-a."}). */
  public static Topics withPrefix(String prefix) {
    if (!prefix.matches("[A-Za-z0-9._-]*")) {
      throw new IllegalArgumentException(
          "topic prefix '" + prefix + "' may only contain letters, digits, '.', '_' and '-'");
    }
    return new Topics(prefix);
  }

  public String prefix() {
    return prefix;
  }

  /**
   * The key of an app's records on {@code kiln.push} and {@code kiln.results}: all of one app's
   * pushes, results and snapshots share a partition number, so one coordinator owns every build of
   * the app (which push supersedes which, the sticky Python version).
   */
  public static String appKey(String tenant, String app) {
    return tenant + "/" + app;
  }

  /**
   * The partition of an app's records among {@code partitions}: the one Kafka's default partitioner
   * picks for {@link #appKey}, and the one the coordinator writes the app's snapshots to on {@code
   * kiln.builds} (whose key is the build id, for compaction).
   */
  public static int appPartition(String tenant, String app, int partitions) {
    byte[] key = appKey(tenant, app).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    return org.apache.kafka.common.utils.Utils.toPositive(
            org.apache.kafka.common.utils.Utils.murmur2(key))
        % partitions;
  }

  /** Push events from webhooks and {@code kiln push}; keyed by {@link #appKey tenant/app}. */
  public String push() {
    return prefix + "kiln.push";
  }

  /** DETECT / INSTALL / ASSEMBLE tasks; keyed by build id, INSTALL by dependency-set digest. */
  public String tasks() {
    return prefix + "kiln.tasks";
  }

  /** Task results and lease heartbeats from workers; keyed by {@link #appKey tenant/app}. */
  public String results() {
    return prefix + "kiln.results";
  }

  /** One event per successful build, for deployers; keyed by tenant/app. */
  public String imageReady() {
    return prefix + "kiln.image-ready";
  }

  /** One event per failed build; keyed by tenant/app. */
  public String buildFailed() {
    return prefix + "kiln.build-failed";
  }

  /**
   * One event per build a later push to the same app and branch superseded, naming the newer build;
   * keyed by tenant/app.
   */
  public String buildCancelled() {
    return prefix + "kiln.build-cancelled";
  }

  /**
   * One event per image a deployer could not bring up (the app kept its previous version); keyed by
   * tenant/app.
   */
  public String deployFailed() {
    return prefix + "kiln.deploy-failed";
  }

  /** Build log lines; keyed by build id so a build's lines stay in order. */
  public String logs() {
    return prefix + "kiln.logs";
  }

  /** Compacted build snapshots: the coordinator's state, keyed by build id. */
  public String builds() {
    return prefix + "kiln.builds";
  }

  /** Compacted tenant records (tokens as hashes, secrets sealed), keyed by tenant name. */
  public String tenants() {
    return prefix + "kiln.tenants";
  }

  /** Malformed input, with the reason in the {@code kiln_dlq_*} headers. */
  public String deadLetters() {
    return prefix + "kiln.dlq";
  }

  /** Every topic with the partition count and cleanup policy it is created with. */
  public List<Spec> all() {
    return List.of(
        new Spec(push(), 6, false),
        new Spec(tasks(), 12, false),
        new Spec(results(), 6, false),
        new Spec(imageReady(), 3, false),
        new Spec(buildFailed(), 3, false),
        new Spec(buildCancelled(), 3, false),
        new Spec(deployFailed(), 3, false),
        new Spec(logs(), 6, false),
        new Spec(builds(), 6, true),
        new Spec(tenants(), 1, true),
        new Spec(deadLetters(), 1, false));
  }
}
