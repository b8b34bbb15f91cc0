package dev.kiln.coordinator;

import dev.kiln.testkit.EmbeddedKafka;

/**
 * One real broker for every test class in this JVM (each test uses its own topic prefix and
 * consumer groups, so tests do not see each other's events). Starting a broker costs seconds.
 */
final class SharedKafka {
  private static EmbeddedKafka kafka;

  private SharedKafka() {}

  static synchronized String bootstrapServers() {
    if (kafka == null) {
      kafka = EmbeddedKafka.start();
      EmbeddedKafka started = kafka;
      Runtime.getRuntime().addShutdownHook(new Thread(started::close, "embedded-kafka-stop"));
    }
    return kafka.bootstrapServers();
  }
}
