package dev.kiln.events;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * A validated {@code sha256:<64 hex>} content digest: the one form blob, layer and image digests
 * take in code, on the wire ({@link #toString()}) and in URLs ({@link #hex()}).
 */
public record Digest(String hex) {
  public static final String PREFIX = "sha256:";

  /** What a digest's hex must look like, for error messages. */
  public static final String EXPECTED_FORM = "64 lowercase hex characters (a SHA-256)";

  private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");

  public Digest {
    if (!isHex(hex)) {
      throw new IllegalArgumentException(
          "'" + Quote.safe(hex, 80) + "' is not a sha256 digest; expected " + EXPECTED_FORM);
    }
  }

  /** Parses {@code sha256:<hex>} (or a bare 64-hex string). */
  @JsonCreator
  public static Digest of(String value) {
    if (value == null) {
      throw new IllegalArgumentException("digest is missing; expected sha256:<64 hex digits>");
    }
    return new Digest(value.startsWith(PREFIX) ? value.substring(PREFIX.length()) : value);
  }

  /** Parses the bare hex form used in URLs. */
  public static Digest ofHex(String hex) {
    return new Digest(hex);
  }

  /** Whether {@code candidate} is 64 lowercase hex characters. */
  public static boolean isHex(String candidate) {
    return candidate != null && HEX.matcher(candidate).matches();
  }

  public static Digest compute(byte[] bytes) {
    return new Digest(HexFormat.of().formatHex(newSha256().digest(bytes)));
  }

  public static Digest compute(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return compute(in);
    }
  }

  /** Digests the stream to its end; does not close it. */
  public static Digest compute(InputStream in) throws IOException {
    MessageDigest sha256 = newSha256();
    byte[] buffer = new byte[64 * 1024];
    for (int read; (read = in.read(buffer)) != -1; ) {
      sha256.update(buffer, 0, read);
    }
    return fromSha256(sha256);
  }

  /** A fresh SHA-256 hasher, for callers that hash while streaming. */
  public static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime ships SHA-256", e);
    }
  }

  /** Finishes a hasher made by {@link #newSha256()}. */
  public static Digest fromSha256(MessageDigest hasher) {
    return new Digest(HexFormat.of().formatHex(hasher.digest()));
  }

  @JsonValue
  @Override
  public String toString() {
    return PREFIX + hex;
  }
}
