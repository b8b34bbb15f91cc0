package dev.kiln.worker;

import dev.kiln.events.Topics;
import dev.kiln.messaging.KafkaClientSettings;
import dev.kiln.worker.fetch.FetchLimits;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Settings of one worker.
 *
 * @param workerId this worker's name in results, logs and Kafka client ids
 * @param bootstrapServers Kafka {@code host:port[,…]}
 * @param topics the farm's topics (with its prefix)
 * @param consumerGroup the consumer group all workers of the farm share on {@code kiln.tasks}
 * @param workDir local state kept between tasks: checkouts, scratch directories, pip's cache,
 *     unpacked layers; created if missing
 * @param cacheServiceUrl the cache-service, e.g. {@code http://127.0.0.1:8790}
 * @param concurrency how many tasks run at once (each on its own worker thread)
 * @param gitTimeout the longest one git command may run
 * @param kafkaConsumerSettings extra consumer settings that override the defaults (e.g. {@code
 *     max.poll.interval.ms}); never {@code enable.auto.commit}
 * @param kafkaClient the operator's Kafka client settings (security, tuning) for the worker's
 *     consumer and producer; null for none
 * @param farmToken the farm credential the cache-service asks of workers (and the sandbox's relay
 *     adds for it); null only for a cache-service without authentication
 * @param sourceRoot the directory of the farm's local repositories: a tenant may fetch {@code
 *     file://} repositories only under {@code <sourceRoot>/<tenant>/}; null (the default): no local
 *     repositories at all
 * @param fetchLimits timeouts and size limits of one fetch; null: {@link FetchLimits#DEFAULT}
 */
public record WorkerConfig(
    String workerId,
    String bootstrapServers,
    Topics topics,
    String consumerGroup,
    Path workDir,
    String cacheServiceUrl,
    int concurrency,
    Duration gitTimeout,
    Map<String, String> kafkaConsumerSettings,
    KafkaClientSettings kafkaClient,
    String farmToken,
    Path sourceRoot,
    FetchLimits fetchLimits) {

  public static final String DEFAULT_CONSUMER_GROUP = "kiln-workers";

  public WorkerConfig {
    requireText(workerId, "workerId", "e.g. worker-1");
    requireText(bootstrapServers, "bootstrapServers", "e.g. 127.0.0.1:9092");
    Objects.requireNonNull(topics, "topics");
    requireText(consumerGroup, "consumerGroup", "e.g. " + DEFAULT_CONSUMER_GROUP);
    Objects.requireNonNull(workDir, "workDir: the worker's state directory is required");
    requireText(cacheServiceUrl, "cacheServiceUrl", "e.g. http://127.0.0.1:8790");
    if (concurrency < 1) {
      throw new IllegalArgumentException(
          "concurrency is " + concurrency + "; a worker runs at least 1 task at a time");
    }
    gitTimeout = gitTimeout == null ? Duration.ofMinutes(10) : gitTimeout;
    kafkaConsumerSettings =
        kafkaConsumerSettings == null ? Map.of() : Map.copyOf(kafkaConsumerSettings);
    if ("true".equalsIgnoreCase(kafkaConsumerSettings.get("enable.auto.commit"))) {
      throw new IllegalArgumentException(
          "enable.auto.commit=true would commit tasks before their results exist; the worker"
              + " commits each task itself once its result is acknowledged");
    }
    kafkaClient = kafkaClient == null ? KafkaClientSettings.none() : kafkaClient;
    sourceRoot = sourceRoot == null ? null : sourceRoot.toAbsolutePath().normalize();
    fetchLimits = fetchLimits == null ? FetchLimits.DEFAULT : fetchLimits;
  }

  /** A worker with the default group, git timeout and Kafka settings. */
  public static WorkerConfig of(
      String workerId,
      String bootstrapServers,
      Topics topics,
      Path workDir,
      String cacheServiceUrl,
      int concurrency) {
    return new WorkerConfig(
        workerId,
        bootstrapServers,
        topics,
        DEFAULT_CONSUMER_GROUP,
        workDir,
        cacheServiceUrl,
        concurrency,
        null,
        Map.of(),
        KafkaClientSettings.none(),
        null,
        null,
        null);
  }

  public WorkerConfig withConsumerGroup(String group) {
    return new WorkerConfig(
        workerId,
        bootstrapServers,
        topics,
        group,
        workDir,
        cacheServiceUrl,
        concurrency,
        gitTimeout,
        kafkaConsumerSettings,
        kafkaClient,
        farmToken,
        sourceRoot,
        fetchLimits);
  }

  public WorkerConfig withKafkaConsumerSetting(String name, String value) {
    Map<String, String> settings = new LinkedHashMap<>(kafkaConsumerSettings);
    settings.put(name, value);
    return new WorkerConfig(
        workerId,
        bootstrapServers,
        topics,
        consumerGroup,
        workDir,
        cacheServiceUrl,
        concurrency,
        gitTimeout,
        settings,
        kafkaClient,
        farmToken,
        sourceRoot,
        fetchLimits);
  }

  /** The same worker with the operator's Kafka client settings (SASL, TLS, …). */
  public WorkerConfig withKafkaClient(KafkaClientSettings kafkaClient) {
    return new WorkerConfig(
        workerId,
        bootstrapServers,
        topics,
        consumerGroup,
        workDir,
        cacheServiceUrl,
        concurrency,
        gitTimeout,
        kafkaConsumerSettings,
        kafkaClient,
        farmToken,
        sourceRoot,
        fetchLimits);
  }

  /** Local repositories may be fetched from {@code <root>/<tenant>/} only. */
  public WorkerConfig withSourceRoot(Path root) {
    return new WorkerConfig(
        workerId,
        bootstrapServers,
        topics,
        consumerGroup,
        workDir,
        cacheServiceUrl,
        concurrency,
        gitTimeout,
        kafkaConsumerSettings,
        kafkaClient,
        farmToken,
        root,
        fetchLimits);
  }

  public WorkerConfig withFetchLimits(FetchLimits limits) {
    return new WorkerConfig(
        workerId,
        bootstrapServers,
        topics,
        consumerGroup,
        workDir,
        cacheServiceUrl,
        concurrency,
        gitTimeout,
        kafkaConsumerSettings,
        kafkaClient,
        farmToken,
        sourceRoot,
        limits);
  }

  /** The farm credential for the cache-service. */
  public WorkerConfig withFarmToken(String token) {
    return new WorkerConfig(
        workerId,
        bootstrapServers,
        topics,
        consumerGroup,
        workDir,
        cacheServiceUrl,
        concurrency,
        gitTimeout,
        kafkaConsumerSettings,
        kafkaClient,
        token,
        sourceRoot,
        fetchLimits);
  }

  @Override
  public String toString() {
    // The farm token and Kafka credentials are secrets: never in a log line.
    return "WorkerConfig["
        + workerId
        + ", "
        + bootstrapServers
        + ", "
        + cacheServiceUrl
        + ", kafka "
        + kafkaClient
        + "]";
  }

  private static void requireText(String value, String name, String example) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(name + " is required (" + example + ")");
    }
  }
}
