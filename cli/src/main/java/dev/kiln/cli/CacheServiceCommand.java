package dev.kiln.cli;

import dev.kiln.cache.CacheServiceConfig;
import dev.kiln.cache.CacheServiceVerticle;
import dev.kiln.cache.ObjectStoreSettings;
import dev.kiln.cache.TenantsTopicDirectory;
import dev.kiln.events.Topics;
import dev.kiln.events.security.SecretBox;
import io.vertx.core.Vertx;
import java.io.PrintWriter;
import java.net.URI;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The cache-service alone, in its own process: for a farm whose services run as separate processes
 * or containers. It needs the farm's Kafka (for {@code kiln.tenants}) and the farm's secrets (the
 * farm token it checks, the key that opens tenants' index passwords).
 */
@Command(
    mixinStandardHelpOptions = true,
    name = "cache-service",
    description = {
      "Run only the cache-service: the content-addressed store, the action cache and the package",
      "index proxy, on --cache-port. Needs --kafka (the farm's cluster, for the tenants) and the",
      "farm's secrets (KILN_FARM_TOKEN and KILN_SECRET_KEY, or <home>/secrets). Stops on Ctrl-C.",
      "Blobs and action results stay under <home>/store unless --store names an S3 bucket, which",
      "several cache-service replicas then share (see docs/operations.md)."
    })
public final class CacheServiceCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin FarmOptions options;

  @Option(
      names = "--listen",
      paramLabel = "ADDRESS",
      defaultValue = "${env:KILN_LISTEN:-127.0.0.1}",
      description =
          "The address to listen on (0.0.0.0 in a container). Env: KILN_LISTEN. Default: ${DEFAULT-VALUE}")
  String listen;

  @Option(
      names = "--store",
      paramLabel = "s3://BUCKET[/PREFIX]|local",
      defaultValue = "${env:KILN_STORE:-local}",
      description =
          "Where blobs and action results live: 'local' (<home>/store), or an S3-compatible bucket"
              + " shared by every replica, which must exist. Credentials: AWS_ACCESS_KEY_ID and"
              + " AWS_SECRET_ACCESS_KEY (or the AWS default chain). Env: KILN_STORE. Default:"
              + " ${DEFAULT-VALUE}")
  String store;

  @Option(
      names = "--s3-endpoint",
      paramLabel = "URL",
      defaultValue = "${env:KILN_S3_ENDPOINT}",
      description =
          "The S3 API's base URL for --store (MinIO, Ceph, …: e.g. http://minio:9000); path-style"
              + " requests. Env: KILN_S3_ENDPOINT. Default: AWS S3 in --s3-region.")
  String s3Endpoint;

  @Option(
      names = "--s3-region",
      paramLabel = "REGION",
      defaultValue = "${env:KILN_S3_REGION:-us-east-1}",
      description =
          "The region requests to --store are signed for. Env: KILN_S3_REGION. Default: ${DEFAULT-VALUE}")
  String s3Region;

  @Option(
      names = "--local-cache-size",
      paramLabel = "SIZE",
      defaultValue = "${env:KILN_LOCAL_CACHE_SIZE}",
      description =
          "The most bytes of blobs kept on this machine's disk (e.g. 20GiB, 500MiB): the whole"
              + " store with --store local, a cache in front of the bucket (least recently used"
              + " go first, the bucket keeps them) with s3://. Env: KILN_LOCAL_CACHE_SIZE. Default:"
              + " 80% of the disk's free space at start, at most 100 GiB.")
  String localCacheSize;

  @Option(
      names = "--max-blob-size",
      paramLabel = "SIZE",
      defaultValue = "${env:KILN_MAX_BLOB_SIZE:-2GiB}",
      description =
          "The largest blob stored (an upload over it is refused with 413). Env: KILN_MAX_BLOB_SIZE."
              + " Default: ${DEFAULT-VALUE}")
  String maxBlobSize;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    // Checked first: a typo in a flag is reported before anything connects anywhere.
    ObjectStoreSettings objectStore = objectStore(store, s3Endpoint, s3Region);
    long maxBlobBytes = bytes("--max-blob-size", maxBlobSize);
    Long localCacheBytes =
        localCacheSize == null || localCacheSize.isBlank()
            ? null
            : bytes("--local-cache-size", localCacheSize);
    FarmSettings settings = options.toSettings();
    ServiceProcess.requireKafka(settings, "cache-service");
    // The farm token it checks and the key that opens tenants' index passwords; no operator token.
    FarmSecrets secrets = ServiceProcess.farmSecrets(settings, "cache-service", false, true, true);
    Topics topics = Topics.withPrefix(settings.topicPrefix());
    TenantsTopicDirectory tenants;
    try {
      tenants =
          new TenantsTopicDirectory(
              settings.kafkaClient().applyTo(Map.of("bootstrap.servers", settings.kafka())),
              topics.tenants(),
              SecretBox.fromBase64(secrets.secretKey()));
    } catch (RuntimeException e) {
      throw new UserError(
          "the cache-service cannot read the tenants from "
              + settings.kafka()
              + ": "
              + e.getMessage(),
          1);
    }
    Vertx vertx = Vertx.vertx();
    CacheServiceConfig config =
        Farm.cacheServiceConfig(
                settings,
                listen,
                secrets,
                tenants,
                localCacheBytes == null ? out::println : ignored -> {})
            .withMaxBlobBytes(maxBlobBytes)
            .withObjectStore(objectStore);
    if (localCacheBytes != null) {
      config = config.withMaxStoreBytes(localCacheBytes);
    }
    if (objectStore != null) {
      out.println(
          "       Blobs and action results live in "
              + objectStore.describe()
              + "; this disk caches at most "
              + (config.maxStoreBytes() >> 20)
              + " MiB of them");
    } else if (localCacheBytes != null) {
      out.println("       The store keeps at most " + (localCacheBytes >> 20) + " MiB");
    }
    CacheServiceVerticle cache = new CacheServiceVerticle(config);
    try {
      vertx.deployVerticle(cache).await();
    } catch (Exception e) {
      tenants.close();
      vertx.close();
      throw new UserError("the cache-service did not start: " + e.getMessage(), 1);
    }
    out.println("-----> The cache-service is up on " + cache.baseUrl());
    out.flush();
    ServiceProcess.runUntilStopped(
        () -> {
          vertx.close().toCompletionStage().toCompletableFuture().join();
          tenants.close();
        });
    return 0;
  }

  /** {@code --store}: null for the local disk, else the bucket with its endpoint and region. */
  static ObjectStoreSettings objectStore(String store, String endpoint, String region) {
    String where = store == null ? "" : store.strip();
    boolean local = where.isEmpty() || where.equalsIgnoreCase("local");
    boolean hasEndpoint = endpoint != null && !endpoint.isBlank();
    if (local) {
      if (hasEndpoint) {
        throw new UserError(
            "--s3-endpoint (KILN_S3_ENDPOINT) is set but --store (KILN_STORE) is not an s3://"
                + " bucket; add --store s3://BUCKET[/PREFIX], or drop --s3-endpoint to keep the"
                + " store on local disk",
            2);
      }
      return null;
    }
    try {
      ObjectStoreSettings settings = ObjectStoreSettings.parse(where).withRegion(region);
      if (hasEndpoint) {
        URI uri;
        try {
          uri = URI.create(endpoint.strip());
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(
              "--s3-endpoint '" + endpoint + "' is not a URL; use e.g. http://minio:9000", e);
        }
        settings = settings.withEndpoint(uri);
      }
      String accessKey = System.getenv("AWS_ACCESS_KEY_ID");
      String secretKey = System.getenv("AWS_SECRET_ACCESS_KEY");
      if ((accessKey == null || accessKey.isBlank())
          != (secretKey == null || secretKey.isBlank())) {
        throw new IllegalArgumentException(
            "only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set; set both (the"
                + " store's access key and its secret), or neither to use the AWS default chain");
      }
      return settings;
    } catch (IllegalArgumentException e) {
      throw new UserError("--store: " + e.getMessage(), 2);
    }
  }

  private static final Pattern SIZE =
      Pattern.compile(
          "(\\d+)\\s*(b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)?", Pattern.CASE_INSENSITIVE);

  /** {@code 500MiB}, {@code 20GiB}, {@code 1048576}: binary units (1 GiB = 1 GB = 2^30 bytes). */
  static long bytes(String flag, String text) {
    Matcher m = SIZE.matcher(text == null ? "" : text.strip());
    if (!m.matches()) {
      throw new UserError(
          flag
              + " '"
              + text
              + "' is not a size: give a whole number of bytes or of KiB, MiB, GiB, TiB, e.g."
              + " 512MiB or 20GiB",
          2);
    }
    String unit = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
    int shift =
        switch (unit.charAt(0)) {
          case 'k' -> 10;
          case 'm' -> 20;
          case 'g' -> 30;
          case 't' -> 40;
          default -> 0;
        };
    long value;
    try {
      value = Long.parseLong(m.group(1));
    } catch (NumberFormatException e) {
      value = -1;
    }
    if (value <= 0 || value > (Long.MAX_VALUE >> shift)) {
      throw new UserError(
          flag + " '" + text + "' is out of range: give a size above zero, e.g. 512MiB or 20GiB",
          2);
    }
    return value << shift;
  }
}
