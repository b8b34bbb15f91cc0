package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.cache.ObjectStoreSettings;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kiln cache-service}'s storage flags: {@code --store}, {@code --s3-endpoint}, {@code
 * --s3-region}, {@code --local-cache-size}, {@code --max-blob-size}. A bad value is a usage error
 * (exit 2) saying what to write instead, reported before anything connects anywhere.
 */
class CacheServiceStoreFlagsTest {
  @TempDir java.nio.file.Path temp;

  private record Run(int exit, String err) {}

  private Run run(String... flags) {
    StringWriter err = new StringWriter();
    String[] args = new String[flags.length + 3];
    args[0] = "cache-service";
    args[1] = "--home";
    args[2] = temp.resolve("home").toString();
    System.arraycopy(flags, 0, args, 3, flags.length);
    int exit = KilnCommand.commandLine().setErr(new PrintWriter(err, true)).execute(args);
    return new Run(exit, err.toString());
  }

  @Test
  void aStoreThatIsNotAnS3UrlIsAUsageError() {
    Run run = run("--store", "http://minio:9000/kiln");

    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains("is not an s3:// URL", "s3://BUCKET/PREFIX");
  }

  @Test
  void anInvalidBucketNameIsAUsageError() {
    Run run = run("--store", "s3://Kiln_Store/farm");

    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains("'Kiln_Store' is not a valid S3 bucket name");
  }

  @Test
  void anEndpointWithoutAnS3StoreIsAUsageError() {
    Run run = run("--s3-endpoint", "http://minio:9000");

    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains("--store", "is not an s3:// bucket");
  }

  @Test
  void anEndpointThatIsNotHttpIsAUsageError() {
    Run run = run("--store", "s3://kiln-store", "--s3-endpoint", "minio:9000");

    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains("is not an http(s) URL");
  }

  @Test
  void sizesThatAreNotSizesAreUsageErrors() {
    Run cache = run("--local-cache-size", "lots");
    Run blob = run("--max-blob-size", "0");

    assertThat(cache.exit()).isEqualTo(2);
    assertThat(cache.err()).contains("--local-cache-size 'lots' is not a size", "20GiB");
    assertThat(blob.exit()).isEqualTo(2);
    assertThat(blob.err()).contains("--max-blob-size '0' is out of range");
  }

  @Test
  void sizesTakeBinaryUnits() {
    assertThat(CacheServiceCommand.bytes("--x", "1048576")).isEqualTo(1L << 20);
    assertThat(CacheServiceCommand.bytes("--x", "512MiB")).isEqualTo(512L << 20);
    assertThat(CacheServiceCommand.bytes("--x", "20 GiB")).isEqualTo(20L << 30);
    assertThat(CacheServiceCommand.bytes("--x", "2g")).isEqualTo(2L << 30);
  }

  @Test
  void theStoreFlagsMakeTheObjectStoreSettings() {
    ObjectStoreSettings settings =
        CacheServiceCommand.objectStore(
            "s3://kiln-store/farm1/", "http://127.0.0.1:9000", "eu-west-1");

    assertThat(settings.bucket()).isEqualTo("kiln-store");
    assertThat(settings.prefix()).isEqualTo("farm1");
    assertThat(settings.endpoint()).isEqualTo(URI.create("http://127.0.0.1:9000"));
    assertThat(settings.region()).isEqualTo("eu-west-1");
    assertThat(CacheServiceCommand.objectStore("local", null, "us-east-1")).isNull();
    assertThat(CacheServiceCommand.objectStore(null, "", "us-east-1")).isNull();
  }
}
