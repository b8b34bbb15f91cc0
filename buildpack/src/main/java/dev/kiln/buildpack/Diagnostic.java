package dev.kiln.buildpack;

import java.util.Objects;

/**
 * A warning or a failure: a stable machine-readable {@code code} ({@code area::reason}) and a
 * message for people. The first line of the message is a one-line summary; the rest says what was
 * found and how to fix it.
 */
public record Diagnostic(String code, String message) {
  public Diagnostic {
    Objects.requireNonNull(code, "code");
    Objects.requireNonNull(message, "message");
  }

  /** The first line of the message. */
  public String summary() {
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }
}
