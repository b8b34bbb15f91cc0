package dev.kiln.coordinator;

import dev.kiln.events.Topics;
import dev.kiln.events.security.SecretBox;
import dev.kiln.events.security.Tokens;
import dev.kiln.messaging.KafkaClientSettings;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Everything a coordinator needs to run.
 *
 * @param bootstrapServers Kafka {@code host:port[,host:port…]}
 * @param topics the farm's topics (a prefix lets several farms or tests share a cluster)
 * @param host the address the HTTP API binds to, e.g. {@code 127.0.0.1}
 * @param httpPort the HTTP API's port; 0 picks a free one (see {@link
 *     CoordinatorVerticle#actualHttpPort()})
 * @param consumerGroup the Kafka consumer group for {@code kiln.push} and {@code kiln.results}
 * @param cacheServiceUrl the cache-service base URL (e.g. {@code http://127.0.0.1:8081}) whose
 *     action cache can make an INSTALL unnecessary; null to always install
 * @param instanceId names this coordinator in client ids, logs and dead-letter headers, and makes
 *     its transactional id ({@code <consumerGroup>-<instanceId>}): unique per running replica, the
 *     same across restarts of one replica (a restart then fences the previous incarnation)
 * @param operatorTokenSha256 hex SHA-256 of the operator token ({@code KILN_OPERATOR_TOKEN}); null
 *     means no operator: only tenant tokens are accepted (the API is never open)
 * @param secretKey base64 of the 32-byte key that seals tenant secrets ({@code KILN_SECRET_KEY});
 *     null means index passwords cannot be set (the API says so)
 * @param sourceRoot the directory under which {@code file://} repositories live; a tenant whose
 *     {@code sources} list is empty may fetch only from {@code file://<sourceRoot>/<tenant>/}.
 *     Null: such a tenant may fetch nothing until sources are configured
 * @param autoCreateTenants a push by the operator for a tenant that does not exist creates it (with
 *     the default sources and quotas) instead of failing {@code tenant::unknown}; for the
 *     single-machine farm of {@code kiln up}, never for a shared farm
 * @param kafkaClient the operator's Kafka client settings (security, tuning) for every producer,
 *     consumer and admin client of the coordinator; null for none
 * @param farmToken the farm credential for the cache-service's action cache; null when it asks for
 *     none
 * @param taskLease how long a task may go without a sign of life from its worker (workers renew the
 *     lease every third of it while they work) before the coordinator issues it again with the next
 *     attempt; null for {@link #DEFAULT_TASK_LEASE}
 * @param maxTaskAttempts how many times one step is issued before the build fails {@code
 *     worker::lost}; 0 for {@link #DEFAULT_MAX_TASK_ATTEMPTS}
 * @param buildRetention how long a finished build is kept (listed, served, in {@code kiln.builds})
 *     after it ended; then it is deleted with a tombstone. An app's latest successful build is kept
 *     whatever its age (it holds the app's sticky Python version). Null for {@link
 *     #DEFAULT_BUILD_RETENTION}
 */
public record CoordinatorConfig(
    String bootstrapServers,
    Topics topics,
    String host,
    int httpPort,
    String consumerGroup,
    String cacheServiceUrl,
    String instanceId,
    String operatorTokenSha256,
    String secretKey,
    Path sourceRoot,
    boolean autoCreateTenants,
    KafkaClientSettings kafkaClient,
    String farmToken,
    Duration taskLease,
    int maxTaskAttempts,
    Duration buildRetention) {

  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final String DEFAULT_CONSUMER_GROUP = "kiln-coordinator";

  /**
   * A minute: long enough that a worker whose renewals are delayed by a GC pause or a slow broker
   * keeps its task, short enough that a killed worker's build moves on soon.
   */
  public static final Duration DEFAULT_TASK_LEASE = Duration.ofSeconds(60);

  public static final int DEFAULT_MAX_TASK_ATTEMPTS = 3;

  /** Shorter leases would make the workers' renewals a noticeable load on kiln.results. */
  public static final Duration MIN_TASK_LEASE = Duration.ofMillis(500);

  public static final int MAX_MAX_TASK_ATTEMPTS = 100;

  /** A week: long enough to look into last week's failures, short enough to bound the state. */
  public static final Duration DEFAULT_BUILD_RETENTION = Duration.ofDays(7);

  public static final Duration MIN_BUILD_RETENTION = Duration.ofSeconds(1);

  public CoordinatorConfig {
    requireText(
        bootstrapServers, "bootstrapServers", "the Kafka bootstrap servers, e.g. 127.0.0.1:9092");
    Objects.requireNonNull(topics, "topics: pass Topics.DEFAULT or Topics.withPrefix(...)");
    requireText(host, "host", "the address to bind the HTTP API to, e.g. 127.0.0.1");
    if (httpPort < 0 || httpPort > 65535) {
      throw new IllegalArgumentException(
          "httpPort is " + httpPort + "; use 0 for a free port or a port from 1 to 65535");
    }
    requireText(
        consumerGroup,
        "consumerGroup",
        "a Kafka consumer group id, e.g. " + DEFAULT_CONSUMER_GROUP);
    requireText(instanceId, "instanceId", "a name for this coordinator, e.g. coordinator-1");
    if (operatorTokenSha256 != null) {
      if (!Tokens.isSha256Hex(operatorTokenSha256)) {
        throw new IllegalArgumentException(
            "operatorTokenSha256 is not 64 hex digits; give the SHA-256 of the operator token"
                + " (`printf %s \"$KILN_OPERATOR_TOKEN\" | sha256sum`), never the token itself");
      }
      operatorTokenSha256 = operatorTokenSha256.toLowerCase(java.util.Locale.ROOT);
    }
    if (secretKey != null) {
      SecretBox.fromBase64(secretKey); // fails with what is wrong with the key
    }
    kafkaClient = kafkaClient == null ? KafkaClientSettings.none() : kafkaClient;
    taskLease = taskLease == null ? DEFAULT_TASK_LEASE : taskLease;
    if (taskLease.compareTo(MIN_TASK_LEASE) < 0) {
      throw new IllegalArgumentException(
          "taskLease is "
              + taskLease.toMillis()
              + " ms; use at least "
              + MIN_TASK_LEASE.toMillis()
              + " ms (the default is "
              + DEFAULT_TASK_LEASE.toSeconds()
              + " s): workers renew a lease every third of it");
    }
    buildRetention = buildRetention == null ? DEFAULT_BUILD_RETENTION : buildRetention;
    if (buildRetention.compareTo(MIN_BUILD_RETENTION) < 0) {
      throw new IllegalArgumentException(
          "buildRetention is "
              + buildRetention
              + "; use at least 1 s, e.g. P7D (the default) or P30D to keep builds a month");
    }
    maxTaskAttempts = maxTaskAttempts == 0 ? DEFAULT_MAX_TASK_ATTEMPTS : maxTaskAttempts;
    if (maxTaskAttempts < 1 || maxTaskAttempts > MAX_MAX_TASK_ATTEMPTS) {
      throw new IllegalArgumentException(
          "maxTaskAttempts is "
              + maxTaskAttempts
              + "; use 1 to "
              + MAX_MAX_TASK_ATTEMPTS
              + " (the default is "
              + DEFAULT_MAX_TASK_ATTEMPTS
              + "): how often one step is tried before the build fails worker::lost");
    }
    if (sourceRoot != null && !sourceRoot.isAbsolute()) {
      throw new IllegalArgumentException(
          "sourceRoot '" + sourceRoot + "' must be an absolute directory, e.g. /srv/kiln/repos");
    }
    if (cacheServiceUrl != null) {
      cacheServiceUrl = cacheServiceUrl.strip();
      if (cacheServiceUrl.isEmpty()) {
        cacheServiceUrl = null;
      } else {
        URI uri;
        try {
          uri = URI.create(cacheServiceUrl);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(
              "cacheServiceUrl '" + cacheServiceUrl + "' is not a URL: " + e.getMessage(), e);
        }
        if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
            || uri.getHost() == null) {
          throw new IllegalArgumentException(
              "cacheServiceUrl '"
                  + cacheServiceUrl
                  + "' is not an http(s) URL with a host;"
                  + " use e.g. http://127.0.0.1:8081, or leave it unset to always install");
        }
        while (cacheServiceUrl.endsWith("/")) {
          cacheServiceUrl = cacheServiceUrl.substring(0, cacheServiceUrl.length() - 1);
        }
      }
    }
  }

  /** A coordinator on a free port of 127.0.0.1, in the default group, without an action cache. */
  public static CoordinatorConfig defaults(String bootstrapServers, Topics topics) {
    return new CoordinatorConfig(
        bootstrapServers,
        topics,
        DEFAULT_HOST,
        0,
        DEFAULT_CONSUMER_GROUP,
        null,
        "coordinator-1",
        null,
        null,
        null,
        false,
        KafkaClientSettings.none(),
        null,
        DEFAULT_TASK_LEASE,
        DEFAULT_MAX_TASK_ATTEMPTS,
        DEFAULT_BUILD_RETENTION);
  }

  /** The sealing box of the secret key, or null when none is configured. */
  public SecretBox secretBox() {
    return secretKey == null ? null : SecretBox.fromBase64(secretKey);
  }

  /** Who may call the API and what sealed secrets open with. */
  public CoordinatorConfig withSecurity(String operatorTokenSha256, String secretKey) {
    return new CoordinatorConfig(
        bootstrapServers,
        topics,
        host,
        httpPort,
        consumerGroup,
        cacheServiceUrl,
        instanceId,
        operatorTokenSha256,
        secretKey,
        sourceRoot,
        autoCreateTenants,
        kafkaClient,
        farmToken,
        taskLease,
        maxTaskAttempts,
        buildRetention);
  }

  public CoordinatorConfig withSourceRoot(Path sourceRoot) {
    return new CoordinatorConfig(
        bootstrapServers,
        topics,
        host,
        httpPort,
        consumerGroup,
        cacheServiceUrl,
        instanceId,
        operatorTokenSha256,
        secretKey,
        sourceRoot,
        autoCreateTenants,
        kafkaClient,
        farmToken,
        taskLease,
        maxTaskAttempts,
        buildRetention);
  }

  public CoordinatorConfig withAutoCreateTenants(boolean autoCreateTenants) {
    return new CoordinatorConfig(
        bootstrapServers,
        topics,
        host,
        httpPort,
        consumerGroup,
        cacheServiceUrl,
        instanceId,
        operatorTokenSha256,
        secretKey,
        sourceRoot,
        autoCreateTenants,
        kafkaClient,
        farmToken,
        taskLease,
        maxTaskAttempts,
        buildRetention);
  }

  public CoordinatorConfig withHttp(String host, int httpPort) {
    return new CoordinatorConfig(
        bootstrapServers,
        topics,
        host,
        httpPort,
        consumerGroup,
        cacheServiceUrl,
        instanceId,
        operatorTokenSha256,
        secretKey,
        sourceRoot,
        autoCreateTenants,
        kafkaClient,
        farmToken,
        taskLease,
        maxTaskAttempts,
        buildRetention);
  }

  public CoordinatorConfig withConsumerGroup(String consumerGroup) {
    return new CoordinatorConfig(
        bootstrapServers,
        topics,
        host,
        httpPort,
        consumerGroup,
        cacheServiceUrl,
        instanceId,
        operatorTokenSha256,
        secretKey,
        sourceRoot,
        autoCreateTenants,
        kafkaClient,
        farmToken,
        taskLease,
        maxTaskAttempts,
        buildRetention);
  }

  public CoordinatorConfig withCacheServiceUrl(String cacheServiceUrl) {
    return new CoordinatorConfig(
        bootstrapServers,
        topics,
        host,
        httpPort,
        consumerGroup,
        cacheServiceUrl,
        instanceId,
        operatorTokenSha256,
        secretKey,
        sourceRoot,
        autoCreateTenants,
        kafkaClient,
        farmToken,
        taskLease,
        maxTaskAttempts,
        buildRetention);
  }

  public CoordinatorConfig withInstanceId(String instanceId) {
    return new CoordinatorConfig(
        bootstrapServers,
        topics,
        host,
        httpPort,
        consumerGroup,
        cacheServiceUrl,
        instanceId,
        operatorTokenSha256,
        secretKey,
        sourceRoot,
        autoCreateTenants,
        kafkaClient,
        farmToken,
        taskLease,
        maxTaskAttempts,
        buildRetention);
  }

  /** The same coordinator with the operator's Kafka client settings (SASL, TLS, …). */
  public CoordinatorConfig withKafkaClient(KafkaClientSettings kafkaClient) {
    return new CoordinatorConfig(
        bootstrapServers,
        topics,
        host,
        httpPort,
        consumerGroup,
        cacheServiceUrl,
        instanceId,
        operatorTokenSha256,
        secretKey,
        sourceRoot,
        autoCreateTenants,
        kafkaClient,
        farmToken,
        taskLease,
        maxTaskAttempts,
        buildRetention);
  }

  /** The farm credential the action-cache lookups send to the cache-service. */
  public CoordinatorConfig withFarmToken(String farmToken) {
    return new CoordinatorConfig(
        bootstrapServers,
        topics,
        host,
        httpPort,
        consumerGroup,
        cacheServiceUrl,
        instanceId,
        operatorTokenSha256,
        secretKey,
        sourceRoot,
        autoCreateTenants,
        kafkaClient,
        farmToken,
        taskLease,
        maxTaskAttempts,
        buildRetention);
  }

  /**
   * How long a task may go without a sign of life before it is issued again, and how often one step
   * is issued before its build fails {@code worker::lost}.
   */
  public CoordinatorConfig withTaskLeases(Duration taskLease, int maxTaskAttempts) {
    return new CoordinatorConfig(
        bootstrapServers,
        topics,
        host,
        httpPort,
        consumerGroup,
        cacheServiceUrl,
        instanceId,
        operatorTokenSha256,
        secretKey,
        sourceRoot,
        autoCreateTenants,
        kafkaClient,
        farmToken,
        taskLease,
        maxTaskAttempts,
        buildRetention);
  }

  /** How long finished builds are kept before they are deleted from kiln.builds. */
  public CoordinatorConfig withBuildRetention(Duration buildRetention) {
    return new CoordinatorConfig(
        bootstrapServers,
        topics,
        host,
        httpPort,
        consumerGroup,
        cacheServiceUrl,
        instanceId,
        operatorTokenSha256,
        secretKey,
        sourceRoot,
        autoCreateTenants,
        kafkaClient,
        farmToken,
        taskLease,
        maxTaskAttempts,
        buildRetention);
  }

  private static void requireText(String value, String field, String expected) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(field + " is missing; set it to " + expected);
    }
  }
}
