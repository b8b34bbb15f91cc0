package dev.kiln.messaging;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigDef;

/**
 * Kafka client settings an operator gives every producer, consumer and admin client of a Kiln
 * service: security ({@code security.protocol}, {@code sasl.*}, {@code ssl.*}) and tuning. They
 * come from a properties file ({@code --kafka-properties} / {@code KILN_KAFKA_PROPERTIES}) and
 * {@code KILN_KAFKA_<NAME>} environment variables, which win over the file: {@code
 * KILN_KAFKA_SECURITY_PROTOCOL} is {@code security.protocol} ({@code _} → {@code .}, {@code __} →
 * {@code _}, {@code ___} → {@code -}).
 *
 * <p>Settings Kiln decides itself (the bootstrap servers, serializers, consumer groups, commits,
 * acknowledgements) are refused: changing them would break delivery guarantees. Secret values
 * ({@code sasl.jaas.config}, passwords, private keys) never appear in {@link #toString()} or {@link
 * #describe()}.
 */
public final class KafkaClientSettings {
  /** The environment variable naming the properties file. */
  public static final String PROPERTIES_ENV = "KILN_KAFKA_PROPERTIES";

  /** The prefix of environment variables that set one property each. */
  public static final String ENV_PREFIX = "KILN_KAFKA_";

  /** The bootstrap servers' own variable ({@code --kafka}); not a client property. */
  private static final String BOOTSTRAP_ENV = "KILN_KAFKA";

  private static final String MASK = "****";

  /** Properties Kiln sets on its clients itself, with where to set them instead. */
  private static final Map<String, String> KILN_OWNED =
      Map.ofEntries(
          Map.entry("bootstrap.servers", "give the brokers with --kafka / KILN_KAFKA"),
          Map.entry("key.serializer", "Kiln's events are string keys"),
          Map.entry("value.serializer", "Kiln's events are CloudEvents in binary mode"),
          Map.entry("key.deserializer", "Kiln's events are string keys"),
          Map.entry("value.deserializer", "Kiln's events are CloudEvents in binary mode"),
          Map.entry("group.id", "each service names its own consumer group"),
          Map.entry("group.instance.id", "each service names its own consumer group members"),
          Map.entry("enable.auto.commit", "offsets are committed after each record's effects"),
          Map.entry("auto.offset.reset", "a new group must see records sent before it started"),
          Map.entry("isolation.level", "each reader chooses what it must see"),
          Map.entry("acks", "every send waits for all in-sync replicas"),
          Map.entry("enable.idempotence", "retried sends must never duplicate a record"),
          Map.entry(
              "transactional.id", "the coordinator names its own: <consumer group>-<instance id>"));

  /** Property names whose values are secrets, besides Kafka's own PASSWORD-typed settings. */
  private static final Pattern SECRET_NAME =
      Pattern.compile("(?i).*(password|secret|jaas|credential|token|\\.key$|keystore\\.key).*");

  private static final Set<String> KNOWN_NAMES;
  private static final Set<String> PASSWORD_NAMES;

  static {
    Set<String> known = new HashSet<>();
    Set<String> passwords = new HashSet<>();
    for (ConfigDef def :
        new ConfigDef[] {
          ProducerConfig.configDef(), ConsumerConfig.configDef(), AdminClientConfig.configDef()
        }) {
      def.configKeys()
          .forEach(
              (name, key) -> {
                known.add(name);
                if (key.type == ConfigDef.Type.PASSWORD) {
                  passwords.add(name);
                }
              });
    }
    KNOWN_NAMES = Collections.unmodifiableSet(known);
    PASSWORD_NAMES = Collections.unmodifiableSet(passwords);
  }

  private static final KafkaClientSettings NONE = new KafkaClientSettings(Map.of());

  private final Map<String, String> properties;

  private KafkaClientSettings(Map<String, String> properties) {
    this.properties = Collections.unmodifiableMap(new TreeMap<>(properties));
  }

  /** No extra settings: a plaintext, unauthenticated cluster (the embedded broker). */
  public static KafkaClientSettings none() {
    return NONE;
  }

  /**
   * These settings, checked: each name must be a Kafka producer, consumer or admin setting that
   * Kiln does not set itself.
   *
   * @throws IllegalArgumentException naming the first wrong setting and how to fix it
   */
  public static KafkaClientSettings of(Map<String, String> properties) {
    if (properties == null || properties.isEmpty()) {
      return NONE;
    }
    Map<String, String> checked = new LinkedHashMap<>();
    properties.forEach(
        (name, value) -> {
          check(name, value, "setting");
          checked.put(name.strip(), value.strip());
        });
    return new KafkaClientSettings(checked);
  }

