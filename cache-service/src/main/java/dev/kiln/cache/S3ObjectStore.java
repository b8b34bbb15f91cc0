package dev.kiln.cache;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.AwsRequestOverrideConfiguration;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * An {@link ObjectStore} in a bucket of an S3-compatible store (AWS S3, MinIO, Ceph RGW, s3proxy),
 * through the AWS SDK's blocking client over the JDK's {@code HttpURLConnection}: path-style
 * addressing, a custom endpoint, and connect and read timeouts on every request. A PUT is atomic in
 * S3 (an object becomes visible whole, once its upload completed), so no temporary key is needed:
 * callers hash their local spool file before uploading it.
 */
final class S3ObjectStore implements ObjectStore {
  private final ObjectStoreSettings settings;
  private final S3Client s3;
  private final String root;
  // Metadata calls (HEAD, LIST, reader markers, action results) are small: bounded in total,
  // retries included, so a silent store fails them well within a worker's own request timeout.
  // Blob transfers are bounded by the read timeout as a stall, never in total.
  private final AwsRequestOverrideConfiguration metadata;

  S3ObjectStore(ObjectStoreSettings settings) {
    this.settings = settings;
    this.root = settings.prefix().isEmpty() ? "" : settings.prefix() + "/";
    this.metadata =
        AwsRequestOverrideConfiguration.builder().apiCallTimeout(settings.readTimeout()).build();
    AwsCredentialsProvider credentials =
        settings.accessKeyId() == null
            ? DefaultCredentialsProvider.builder().build()
            : StaticCredentialsProvider.create(
                AwsBasicCredentials.create(settings.accessKeyId(), settings.secretAccessKey()));
    var builder =
        S3Client.builder()
            .httpClientBuilder(
                UrlConnectionHttpClient.builder()
                    .connectionTimeout(settings.connectTimeout())
                    .socketTimeout(settings.readTimeout()))
            .region(Region.of(settings.region()))
            .credentialsProvider(credentials)
            .forcePathStyle(true)
            // S3-compatible servers do not all take the newer flexible checksums; the service
            // verifies every blob's SHA-256 itself.
            .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
            .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
    if (settings.endpoint() != null) {
      builder.endpointOverride(settings.endpoint());
    }
    this.s3 = builder.build();
  }

  @Override
  public Optional<Long> size(String key) {
    try {
      HeadObjectResponse head =
          s3.headObject(
              b -> b.bucket(settings.bucket()).key(root + key).overrideConfiguration(metadata));
      return Optional.of(head.contentLength());
    } catch (NoSuchKeyException e) {
      return Optional.empty();
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return Optional.empty();
      }
      throw failed("HEAD", key, e);
    } catch (SdkException e) {
      throw failed("HEAD", key, e);
    }
  }

  @Override
  public boolean download(String key, Path target) {
    try (ResponseInputStream<GetObjectResponse> in =
        s3.getObject(b -> b.bucket(settings.bucket()).key(root + key))) {
      Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
      return true;
    } catch (NoSuchKeyException e) {
      return false;
    } catch (SdkException e) {
      throw failed("GET", key, e);
    } catch (IOException e) {
      throw failed("GET", key, e);
    }
  }

  @Override
  public Optional<byte[]> read(String key, long maxBytes) {
    try (ResponseInputStream<GetObjectResponse> in =
        s3.getObject(
            b -> b.bucket(settings.bucket()).key(root + key).overrideConfiguration(metadata))) {
      Long length = in.response().contentLength();
      if (length != null && length > maxBytes) {
        in.abort();
        throw CacheError.internal(
            "object "
                + key
                + " in "
                + settings.describe()
                + " is "
                + length
                + " bytes, more than the "
                + maxBytes
                + " expected; remove it from the bucket",
            null);
      }
      return Optional.of(readAtMost(in, maxBytes));
    } catch (NoSuchKeyException e) {
      return Optional.empty();
    } catch (SdkException e) {
      throw failed("GET", key, e);
    } catch (IOException e) {
      throw failed("GET", key, e);
    }
  }

  private static byte[] readAtMost(InputStream in, long maxBytes) throws IOException {
    byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
    if (bytes.length > maxBytes) {
      throw new IOException("the object is longer than " + maxBytes + " bytes");
    }
    return bytes;
  }

  @Override
  public void upload(String key, Path file) {
    try {
      s3.putObject(b -> b.bucket(settings.bucket()).key(root + key), RequestBody.fromFile(file));
    } catch (SdkException | UncheckedIOException e) {
      throw failed("PUT", key, e);
    }
  }

  @Override
  public void write(String key, byte[] bytes) {
    try {
      s3.putObject(
          b -> b.bucket(settings.bucket()).key(root + key).overrideConfiguration(metadata),
          RequestBody.fromBytes(bytes));
    } catch (SdkException e) {
      throw failed("PUT", key, e);
    }
  }

  @Override
  public List<String> list(String prefix) {
    List<String> keys = new ArrayList<>();
    try {
      ListObjectsV2Request request =
          ListObjectsV2Request.builder()
              .bucket(settings.bucket())
              .prefix(root + prefix)
              .overrideConfiguration(metadata)
              .build();
      for (ListObjectsV2Response page : s3.listObjectsV2Paginator(request)) {
        for (S3Object object : page.contents()) {
          keys.add(object.key().substring(root.length()));
        }
      }
      return keys;
    } catch (SdkException e) {
      throw failed("LIST", prefix, e);
    }
  }

  @Override
  public void requireReady() {
    try {
      s3.headBucket(b -> b.bucket(settings.bucket()).overrideConfiguration(metadata));
    } catch (NoSuchBucketException e) {
      throw missingBucket();
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        throw missingBucket();
      }
      if (e.statusCode() == 403 || e.statusCode() == 401) {
        throw new IllegalStateException(
            "the object store "
                + settings.describe()
                + " refused the credentials (HTTP "
                + e.statusCode()
                + "): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to a key that may read and"
                + " write bucket '"
                + settings.bucket()
                + "'",
            e);
      }
      throw new IllegalStateException(
          "the object store " + settings.describe() + " cannot be used: " + e.getMessage(), e);
    } catch (SdkClientException e) {
      throw new IllegalStateException(
          "the object store "
              + settings.describe()
              + " did not answer ("
              + e.getMessage()
              + "); check --s3-endpoint (KILN_S3_ENDPOINT) and that the store is running",
          e);
    }
  }

  private IllegalStateException missingBucket() {
    String endpoint = settings.endpoint() == null ? "" : " --endpoint-url " + settings.endpoint();
    return new IllegalStateException(
        "bucket '"
            + settings.bucket()
            + "' does not exist in the object store "
            + settings.describe()
            + "; create it first, e.g. `aws"
            + endpoint
            + " s3 mb s3://"
            + settings.bucket()
            + "` (or `mc mb ALIAS/"
            + settings.bucket()
            + "` on MinIO): the cache-service never creates buckets");
  }

  private CacheError failed(String method, String key, Exception e) {
    return CacheError.unavailable(
        "the object store "
            + settings.describe()
            + " failed "
            + method
            + " "
            + key
            + ": "
            + e.getMessage()
            + "; check that the store is up and reachable from the cache-service (--s3-endpoint,"
            + " KILN_S3_ENDPOINT) and that its credentials may read and write the bucket",
        e);
  }

  @Override
  public String describe() {
    return settings.describe();
  }

  @Override
  public void close() {
    s3.close();
  }
}
