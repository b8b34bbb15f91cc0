package dev.kiln.installer.pep;

/** Python's idea of whitespace and string order, where the packaging standards lean on it. */
public final class PythonStrings {
  private static final int SHOWN = 120;

  private PythonStrings() {}

  /** Python's {@code str.isspace()}: Unicode whitespace, including the no-break spaces. */
  static boolean isSpace(int c) {
    return Character.isWhitespace(c)
        || Character.isSpaceChar(c)
        || c == 0x85
        || (c >= 0x1c && c <= 0x1f);
  }

  /** Python's {@code str.strip()}. */
  static String strip(String text) {
    int start = 0;
    int end = text.length();
    while (start < end && isSpace(text.charAt(start))) {
      start++;
    }
    while (end > start && isSpace(text.charAt(end - 1))) {
      end--;
    }
    return text.substring(start, end);
  }

  /** Python's {@code <} on strings: by code point. */
  public static int compare(String a, String b) {
    int i = 0;
    int j = 0;
    while (i < a.length() && j < b.length()) {
      int ca = a.codePointAt(i);
      int cb = b.codePointAt(j);
      if (ca != cb) {
        return Integer.compare(ca, cb);
      }
      i += Character.charCount(ca);
      j += Character.charCount(cb);
    }
    return Boolean.compare(i < a.length(), j < b.length());
  }

  /** {@code text} made safe for a one-line message: control characters escaped, length bounded. */
  static String quote(String text) {
    StringBuilder out = new StringBuilder();
    int i = 0;
    for (; i < text.length() && out.length() < SHOWN; i++) {
      char c = text.charAt(i);
      switch (c) {
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (Character.isISOControl(c)) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    if (i < text.length()) {
      out.append('…');
    }
    return out.toString();
  }
}
