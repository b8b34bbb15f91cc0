package dev.kiln.buildpack;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Python version {@code X.Y} or {@code X.Y.Z}. Numbers too large for an int saturate, so a silly
 * version still compares as "newer than anything known" instead of failing.
 */
record VersionNumber(int major, int minor, Integer patch) implements Comparable<VersionNumber> {
  private static final Pattern SHAPE = Pattern.compile("(\\d+)\\.(\\d+)(?:\\.(\\d+))?");

  static Optional<VersionNumber> parse(String text) {
    Matcher m = SHAPE.matcher(text);
    if (!m.matches()) {
      return Optional.empty();
    }
    return Optional.of(
        new VersionNumber(
            number(m.group(1)),
            number(m.group(2)),
            m.group(3) == null ? null : number(m.group(3))));
  }

  private static int number(String digits) {
    String trimmed = digits.replaceFirst("^0+(?=\\d)", "");
    if (trimmed.length() > 9) {
      return Integer.MAX_VALUE;
    }
    return Integer.parseInt(trimmed);
  }

  VersionNumber minorVersion() {
    return new VersionNumber(major, minor, null);
  }

  VersionNumber withPatch(int newPatch) {
    return new VersionNumber(major, minor, newPatch);
  }

  boolean exact() {
    return patch != null;
  }

  @Override
  public int compareTo(VersionNumber other) {
    int c = Integer.compare(major, other.major);
    if (c == 0) {
      c = Integer.compare(minor, other.minor);
    }
    if (c == 0) {
      c = Integer.compare(patch == null ? -1 : patch, other.patch == null ? -1 : other.patch);
    }
    return c;
  }

  @Override
  public String toString() {
    return major + "." + minor + (patch == null ? "" : "." + patch);
  }
}
