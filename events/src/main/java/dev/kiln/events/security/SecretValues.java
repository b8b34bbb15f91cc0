package dev.kiln.events.security;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Recognises environment values that look secret and masks them, for every place a push's variables
 * are shown (API answers, logs): a variable whose name says it is a secret, and the password in a
 * URL's user info ({@code https://user:pw@host/…}).
 */
public final class SecretValues {
  public static final String MASK = "****";

  private static final Pattern SECRET_NAME =
      Pattern.compile(
          ".*(PASSWORD|PASSWD|SECRET|TOKEN|KEY|CREDENTIAL).*", Pattern.CASE_INSENSITIVE);
  private static final Pattern URL_PASSWORD =
      Pattern.compile("(?<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?<user>[^:/@\\s]*):(?<pw>[^@/\\s]*)@");

  private SecretValues() {}

  public static boolean isSecretName(String name) {
    return name != null && SECRET_NAME.matcher(name).matches();
  }

  /** The value with any URL password replaced by {@link #MASK}. */
  public static String maskUrlPasswords(String value) {
    if (value == null || !value.contains("@")) {
      return value;
    }
    return URL_PASSWORD.matcher(value).replaceAll("${scheme}${user}:" + MASK + "@");
  }

  /** One variable's value as it may be shown. */
  public static String mask(String name, String value) {
    if (value == null) {
      return null;
    }
    return isSecretName(name) ? MASK : maskUrlPasswords(value);
  }

  /** A copy of the variables with every secret-looking value masked. */
  public static Map<String, String> mask(Map<String, String> env) {
    Map<String, String> masked = new LinkedHashMap<>();
    env.forEach((k, v) -> masked.put(k, mask(k, v)));
    return masked;
  }

  /** True when any value would be changed by {@link #mask(Map)}. */
  public static boolean anySecret(Map<String, String> env) {
    return env.entrySet().stream()
        .anyMatch(
            e -> e.getValue() != null && !e.getValue().equals(mask(e.getKey(), e.getValue())));
  }

  /** A URL without user info, to show or to hand on ({@code https://host/simple/}). */
  public static String withoutUserInfo(String url) {
    try {
      URI uri = URI.create(url);
      if (uri.getRawUserInfo() == null) {
        return url;
      }
      return new URI(
              uri.getScheme(),
              null,
              uri.getHost(),
              uri.getPort(),
              uri.getPath(),
              uri.getQuery(),
              uri.getFragment())
          .toString();
    } catch (IllegalArgumentException | java.net.URISyntaxException e) {
      return maskUrlPasswords(url);
    }
  }
}
