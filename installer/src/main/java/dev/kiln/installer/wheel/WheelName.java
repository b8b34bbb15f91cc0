package dev.kiln.installer.wheel;

import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import java.util.Locale;

/**
 * The parts of a wheel's file name the install needs: {@code
 * {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl}.
 */
record WheelName(String filename, String distribution, String version) {

  static WheelName parse(String filename) throws InstallerException {
    String[] parts =
        filename.endsWith(".whl")
            ? filename.substring(0, filename.length() - 4).split("-", -1)
            : new String[0];
    if ((parts.length != 5 && parts.length != 6)
        || java.util.Arrays.stream(parts).anyMatch(String::isEmpty)) {
      throw new InstallerException(
          Codes.INVALID_WHEEL,
          "'"
              + filename
              + "' is not a wheel file name: a wheel is named"
              + " {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl"
              + " (e.g. flask-3.0.0-py3-none-any.whl); take the file from the index unrenamed");
    }
    return new WheelName(filename, parts[0], parts[1]);
  }

  /**
   * Whether {@code stem} (a {@code .dist-info} or {@code .data} directory name without the suffix)
   * names this wheel's distribution and version. Names compare as PEP 503 normalizes them; versions
   * ignoring case, with {@code -} and {@code _} alike (the file name escapes {@code -}).
   */
  boolean isNamedBy(String stem) {
    int dash = stem.lastIndexOf('-');
    if (dash <= 0 || dash == stem.length() - 1) {
      return false;
    }
    return normalizedName(stem.substring(0, dash)).equals(normalizedName(distribution))
        && comparableVersion(stem.substring(dash + 1)).equals(comparableVersion(version));
  }

  static String normalizedName(String name) {
    return name.toLowerCase(Locale.ROOT).replaceAll("[-_.]+", "-");
  }

  private static String comparableVersion(String version) {
    return version.toLowerCase(Locale.ROOT).replace('-', '_');
  }
}
