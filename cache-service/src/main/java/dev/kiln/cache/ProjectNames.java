package dev.kiln.cache;

import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/** Python project names: PEP 503 normalization and the names hidden in distribution filenames. */
final class ProjectNames {
  private static final Pattern VALID =
      Pattern.compile("^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$");
  private static final Pattern SEPARATOR_RUNS = Pattern.compile("[-_.]+");
  private static final String[] SDIST_SUFFIXES = {".tar.gz", ".tar.bz2", ".tgz", ".zip", ".tar"};

  private ProjectNames() {}

  static boolean isValid(String name) {
    return name != null && VALID.matcher(name).matches();
  }

  /** PEP 503: runs of {@code -_.} become one {@code -}, then lowercase. */
  static String normalize(String name) {
    return SEPARATOR_RUNS.matcher(name).replaceAll("-").toLowerCase(Locale.ROOT);
  }

  /** Normalizes a name from a request, rejecting anything that cannot be a project name. */
  static String requireNormalized(String name) {
    if (!isValid(name)) {
      throw CacheError.badRequest(
          "'"
              + name
              + "' is not a valid Python project name: use"
              + " letters, digits, '.', '_' and '-', starting and ending with a letter or digit");
    }
    return normalize(name);
  }

  /**
   * The normalized project a wheel or sdist filename belongs to, e.g. {@code demo-pkg} for {@code
   * demo_pkg-1.0-py3-none-any.whl}; empty when the name is not a distribution filename.
   */
  static Optional<String> projectOfFilename(String filename) {
    String base;
    if (filename.endsWith(".whl")) {
      int dash = filename.indexOf('-');
      base = dash > 0 ? filename.substring(0, dash) : null;
    } else {
      base = null;
      for (String suffix : SDIST_SUFFIXES) {
        if (filename.endsWith(suffix)) {
          String stem = filename.substring(0, filename.length() - suffix.length());
          int dash = stem.lastIndexOf('-');
          base = dash > 0 ? stem.substring(0, dash) : null;
          break;
        }
      }
    }
    return base != null && isValid(base) ? Optional.of(normalize(base)) : Optional.empty();
  }

  static boolean isDistributionFilename(String filename) {
    return projectOfFilename(filename).isPresent();
  }
}
