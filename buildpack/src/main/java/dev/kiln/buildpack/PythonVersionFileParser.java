package dev.kiln.buildpack;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * {@code .python-version}: blank lines and lines starting with {@code #} are ignored; exactly one
 * line must remain, and it must be {@code X.Y} or {@code X.Y.Z} (numbers without redundant leading
 * zeros), optionally surrounded by whitespace.
 */
final class PythonVersionFileParser {
  private static final Pattern VALID =
      Pattern.compile("(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(\\.(0|[1-9]\\d*))?");
  private static final int MAX_LISTED = 10;

  private PythonVersionFileParser() {}

  static Outcome<RequestedVersion> parse(byte[] content) {
    return parse(content, false);
  }

  /**
   * @param validateFirst the order of buildpack v318 and later: every line is checked before they
   *     are counted (so a stray invalid line is named as such, not as a second version), and a file
   *     that is not plain UTF-8 (a byte-order mark, UTF-16) is an encoding error
   */
  static Outcome<RequestedVersion> parse(byte[] content, boolean validateFirst) {
    List<String> versions = new ArrayList<>();
    for (String line : Text.lines(Text.decode(content))) {
      String trimmed = Text.stripAsciiWhitespace(line);
      if (!trimmed.isEmpty() && !trimmed.startsWith("#")) {
        versions.add(trimmed);
      }
    }
    if (validateFirst) {
      for (String version : versions) {
        if (!VALID.matcher(version).matches()) {
          return unsupportedEncoding(content)
              ? Outcome.fail(
                  Codes.PYTHON_VERSION_FILE_ENCODING,
                  ".python-version is not saved as plain UTF-8 text (it starts with a byte-order"
                      + " mark, or is UTF-16), so its version cannot be read.\n\n"
                      + "Save it as UTF-8 without a byte-order mark (most editors offer this in"
                      + " 'Save with encoding'), or write it again from a terminal:\n"
                      + "  echo 3.13 > .python-version")
              : Outcome.fail(Codes.PYTHON_VERSION_FILE_INVALID, invalidMessage(version));
        }
      }
    }
    if (versions.isEmpty()) {
      return Outcome.fail(
          Codes.PYTHON_VERSION_FILE_NO_VERSION,
          ".python-version does not name a Python version: it is empty or holds only comments and blank lines."
              + "\n\nPut the version on its own line, for example\n  3.13\n"
              + "or delete the file to use the default version.");
    }
    if (versions.size() > 1) {
      return Outcome.fail(
          Codes.PYTHON_VERSION_FILE_MULTIPLE,
          ".python-version names "
              + versions.size()
              + " versions, but an app runs on exactly one.\n\n"
              + "Found:\n"
              + Text.list(versions, MAX_LISTED)
              + "\n\nKeep the one line the app should run on (for example 3.13) and delete the others,"
              + " or turn them into comments by starting them with #.");
    }
    String version = versions.get(0);
    if (VALID.matcher(version).matches()) {
      return Outcome.ok(RequestedVersion.of(version));
    }
    return Outcome.fail(Codes.PYTHON_VERSION_FILE_INVALID, invalidMessage(version));
  }

  private static String invalidMessage(String version) {
    String hint = hint(version);
    return ".python-version does not hold a version in the form Kiln understands.\n\n"
        + "It contains:\n  "
        + Text.quote(version)
        + "\n\n"
        + (hint == null ? "" : hint + "\n\n")
        + "Write only the numbers, X.Y or X.Y.Z, for example\n  3.13\n"
        + "(recommended: you get the newest patch and its security fixes) or an exact version such as 3.13.5.";
  }

  private static String hint(String version) {
    if (version.regionMatches(true, 0, "python", 0, 6)) {
      return "Remove the 'python' prefix: the file holds only the number.";
    }
    if (version.startsWith("\uFEFF")) {
      return "The file starts with an invisible byte-order mark: save it as UTF-8 without BOM.";
    }
    if (version.contains("#")) {
      return "Comments must be on their own line; remove the text after the version.";
    }
    if (version.contains("\"") || version.contains("'")) {
      return "Remove the quotes around the version.";
    }
    if (version.matches(".*[*^~<>=!].*")) {
      return "Ranges and wildcards (*, ^, ~=, >=) are not allowed: name one version.";
    }
    if (version.matches("\\d+(\\.\\d+){1,2}")) {
      return "Write the numbers without leading zeros (3.9, not 3.09).";
    }
    if (version.matches("\\d+")) {
      return "Name the minor version too (3.13, not 3).";
    }
    return null;
  }

  private static boolean unsupportedEncoding(byte[] content) {
    boolean utf8Bom =
        content.length >= 3
            && (content[0] & 0xFF) == 0xEF
            && (content[1] & 0xFF) == 0xBB
            && (content[2] & 0xFF) == 0xBF;
    boolean utf16Bom =
        content.length >= 2
            && (((content[0] & 0xFF) == 0xFE && (content[1] & 0xFF) == 0xFF)
                || ((content[0] & 0xFF) == 0xFF && (content[1] & 0xFF) == 0xFE));
    return utf8Bom || utf16Bom;
  }
}
