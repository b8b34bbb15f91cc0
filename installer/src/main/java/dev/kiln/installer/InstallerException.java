package dev.kiln.installer;

import java.util.Objects;

/**
 * A dependency set cannot be read, resolved or installed because of the app's files or the index: a
 * stable {@code area::reason} code (see {@link Codes}) and a message that says which file, what is
 * wrong and the command that fixes it.
 */
public class InstallerException extends Exception {
  private final String code;

  public InstallerException(String code, String message) {
    super(message);
    this.code = requireCode(code);
  }

  public InstallerException(String code, String message, Throwable cause) {
    super(message, cause);
    this.code = requireCode(code);
  }

  public String code() {
    return code;
  }

  private static String requireCode(String code) {
    Objects.requireNonNull(code, "code");
    if (!code.contains("::")) {
      throw new IllegalArgumentException("code '" + code + "' must look like area::reason");
    }
    return code;
  }
}
