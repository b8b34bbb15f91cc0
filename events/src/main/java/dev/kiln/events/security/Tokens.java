package dev.kiln.events.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Bearer tokens: {@code kiln_<kind>_<43 base64url characters>} (32 random bytes). Services keep
 * only the lowercase hex SHA-256 of the whole token and compare in constant time.
 */
public final class Tokens {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final int RANDOM_BYTES = 32;

  /** Who holds a token; the kind is spelled into the token so a leaked one is recognisable. */
  public enum Kind {
    OPERATOR("op"),
    TENANT("t"),
    FARM("farm"),
    /** A webhook secret Kiln generates for one app link, shared with the forge. */
    WEBHOOK("wh");

    private final String tag;

    Kind(String tag) {
      this.tag = tag;
    }

    /** The token's prefix, e.g. {@code kiln_op_}. */
    public String prefix() {
      return "kiln_" + tag + "_";
    }
  }

  private Tokens() {}

  /** A new random token of the given kind. */
  public static String newToken(Kind kind) {
    byte[] bytes = new byte[RANDOM_BYTES];
    RANDOM.nextBytes(bytes);
    return kind.prefix() + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  /**
   * True when {@code token} has the shape of a token of this kind (says nothing about validity).
   */
  public static boolean looksLike(Kind kind, String token) {
    return token != null
        && token.startsWith(kind.prefix())
        && token.substring(kind.prefix().length()).matches("[A-Za-z0-9_-]{43}");
  }

  /** Lowercase hex SHA-256 of the whole token string (UTF-8). */
  public static String sha256Hex(String token) {
    return HexFormat.of().formatHex(sha256(token.getBytes(StandardCharsets.UTF_8)));
  }

  /** Whether {@code token} hashes to {@code sha256Hex}, compared in constant time. */
  public static boolean matches(String token, String sha256Hex) {
    if (token == null || sha256Hex == null || !isSha256Hex(sha256Hex)) {
      return false;
    }
    byte[] expected = HexFormat.of().parseHex(sha256Hex.toLowerCase(Locale.ROOT));
    return MessageDigest.isEqual(sha256(token.getBytes(StandardCharsets.UTF_8)), expected);
  }

  /** True for 64 hex digits. */
  public static boolean isSha256Hex(String value) {
    return value != null && value.matches("[0-9a-fA-F]{64}");
  }

  /** Random lowercase hex, {@code bytes * 2} characters long (task ids, token ids). */
  public static String randomHex(int bytes) {
    byte[] b = new byte[bytes];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  private static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }
}
