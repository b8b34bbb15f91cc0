package dev.kiln.buildpack;

import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Python distribution names: normalization (PEP 503) and extraction from requirement strings. */
final class PackageNames {
  private static final Pattern LEADING_NAME =
      Pattern.compile("^\\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)");
  private static final Pattern EGG = Pattern.compile("[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)");
  private static final Pattern WHEEL_FILE =
      Pattern.compile("(?:^|[/\\\\])([A-Za-z0-9][A-Za-z0-9._]*)-[^/\\\\-]+-[^/\\\\]*\\.whl$");

  private PackageNames() {}

  static String normalize(String name) {
    return name.toLowerCase(Locale.ROOT).replaceAll("[-_.]+", "-");
  }

  /**
   * The distribution name of a requirement such as {@code gunicorn[gevent]>=21;
   * python_version>"3"}, {@code name @ https://…}, a wheel path, or a URL with {@code #egg=name}.
   */
  static Optional<String> fromRequirement(String requirement) {
    String text = requirement.strip();
    Matcher egg = EGG.matcher(text);
    if (egg.find()) {
      return Optional.of(normalize(egg.group(1)));
    }
    Matcher wheel = WHEEL_FILE.matcher(text.split("[;\\s]", 2)[0]);
    if (wheel.find()) {
      return Optional.of(normalize(wheel.group(1)));
    }
    if (text.contains("://") && !text.contains("@")) {
      return Optional.empty();
    }
    if (text.startsWith(".") || text.startsWith("/") || text.startsWith("~")) {
      return Optional.empty();
    }
    Matcher name = LEADING_NAME.matcher(text);
    return name.find() ? Optional.of(normalize(name.group(1))) : Optional.empty();
  }
}