  /**
   * The settings of a properties file (or none when {@code file} is null) with every {@code
   * KILN_KAFKA_*} variable of {@code env} applied on top.
   *
   * @param file the properties file from {@code --kafka-properties}; when null, {@code
   *     KILN_KAFKA_PROPERTIES} in {@code env} names it, if set
   * @throws IllegalArgumentException when the file cannot be read or a setting is wrong
   */
  public static KafkaClientSettings load(Path file, Map<String, String> env) {
    Map<String, String> merged = new LinkedHashMap<>();
    Path source = file;
    if (source == null) {
      String fromEnv = env.get(PROPERTIES_ENV);
      source = fromEnv == null || fromEnv.isBlank() ? null : Path.of(fromEnv.strip());
    }
    if (source != null) {
      merged.putAll(readFile(source));
    }
    for (Map.Entry<String, String> variable : new TreeMap<>(env).entrySet()) {
      String name = variable.getKey();
      if (!name.startsWith(ENV_PREFIX)
          || name.equals(PROPERTIES_ENV)
          || name.equals(BOOTSTRAP_ENV)) {
        continue;
      }
      String property = propertyName(name);
      check(property, variable.getValue(), "environment variable " + name + " (" + property + ")");
      merged.put(property, variable.getValue().strip());
    }
    return merged.isEmpty() ? NONE : new KafkaClientSettings(merged);
  }

  /** Reads the file from {@code --kafka-properties} or {@code KILN_KAFKA_PROPERTIES} and env. */
  public static KafkaClientSettings fromEnvironment(Path file) {
    return load(file, System.getenv());
  }

  /** {@code KILN_KAFKA_SASL_JAAS_CONFIG} → {@code sasl.jaas.config}. */
  static String propertyName(String variable) {
    String rest = variable.substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT);
    return rest.replace("___", "\u0000")
        .replace("__", "\u0001")
        .replace('_', '.')
        .replace('\u0000', '-')
        .replace('\u0001', '_');
  }

  private static Map<String, String> readFile(Path file) {
    Properties props = new Properties();
    try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      props.load(reader);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(
          "the Kafka properties file "
              + file
              + " does not exist; fix --kafka-properties / "
              + PROPERTIES_ENV
              + " or create it (see docs/operations.md)");
    } catch (IOException | IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "could not read the Kafka properties file " + file + ": " + e.getMessage(), e);
    }
    Map<String, String> read = new LinkedHashMap<>();
    for (String name : new java.util.TreeSet<>(props.stringPropertyNames())) {
      String value = props.getProperty(name);
      check(name, value, "setting " + name + " in " + file);
      read.put(name.strip(), value.strip());
    }
    return read;
  }

  private static void check(String name, String value, String where) {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("a Kafka client " + where + " has no name");
    }
    String key = name.strip();
    String owned = KILN_OWNED.get(key);
    if (owned != null) {
      throw new IllegalArgumentException(
          "Kafka client "
              + where
              + ": Kiln sets "
              + key
              + " itself ("
              + owned
              + "); remove it from the Kafka properties");
    }
    if (!KNOWN_NAMES.contains(key)) {
      throw new IllegalArgumentException(
          "Kafka client "
              + where
              + ": '"
              + key
              + "' is not a Kafka producer, consumer or admin client setting; check its spelling"
              + " (e.g. security.protocol, sasl.mechanism, sasl.jaas.config,"
              + " ssl.truststore.location)");
    }
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(
          "Kafka client " + where + " is empty; give it a value or remove it");
    }
  }

  /** True when the value of {@code name} must never be shown. */
  public static boolean isSecret(String name) {
    return PASSWORD_NAMES.contains(name) || SECRET_NAME.matcher(name).matches();
  }

  /** The settings, to hand to a Kafka client. Contains secrets: never log it. */
  public Map<String, String> properties() {
    return properties;
  }

  public boolean isEmpty() {
    return properties.isEmpty();
  }

  /**
   * {@code base} (Kiln's own settings for one client) with these settings added; a setting given
   * here wins over a default in {@code base}.
   */
  public Map<String, String> applyTo(Map<String, String> base) {
    Map<String, String> merged = new LinkedHashMap<>(base);
    merged.putAll(properties);
    return merged;
  }

  /** {@link #applyTo(Map)} for clients configured with objects. */
  public Map<String, Object> applyToObjects(Map<String, ?> base) {
    Map<String, Object> merged = new LinkedHashMap<>(base);
    merged.putAll(properties);
    return merged;
  }

  /** The settings with every secret value masked, e.g. for a start-up log line. */
  public Map<String, String> describe() {
    Map<String, String> shown = new TreeMap<>();
    properties.forEach((name, value) -> shown.put(name, isSecret(name) ? MASK : value));
    return shown;
  }

  @Override
  public String toString() {
    return "KafkaClientSettings" + describe();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KafkaClientSettings other && properties.equals(other.properties);
  }

  @Override
  public int hashCode() {
    return properties.hashCode();
  }
}
