package dev.kiln.coordinator;

import dev.kiln.broker.EmbeddedKafka;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One real broker for every test class of the run (each test uses its own topic prefix and consumer
 * groups, so tests do not see each other's events); starting a broker costs seconds. It lives in
 * JUnit's root store, so JUnit closes it after the last test, before the JVM exits (closing it from
 * a shutdown hook races the test kit's own temp-dir cleanup).
 */
final class SharedKafka implements BeforeAllCallback {
  private static volatile String bootstrapServers;

  @Override
  public void beforeAll(ExtensionContext context) {
    EmbeddedKafka kafka =
        context
            .getRoot()
            .getStore(ExtensionContext.Namespace.GLOBAL)
            .getOrComputeIfAbsent(
                EmbeddedKafka.class.getName(), key -> EmbeddedKafka.start(), EmbeddedKafka.class);
    bootstrapServers = kafka.bootstrapServers();
  }

  static String bootstrapServers() {
    if (bootstrapServers == null) {
      throw new IllegalStateException(
          "annotate the test class with @ExtendWith(SharedKafka.class)");
    }
    return bootstrapServers;
  }
}
