package dev.kiln.cache;

import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * Where a cache-service keeps its blobs and action results when several replicas share one store: a
 * bucket (and key prefix) of an S3-compatible object store.
 *
 * @param bucket the bucket; it must exist (the service checks at start and says how to create it)
 * @param prefix key prefix inside the bucket, without leading or trailing {@code /}; may be empty
 * @param endpoint the S3 API's base URL (e.g. {@code http://minio:9000}); null means AWS's own
 *     endpoint for {@code region}. Requests use path-style addressing ({@code
 *     endpoint/bucket/key}), which every S3-compatible server understands
 * @param region the region requests are signed for; null means {@value #DEFAULT_REGION}
 * @param accessKeyId the access key; null takes the SDK's default chain (environment {@code
 *     AWS_ACCESS_KEY_ID}/{@code AWS_SECRET_ACCESS_KEY}, profile, instance role)
 * @param secretAccessKey the secret key, with {@code accessKeyId}
 * @param connectTimeout how long opening a connection to the store may take; null means {@link
 *     #DEFAULT_CONNECT_TIMEOUT}
 * @param readTimeout how long the store may send nothing while a request waits for or reads an
 *     answer (a stalled or hung store fails the request instead of holding a worker thread), and
 *     the longest a small request (HEAD, LIST, a reader marker, an action result) may take in
 *     total, retries included; blob transfers that keep moving are not bounded in total. Null means
 *     {@link #DEFAULT_READ_TIMEOUT}
 */
public record ObjectStoreSettings(
    String bucket,
    String prefix,
    URI endpoint,
    String region,
    String accessKeyId,
    String secretAccessKey,
    Duration connectTimeout,
    Duration readTimeout) {

  public static final String DEFAULT_REGION = "us-east-1";
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
  // Half the worker client's 60 s request timeout: a silent store answers a worker with 503
  // before the worker gives up on the cache-service itself.
  public static final Duration DEFAULT_READ_TIMEOUT = Duration.ofSeconds(30);
  static final String EXAMPLE = "s3://kiln-store/farm1";

  public ObjectStoreSettings {
    requireBucketName(bucket);
    prefix = prefix == null ? "" : stripSlashes(prefix);
    if (endpoint != null) {
      String scheme =
          endpoint.getScheme() == null ? "" : endpoint.getScheme().toLowerCase(Locale.ROOT);
      if (!(scheme.equals("http") || scheme.equals("https")) || endpoint.getHost() == null) {
        throw new IllegalArgumentException(
            "object store endpoint '"
                + endpoint
                + "' is not an http(s) URL; give the S3 API's base URL, e.g. http://127.0.0.1:9000");
      }
    }
    region = region == null || region.isBlank() ? DEFAULT_REGION : region.strip();
    if ((accessKeyId == null) != (secretAccessKey == null)) {
      throw new IllegalArgumentException(
          "the object store needs both an access key id and a secret access key (or neither, to"
              + " use the AWS default credential chain); set AWS_ACCESS_KEY_ID and"
              + " AWS_SECRET_ACCESS_KEY together");
    }
    connectTimeout = positive("connectTimeout", connectTimeout, DEFAULT_CONNECT_TIMEOUT);
    readTimeout = positive("readTimeout", readTimeout, DEFAULT_READ_TIMEOUT);
  }

  /**
   * Reads {@code s3://BUCKET[/PREFIX]}; the other settings take their defaults (AWS endpoint,
   * default credential chain) until set with the with-methods.
   */
  public static ObjectStoreSettings parse(String storeUrl) {
    Objects.requireNonNull(storeUrl, "storeUrl");
    String text = storeUrl.strip();
    if (!text.regionMatches(true, 0, "s3://", 0, 5)) {
      throw new IllegalArgumentException(
          "store '"
              + storeUrl
              + "' is not an s3:// URL: give s3://BUCKET or s3://BUCKET/PREFIX, e.g. "
              + EXAMPLE
              + " (leave the store unset to keep blobs on local disk)");
    }
    String rest = text.substring(5);
    int slash = rest.indexOf('/');
    String bucket = slash < 0 ? rest : rest.substring(0, slash);
    String prefix = slash < 0 ? "" : rest.substring(slash + 1);
    if (prefix.contains("//") || prefix.contains("..") || prefix.contains("\\")) {
      throw new IllegalArgumentException(
          "store '"
              + storeUrl
              + "' has an unusable key prefix '"
              + prefix
              + "': use plain"
              + " segments separated by single '/', e.g. "
              + EXAMPLE);
    }
    return new ObjectStoreSettings(bucket, prefix, null, null, null, null, null, null);
  }

  public ObjectStoreSettings withEndpoint(URI newEndpoint) {
    return new ObjectStoreSettings(
        bucket,
        prefix,
        newEndpoint,
        region,
        accessKeyId,
        secretAccessKey,
        connectTimeout,
        readTimeout);
  }

  public ObjectStoreSettings withRegion(String newRegion) {
    return new ObjectStoreSettings(
        bucket,
        prefix,
        endpoint,
        newRegion,
        accessKeyId,
        secretAccessKey,
        connectTimeout,
        readTimeout);
  }

  public ObjectStoreSettings withCredentials(String newAccessKeyId, String newSecretAccessKey) {
    return new ObjectStoreSettings(
        bucket,
        prefix,
        endpoint,
        region,
        newAccessKeyId,
        newSecretAccessKey,
        connectTimeout,
        readTimeout);
  }

  public ObjectStoreSettings withTimeouts(Duration newConnectTimeout, Duration newReadTimeout) {
    return new ObjectStoreSettings(
        bucket,
        prefix,
        endpoint,
        region,
        accessKeyId,
        secretAccessKey,
        newConnectTimeout,
        newReadTimeout);
  }

  /** {@code s3://bucket/prefix}, for messages. */
  public String url() {
    return "s3://" + bucket + (prefix.isEmpty() ? "" : "/" + prefix);
  }

  /** The store and where it is reached, never the secret key. */
  public String describe() {
    return url() + " at " + (endpoint == null ? "AWS (" + region + ")" : endpoint.toString());
  }

  @Override
  public String toString() {
    return "ObjectStoreSettings["
        + describe()
        + ", region="
        + region
        + ", credentials="
        + (accessKeyId == null ? "default chain" : "access key " + accessKeyId)
        + "]";
  }

  /** S3's bucket naming rules (3-63 lowercase letters, digits, '.', '-'), checked up front. */
  private static void requireBucketName(String bucket) {
    if (bucket == null
        || !bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
        || bucket.contains("..")) {
      throw new IllegalArgumentException(
          "bucket name '"
              + bucket
              + "' is not a valid S3 bucket name: use 3-63 lowercase letters, digits, '.' and"
              + " '-', starting and ending with a letter or digit, e.g. "
              + EXAMPLE);
    }
  }

  private static String stripSlashes(String prefix) {
    String p = prefix.strip();
    while (p.startsWith("/")) {
      p = p.substring(1);
    }
    while (p.endsWith("/")) {
      p = p.substring(0, p.length() - 1);
    }
    return p;
  }

  private static Duration positive(String name, Duration value, Duration defaultValue) {
    if (value == null) {
      return defaultValue;
    }
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(
          "object store "
              + name
              + " "
              + value
              + " must be positive: a store that may never"
              + " answer would hold a worker thread forever");
    }
    return value;
  }
}
