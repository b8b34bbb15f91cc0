package dev.kiln.installer.pep;

import java.util.Locale;
import java.util.regex.Pattern;

/** Project and extra names as the packaging standards compare them (PEP 503, PEP 685). */
public final class ProjectName {
  private static final Pattern VALID =
      Pattern.compile("[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9]", Pattern.CASE_INSENSITIVE);
  private static final Pattern SEPARATORS = Pattern.compile("[-_.]+");

  private ProjectName() {}

  /** Lowercase, with every run of {@code -}, {@code _} and {@code .} as one {@code -}. */
  public static String normalize(String name) {
    return SEPARATORS.matcher(name.toLowerCase(Locale.ROOT)).replaceAll("-");
  }

  /** Whether {@code name} is a valid project or extra name (ASCII letters, digits, {@code -_.}). */
  public static boolean isValid(String name) {
    return name != null && VALID.matcher(name).matches();
  }
}
