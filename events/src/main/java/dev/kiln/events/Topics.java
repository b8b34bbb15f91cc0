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

  /** Push events from webhooks and {@code kiln push}; keyed by build id. */
  public String push() {
    return prefix + "kiln.push";
  }

  /** DETECT / INSTALL / ASSEMBLE tasks; keyed by build id, INSTALL by dependency-set digest. */
  public String tasks() {
    return prefix + "kiln.tasks";
  }

  /** Task results from workers; keyed by build id. */
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
        new Spec(logs(), 6, false),
        new Spec(builds(), 6, true),
        new Spec(tenants(), 1, true),
        new Spec(deadLetters(), 1, false));
  }
}
