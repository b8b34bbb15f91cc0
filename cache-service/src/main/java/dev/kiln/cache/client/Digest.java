package dev.kiln.cache.client;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * A validated SHA-256 content digest: the only way blob names enter or leave the store.
 *
 * <p>Written as {@code sha256:<64 lowercase hex>} ({@link #toString()}); URLs use the bare hex
 * ({@link #hex()}).
 */
public final class Digest {
  public static final String ALGORITHM_PREFIX = "sha256:";
  public static final String EXPECTED_FORM = "64 lowercase hex characters (a SHA-256)";
  private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");

  private final String hex;

  private Digest(String hex) {
    this.hex = hex;
  }

  /** Parses {@code sha256:<64 lowercase hex>}. */
  public static Digest of(String value) {
    if (value == null || !value.startsWith(ALGORITHM_PREFIX)) {
      throw new IllegalArgumentException(
          "malformed digest '" + value + "': expected 'sha256:' followed by " + EXPECTED_FORM);
    }
    return ofHex(value.substring(ALGORITHM_PREFIX.length()));
  }

  /** Parses the bare 64-character lowercase hex form used in URLs. */
  public static Digest ofHex(String hex) {
    if (!isHex(hex)) {
      throw new IllegalArgumentException("malformed digest '" + hex + "': expected " + EXPECTED_FORM);
    }
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
  public static Digest fromSha256(MessageDigest finishedHasher) {
    return new Digest(HexFormat.of().formatHex(finishedHasher.digest()));
  }

  public String hex() {
    return hex;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof Digest && ((Digest) other).hex.equals(hex);
  }

  @Override
  public int hashCode() {
    return hex.hashCode();
  }

  @Override
  public String toString() {
    return ALGORITHM_PREFIX + hex;
  }
}
