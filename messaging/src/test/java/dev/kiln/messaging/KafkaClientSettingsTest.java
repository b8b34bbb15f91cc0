package dev.kiln.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaClientSettingsTest {
  private static final String JAAS =
      "org.apache.kafka.common.security.scram.ScramLoginModule required"
          + " username=\"worker\" password=\"s3cr3t-value\";";

  @TempDir Path tmp;

  @Test
  void aPropertiesFileIsReadAndEnvironmentVariablesWinOverIt() throws Exception {
    Path file = tmp.resolve("kafka.properties");
    Files.writeString(
        file,
        "security.protocol=SASL_SSL\n"
            + "sasl.mechanism=SCRAM-SHA-256\n"
            + "ssl.truststore.location=/etc/kiln/truststore.p12\n");
    KafkaClientSettings settings =
        KafkaClientSettings.load(
            null,
            Map.of(
                "KILN_KAFKA_PROPERTIES", file.toString(),
                "KILN_KAFKA", "broker:9093",
                "KILN_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512",
                "KILN_KAFKA_SASL_JAAS_CONFIG", JAAS,
                "KILN_HOME", "/srv/kiln"));
    assertThat(settings.properties())
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                "security.protocol", "SASL_SSL",
                "sasl.mechanism", "SCRAM-SHA-512",
                "sasl.jaas.config", JAAS,
                "ssl.truststore.location", "/etc/kiln/truststore.p12"));
  }

  @Test
  void anExplicitFileWinsOverTheVariableNamingOne() throws Exception {
    Path file = tmp.resolve("a.properties");
    Files.writeString(file, "security.protocol=SSL\n");
    KafkaClientSettings settings =
        KafkaClientSettings.load(file, Map.of("KILN_KAFKA_PROPERTIES", "/nonexistent"));
    assertThat(settings.properties()).containsExactlyEntriesOf(Map.of("security.protocol", "SSL"));
  }

  @Test
  void thePropertiesFilesInDocsOperationsAreAccepted() throws Exception {
    String docs = Files.readString(Path.of("..", "docs", "operations.md"));
    java.util.regex.Matcher blocks =
        java.util.regex.Pattern.compile("```properties\n(.*?)```", java.util.regex.Pattern.DOTALL)
            .matcher(docs);
    int checked = 0;
    while (blocks.find()) {
      Path file = tmp.resolve("docs-" + checked++ + ".properties");
      Files.writeString(file, blocks.group(1));
      KafkaClientSettings settings = KafkaClientSettings.load(file, Map.of());
      assertThat(settings.properties()).containsKey("security.protocol");
      assertThat(settings.toString()).doesNotContain("password=\"<");
    }
    assertThat(checked).isGreaterThanOrEqualTo(2); // SASL/SCRAM and mTLS
  }

  @Test
  void variableNamesMapToPropertyNames() {
    assertThat(KafkaClientSettings.propertyName("KILN_KAFKA_SECURITY_PROTOCOL"))
        .isEqualTo("security.protocol");
    assertThat(KafkaClientSettings.propertyName("KILN_KAFKA_SSL_KEYSTORE_LOCATION"))
        .isEqualTo("ssl.keystore.location");
    assertThat(KafkaClientSettings.propertyName("KILN_KAFKA_A__B___C")).isEqualTo("a_b-c");
  }

  @Test
  void secretsNeverAppearWhenTheSettingsAreShown() {
    KafkaClientSettings settings =
        KafkaClientSettings.of(
            Map.of(
                "security.protocol", "SASL_SSL",
                "sasl.jaas.config", JAAS,
                "ssl.truststore.password", "trust-pass",
                "ssl.keystore.password", "key-store-pass",
                "ssl.key.password", "key-pass",
                "ssl.keystore.key", "-----BEGIN PRIVATE KEY-----abc"));
    String shown = settings + " " + settings.describe();
    assertThat(shown)
        .contains("security.protocol=SASL_SSL", "sasl.jaas.config=****")
        .doesNotContain("s3cr3t-value", "trust-pass", "key-store-pass", "key-pass", "BEGIN");
    assertThat(settings.properties()).containsEntry("sasl.jaas.config", JAAS);
  }

  @Test
  void settingsKilnOwnsAreRefusedWithWhereToSetThem() {
    assertThatThrownBy(() -> KafkaClientSettings.of(Map.of("bootstrap.servers", "x:9092")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--kafka / KILN_KAFKA");
    assertThatThrownBy(
            () -> KafkaClientSettings.load(null, Map.of("KILN_KAFKA_ENABLE_AUTO_COMMIT", "true")))
        .hasMessageContaining("KILN_KAFKA_ENABLE_AUTO_COMMIT")
        .hasMessageContaining("Kiln sets enable.auto.commit itself");
    assertThatThrownBy(() -> KafkaClientSettings.of(Map.of("acks", "1")))
        .hasMessageContaining("Kiln sets acks itself");
  }

  @Test
  void aMisspelledSettingIsRefusedRatherThanIgnored() throws Exception {
    assertThatThrownBy(
            () -> KafkaClientSettings.load(null, Map.of("KILN_KAFKA_SASL_MECHANSIM", "PLAIN")))
        .hasMessageContaining("'sasl.mechansim' is not a Kafka")
        .hasMessageContaining("KILN_KAFKA_SASL_MECHANSIM");
    Path file = tmp.resolve("typo.properties");
    Files.writeString(file, "securty.protocol=SSL\n");
    assertThatThrownBy(() -> KafkaClientSettings.load(file, Map.of()))
        .hasMessageContaining("securty.protocol")
        .hasMessageContaining(file.toString());
  }

  @Test
  void aMissingFileOrEmptyValueIsAClearError() {
    assertThatThrownBy(() -> KafkaClientSettings.load(tmp.resolve("nope.properties"), Map.of()))
        .hasMessageContaining("does not exist")
        .hasMessageContaining("--kafka-properties");
    assertThatThrownBy(
            () -> KafkaClientSettings.load(null, Map.of("KILN_KAFKA_SECURITY_PROTOCOL", " ")))
        .hasMessageContaining("is empty");
  }

  @Test
  void settingsAreAddedToKilnsOwnAndWinOverItsDefaults() {
    KafkaClientSettings settings =
        KafkaClientSettings.of(Map.of("security.protocol", "SSL", "request.timeout.ms", "60000"));
    assertThat(
            settings.applyTo(Map.of("bootstrap.servers", "b:9093", "request.timeout.ms", "30000")))
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                "bootstrap.servers", "b:9093",
                "security.protocol", "SSL",
                "request.timeout.ms", "60000"));
    assertThat(KafkaClientSettings.none().applyTo(Map.of("a", "b"))).isEqualTo(Map.of("a", "b"));
  }
}
