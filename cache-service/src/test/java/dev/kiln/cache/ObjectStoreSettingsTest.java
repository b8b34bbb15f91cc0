package dev.kiln.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Pure logic: reading {@code s3://BUCKET/PREFIX} and refusing settings that cannot work. */
class ObjectStoreSettingsTest {
  @Test
  void readsBucketAndPrefixAndTakesDefaults() {
    ObjectStoreSettings settings = ObjectStoreSettings.parse("s3://kiln-store/farm1/blobs/");

    assertThat(settings.bucket()).isEqualTo("kiln-store");
    assertThat(settings.prefix()).isEqualTo("farm1/blobs");
    assertThat(settings.endpoint()).isNull();
    assertThat(settings.region()).isEqualTo("us-east-1");
    assertThat(settings.accessKeyId()).isNull();
    assertThat(settings.readTimeout()).isEqualTo(ObjectStoreSettings.DEFAULT_READ_TIMEOUT);
    assertThat(settings.url()).isEqualTo("s3://kiln-store/farm1/blobs");
    assertThat(ObjectStoreSettings.parse("S3://kiln-store").prefix()).isEmpty();
  }

  @Test
  void neverPrintsTheSecretKey() {
    ObjectStoreSettings settings =
        ObjectStoreSettings.parse("s3://kiln-store")
            .withEndpoint(URI.create("http://127.0.0.1:9000"))
            .withCredentials("AKIAEXAMPLE", "very-secret-key");

    assertThat(settings.toString()).contains("AKIAEXAMPLE").doesNotContain("very-secret-key");
    assertThat(settings.describe()).isEqualTo("s3://kiln-store at http://127.0.0.1:9000");
  }

  @Test
  void refusesWhatCannotWorkSayingWhatToWrite() {
    assertThatThrownBy(() -> ObjectStoreSettings.parse("gs://kiln-store"))
        .hasMessageContaining("is not an s3:// URL");
    assertThatThrownBy(() -> ObjectStoreSettings.parse("s3://"))
        .hasMessageContaining("is not a valid S3 bucket name");
    assertThatThrownBy(() -> ObjectStoreSettings.parse("s3://UPPER_case"))
        .hasMessageContaining("3-63 lowercase letters");
    assertThatThrownBy(() -> ObjectStoreSettings.parse("s3://kiln-store/a//b"))
        .hasMessageContaining("unusable key prefix");
    assertThatThrownBy(() -> ObjectStoreSettings.parse("s3://kiln-store/../x"))
        .hasMessageContaining("unusable key prefix");
    ObjectStoreSettings base = ObjectStoreSettings.parse("s3://kiln-store");
    assertThatThrownBy(() -> base.withEndpoint(URI.create("ftp://minio:21")))
        .hasMessageContaining("is not an http(s) URL");
    assertThatThrownBy(() -> base.withCredentials("AKIAEXAMPLE", null))
        .hasMessageContaining("both an access key id and a secret access key");
    assertThatThrownBy(() -> base.withTimeouts(Duration.ZERO, null))
        .hasMessageContaining("must be positive");
  }
}
