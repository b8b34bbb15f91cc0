package dev.kiln.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DigestTest {
  private static final String EMPTY_SHA256 =
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  private static final String ABC_SHA256 =
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

  @TempDir Path dir;

  @Test
  void parsesPrefixedAndBareForms() {
    assertThat(Digest.of("sha256:" + EMPTY_SHA256).hex()).isEqualTo(EMPTY_SHA256);
    assertThat(Digest.ofHex(EMPTY_SHA256)).isEqualTo(Digest.of("sha256:" + EMPTY_SHA256));
    assertThat(Digest.ofHex(EMPTY_SHA256).toString()).isEqualTo("sha256:" + EMPTY_SHA256);
  }

  @Test
  void computesSha256() {
    assertThat(Digest.compute(new byte[0]).hex()).isEqualTo(EMPTY_SHA256);
    assertThat(Digest.compute("abc".getBytes(StandardCharsets.UTF_8)).hex()).isEqualTo(ABC_SHA256);
  }

  @Test
  void filesAndStreamsHashToTheSameDigestAsTheirBytes() throws Exception {
    byte[] abc = "abc".getBytes(StandardCharsets.UTF_8);

    assertThat(Digest.compute(Files.write(dir.resolve("abc"), abc)).hex()).isEqualTo(ABC_SHA256);
    assertThat(Digest.compute(new ByteArrayInputStream(abc)).hex()).isEqualTo(ABC_SHA256);
  }

  @Test
  void tellsHexFromEverythingElse() {
    assertThat(Digest.isHex(EMPTY_SHA256)).isTrue();
    assertThat(Digest.isHex("sha256:" + EMPTY_SHA256)).isFalse();
    assertThat(Digest.isHex(EMPTY_SHA256.toUpperCase())).isFalse();
    assertThat(Digest.isHex(null)).isFalse();
  }

  @Test
  void rejectsMalformedDigestsSayingTheExpectedForm() {
    assertThatThrownBy(() -> Digest.of("md5:abc")).hasMessageContaining("'md5:abc'");
    assertThatThrownBy(() -> Digest.ofHex(EMPTY_SHA256.toUpperCase()))
        .hasMessageContaining("64 lowercase hex characters");
    assertThatThrownBy(() -> Digest.ofHex(EMPTY_SHA256 + "0"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Digest.ofHex(null)).isInstanceOf(IllegalArgumentException.class);
  }
}
