package dev.kiln.cache;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Checks the farm token workers present. The service holds only the token's SHA-256 (lowercase hex
 * of the UTF-8 token string), so its configuration cannot be replayed as a credential.
 *
 * <p>Same hash as {@code dev.kiln.events.security.Tokens} (issue 8 contract); this copy goes once
 * that helper is merged.
 */
final class FarmCredential {
  private final byte[] expectedSha256;

  FarmCredential(String sha256Hex) {
    String hex = sha256Hex.strip().toLowerCase(Locale.ROOT);
    if (!hex.matches("[0-9a-f]{64}")) {
      throw new IllegalArgumentException(
          "farmTokenSha256 must be the 64 lowercase hex characters of the farm token's SHA-256"
              + " (e.g. `printf %s \"$KILN_FARM_TOKEN\" | sha256sum`), not the token itself");
    }
    this.expectedSha256 = HexFormat.of().parseHex(hex);
  }

  static String sha256Hex(String token) {
    return HexFormat.of().formatHex(sha256(token));
  }

  boolean matches(String presentedToken) {
    return MessageDigest.isEqual(sha256(presentedToken), expectedSha256);
  }

  private static byte[] sha256(String token) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
