package dev.kiln.events;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Build ids are derived from tenant, app and commit, so a redelivered push maps to its build. */
public final class BuildIds {
  private BuildIds() {}

  public static String of(String tenant, String app, String commit) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      byte[] hash =
          sha.digest((tenant + "\0" + app + "\0" + commit).getBytes(StandardCharsets.UTF_8));
      return "b-" + HexFormat.of().formatHex(hash, 0, 10);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  public static boolean isValid(String buildId) {
    return buildId != null && buildId.matches("b-[0-9a-f]{20}");
  }
}
