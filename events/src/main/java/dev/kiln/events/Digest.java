package dev.kiln.events;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.regex.Pattern;

/** A validated {@code sha256:<64 hex>} content digest. */
public record Digest(String hex) {
  private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");

  public Digest {
    if (hex == null || !HEX.matcher(hex).matches()) {
      throw new IllegalArgumentException(
          "'" + Quote.safe(hex, 80) + "' is not a sha256 digest; expected 64 lowercase hex digits");
    }
  }

  /** Parses {@code sha256:<hex>} (or a bare 64-hex string). */
  @JsonCreator
  public static Digest of(String value) {
    if (value == null) {
      throw new IllegalArgumentException("digest is missing; expected sha256:<64 hex digits>");
    }
    return new Digest(value.startsWith("sha256:") ? value.substring(7) : value);
  }

  @JsonValue
  @Override
  public String toString() {
    return "sha256:" + hex;
  }
}
