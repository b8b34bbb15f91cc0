package dev.kiln.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * A real single-node KRaft Kafka broker (combined broker + controller) in this JVM, on free ports
 * on 127.0.0.1. Used by the tests and by {@code kiln up}'s embedded default.
 */
public final class EmbeddedKafka implements AutoCloseable {
  private final KafkaClusterTestKit cluster;

  private EmbeddedKafka(KafkaClusterTestKit cluster) {
    this.cluster = cluster;
  }

  /** A throw-away broker whose data is deleted on close. */
  public static EmbeddedKafka start() {
    return start(null);
  }

  /**
   * A broker keeping its data under {@code dataDir} (wiped and formatted at every start: the
   * embedded broker is for one farm process; use {@code --kafka} for durable state).
   */
  public static EmbeddedKafka start(Path dataDir) {
    try {
      TestKitNodes.Builder nodes =
          new TestKitNodes.Builder()
              .setCombined(true)
              .setNumBrokerNodes(1)
              .setNumControllerNodes(1);
      if (dataDir != null) {
        Files.createDirectories(dataDir);
        deleteRecursively(dataDir);
        Files.createDirectories(dataDir);
        nodes.setBaseDirectory(dataDir);
      }
      KafkaClusterTestKit cluster =
          new KafkaClusterTestKit.Builder(nodes.build())
              .setDeleteOnClose(dataDir == null)
              .setConfigProp("offsets.topic.replication.factor", "1")
              .setConfigProp("transaction.state.log.replication.factor", "1")
              .setConfigProp("transaction.state.log.min.isr", "1")
              .setConfigProp("group.initial.rebalance.delay.ms", "0")
              .setConfigProp("auto.create.topics.enable", "false")
              .setConfigProp("log.cleaner.backoff.ms", "1000")
              .build();
      formatQuietly(cluster);
      cluster.startup();
      cluster.waitForReadyBrokers();
      return new EmbeddedKafka(cluster);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while starting the embedded Kafka broker", e);
    } catch (Exception e) {
      throw new IllegalStateException(
          "the embedded Kafka broker did not start: " + e.getMessage(), e);
    }
  }

  /** {@code host:port} for {@code bootstrap.servers}. */
  public String bootstrapServers() {
    return cluster.bootstrapServers();
  }

  /** Client settings for this broker, ready for a producer, consumer or admin client. */
  public Map<String, String> clientConfig() {
    return Map.of("bootstrap.servers", Objects.requireNonNull(bootstrapServers()));
  }

  @Override
  public void close() {
    try {
      cluster.close();
    } catch (Exception e) {
      throw new IllegalStateException("the embedded Kafka broker did not stop cleanly", e);
    }
  }

  /**
   * The storage formatter prints its bootstrap metadata straight to standard output, which would
   * end up between a command's own output lines; it runs once, before any other thread of ours.
   */
  private static void formatQuietly(KafkaClusterTestKit cluster) throws Exception {
    java.io.PrintStream stdout = System.out;
    System.setOut(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
    try {
      cluster.format();
    } finally {
      System.setOut(stdout);
    }
  }

  private static void deleteRecursively(Path dir) throws java.io.IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (var paths = Files.walk(dir)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
