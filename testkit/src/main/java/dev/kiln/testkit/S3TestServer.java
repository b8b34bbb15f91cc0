package dev.kiln.testkit;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * A real S3-API server for tests: s3proxy, in this JVM, on 127.0.0.1 and a free port, over jclouds'
 * in-memory ("transient") blob store, with signature-v4 authentication on. {@link #s3()} is an SDK
 * client of its own, to create buckets and look at what the cache-service left in them.
 *
 * <p>s3proxy and the AWS SDK are optional dependencies of the testkit: a module whose tests use
 * this declares {@code org.gaul:s3proxy} (test scope) and has the SDK already.
 */
public final class S3TestServer implements AutoCloseable {
  public static final String ACCESS_KEY = "kiln-test-access";
  public static final String SECRET_KEY = "kiln-test-secret-" + UUID.randomUUID();

  private final S3Proxy proxy;
  private final BlobStoreContext context;
  private final URI endpoint;
  private final S3Client s3;

  public S3TestServer() throws Exception {
    context =
        ContextBuilder.newBuilder("transient")
            .credentials("identity", "credential")
            .build(BlobStoreContext.class);
    proxy =
        S3Proxy.builder()
            .blobStore(context.getBlobStore())
            .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
            .endpoint(URI.create("http://127.0.0.1:0"))
            .build();
    proxy.start();
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!"STARTED".equals(proxy.getState())) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("s3proxy did not start: " + proxy.getState());
      }
      Thread.sleep(5);
    }
    endpoint = URI.create("http://127.0.0.1:" + proxy.getPort());
    s3 =
        S3Client.builder()
            .httpClient(UrlConnectionHttpClient.create())
            .endpointOverride(endpoint)
            .region(Region.US_EAST_1)
            .forcePathStyle(true)
            .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
            .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
            .credentialsProvider(
                StaticCredentialsProvider.create(
                    AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)))
            .build();
  }

  public URI endpoint() {
    return endpoint;
  }

  public int port() {
    return proxy.getPort();
  }

  public S3Client s3() {
    return s3;
  }

  /** A new, empty bucket with a random name. */
  public String newBucket() {
    String bucket = "kiln-" + UUID.randomUUID().toString().substring(0, 8);
    s3.createBucket(b -> b.bucket(bucket));
    return bucket;
  }

  /** Every key in the bucket. */
  public List<String> keys(String bucket) {
    return s3.listObjectsV2Paginator(b -> b.bucket(bucket)).contents().stream()
        .map(S3Object::key)
        .toList();
  }

  /** Stops serving (the port closes); the stored objects are gone with it. */
  public void stop() throws Exception {
    proxy.stop();
  }

  @Override
  public void close() throws Exception {
    s3.close();
    try {
      proxy.stop();
    } finally {
      context.close();
    }
  }
}
