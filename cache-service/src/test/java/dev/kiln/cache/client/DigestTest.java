package dev.kiln.cache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DigestTest {
  private static final String EMPTY_SHA256 =
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

  @Test
  void parsesPrefixedAndBareForms() {
    assertThat(Digest.of("sha256:" + EMPTY_SHA256).hex()).isEqualTo(EMPTY_SHA256);
    assertThat(Digest.ofHex(EMPTY_SHA256)).isEqualTo(Digest.of("sha256:" + EMPTY_SHA256));
    assertThat(Digest.ofHex(EMPTY_SHA256).toString()).isEqualTo("sha256:" + EMPTY_SHA256);
  }

  @Test
  void computesSha256() {
    assertThat(Digest.compute(new byte[0]).hex()).isEqualTo(EMPTY_SHA256);
    assertThat(Digest.compute("abc".getBytes(StandardCharsets.UTF_8)).hex())
        .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }

  @Test
  void rejectsMalformedDigestsSayingTheExpectedForm() {
    assertThatThrownBy(() -> Digest.of(EMPTY_SHA256))
        .hasMessageContaining("expected 'sha256:' followed by 64 lowercase hex");
    assertThatThrownBy(() -> Digest.of("md5:abc")).hasMessageContaining("'md5:abc'");
    assertThatThrownBy(() -> Digest.ofHex(EMPTY_SHA256.toUpperCase()))
        .hasMessageContaining("lowercase");
    assertThatThrownBy(() -> Digest.ofHex(EMPTY_SHA256 + "0")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Digest.ofHex(null)).isInstanceOf(IllegalArgumentException.class);
  }
}
