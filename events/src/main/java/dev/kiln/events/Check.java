package dev.kiln.events;

import java.util.regex.Pattern;

/** Field checks shared by the event bodies; each failure names the field and the fix. */
final class Check {
  private static final Pattern NAME = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
  private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}|[0-9a-f]{64}");
  private static final int MAX_TEXT = 4096;

  private Check() {}

  static void present(String field, Object value) throws InvalidEventException {
    if (value == null) {
      throw new InvalidEventException(field, "is missing; it is required");
    }
  }

  static void text(String field, String value) throws InvalidEventException {
    present(field, value);
    if (value.isBlank()) {
      throw new InvalidEventException(field, "is empty; it is required");
    }
    if (value.length() > MAX_TEXT) {
      throw new InvalidEventException(
          field, "is " + value.length() + " characters long; at most " + MAX_TEXT + " are allowed");
    }
  }

  /** Tenant and app names: DNS-label style, as they end up in image names. */
  static void name(String field, String value) throws InvalidEventException {
    text(field, value);
    if (!NAME.matcher(value).matches()) {
      throw new InvalidEventException(
          field,
          "'"
              + Quote.safe(value, 80)
              + "' is not a valid name; use 1-63 lowercase letters, digits and '-', starting and"
              + " ending with a letter or digit");
    }
  }

  static void commit(String field, String value) throws InvalidEventException {
    text(field, value);
    if (!COMMIT.matcher(value).matches()) {
      throw new InvalidEventException(
          field,
          "'"
              + Quote.safe(value, 80)
              + "' is not a full git commit id; send the 40 (or 64) lowercase hex characters that"
              + " `git rev-parse HEAD` prints");
    }
  }

  static void repositoryUrl(String field, String value) throws InvalidEventException {
    text(field, value);
    boolean ok =
        value.startsWith("https://")
            || value.startsWith("http://")
            || value.startsWith("ssh://")
            || value.startsWith("git://")
            || value.startsWith("file:///")
            || value.matches("[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:.+");
    if (!ok) {
      throw new InvalidEventException(
          field,
          "'"
              + Quote.safe(value, 120)
              + "' is not a git URL Kiln can fetch; use https://, ssh://, git://, user@host:path"
              + " or file:///absolute/path");
    }
  }

  static void positive(String field, int value) throws InvalidEventException {
    if (value < 1) {
      throw new InvalidEventException(field, "is " + value + "; it must be 1 or more");
    }
  }
}
