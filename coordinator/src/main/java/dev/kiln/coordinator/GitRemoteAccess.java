package dev.kiln.coordinator;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Locale;
import java.util.Optional;

/**
 * Who may push to a git remote. git sends HTTP Basic credentials (it has no bearer tokens): the
 * user name is ignored and the password is a Kiln token — the tenant's own, or the operator's.
 */
final class GitRemoteAccess {
  private GitRemoteAccess() {}

  /** What to answer a request for a tenant's remote. */
  enum Verdict {
    /** The caller may push to the tenant's apps. */
    ALLOW,
    /** No usable credentials: 401 with a Basic challenge, so git asks for them. */
    CHALLENGE,
    /**
     * A valid token of another tenant: answered exactly as an app that does not exist, so a token
     * does not reveal which tenants and apps a farm has.
     */
    NOT_FOUND
  }

  /** The password of a {@code Basic} Authorization header (the token), if there is one. */
  static Optional<String> basicPassword(String authorization) {
    if (authorization == null) {
      return Optional.empty();
    }
    String value = authorization.strip();
    if (value.length() < 6 || !value.substring(0, 6).toLowerCase(Locale.ROOT).equals("basic ")) {
      return Optional.empty();
    }
    String decoded;
    try {
      decoded =
          new String(
              Base64.getDecoder().decode(value.substring(6).strip()), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
    int colon = decoded.indexOf(':');
    String password = colon < 0 ? "" : decoded.substring(colon + 1);
    return password.isEmpty() ? Optional.empty() : Optional.of(password);
  }

  /**
   * The verdict for a caller (empty: the credentials matched no token) asking for {@code tenant}'s
   * remote.
   */
  static Verdict decide(Optional<Caller> caller, String tenant) {
    if (caller.isEmpty()) {
      return Verdict.CHALLENGE;
    }
    return caller.get().mayActFor(tenant) ? Verdict.ALLOW : Verdict.NOT_FOUND;
  }

  /** As the bearer header the API's authentication reads. */
  static String asBearer(String token) {
    return "Bearer " + token;
  }
}
