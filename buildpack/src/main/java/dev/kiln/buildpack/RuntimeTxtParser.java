package dev.kiln.buildpack;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code runtime.txt}: the whole file, once surrounding whitespace (blank lines, CRLF) is removed,
 * must be {@code python-X.Y} or {@code python-X.Y.Z}. There are no comments.
 */
final class RuntimeTxtParser {
  private static final Pattern VALID = Pattern.compile("python-(\\d+\\.\\d+(?:\\.\\d+)?)");

  private RuntimeTxtParser() {}

  static Outcome<RequestedVersion> parse(byte[] content) {
    return parse(content, false);
  }

  /**
   * @param commentsAllowed the levels that allow it (from buildpack v318 on) drop blank lines and
   *     lines starting with {@code #} first; the one line left must then be the version
   */
  static Outcome<RequestedVersion> parse(byte[] content, boolean commentsAllowed) {
    String text = Text.decode(content);
    if (commentsAllowed) {
      text =
          String.join(
              "\n",
              text.lines()
                  .map(Text::stripAsciiWhitespace)
                  .filter(line -> !line.isEmpty() && !line.startsWith("#"))
                  .toList());
    }
    String found = Text.stripAsciiWhitespace(text);
    Matcher matcher = VALID.matcher(found);
    if (matcher.matches()) {
      return Outcome.ok(RequestedVersion.of(matcher.group(1)));
    }
    return Outcome.fail(Codes.RUNTIME_TXT_INVALID_VERSION, invalidMessage(found));
  }

  private static String invalidMessage(String found) {
    StringBuilder message =
        new StringBuilder(
            "runtime.txt does not name a Python version in the form Kiln understands.\n\n");
    if (found.isEmpty()) {
      message.append("The file is empty.\n\n");
    } else {
      message
          .append("It contains (first ")
          .append(Text.QUOTE_LIMIT)
          .append(" characters, control characters shown as ")
          .append(Text.REPLACEMENT)
          .append("):\n  ")
          .append(Text.quote(found))
          .append("\n\n");
    }
    String hint = hint(found);
    if (hint != null) {
      message.append(hint).append("\n\n");
    }
    message.append(
        "runtime.txt must hold exactly one line such as\n  python-3.13\n"
            + "(or an exact version such as python-3.13.5) and nothing else: no spaces inside, no comments.\n\n"
            + "Better still, delete runtime.txt and create a file named .python-version containing just\n  3.13\n"
            + "runtime.txt is kept only for compatibility.");
    return message.toString();
  }

  private static String hint(String found) {
    if (found.startsWith("\uFEFF")) {
      return "The file starts with an invisible byte-order mark: save it as UTF-8 without BOM.";
    }
    if (found.contains("#")) {
      return "Comments are not allowed in runtime.txt.";
    }
    if (found.matches("(?i)python[ _=]?-?\\s*\\d.*") && !found.startsWith("python-")) {
      return "Write the version as python- followed by the number, with nothing in between.";
    }
    if (found.matches("\\d+\\.\\d+(\\.\\d+)?")) {
      return "The version needs the prefix python- in runtime.txt (this bare form belongs in .python-version).";
    }
    return null;
  }
}
