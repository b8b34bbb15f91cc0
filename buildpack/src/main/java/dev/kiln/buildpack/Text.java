package dev.kiln.buildpack;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** Decoding and safe quoting of text that came from an app's files. */
final class Text {
  static final char REPLACEMENT = '\uFFFD';
  static final int QUOTE_LIMIT = 100;

  private Text() {}

  /** UTF-8 with every malformed sequence replaced, so any bytes decode. */
  static String decode(byte[] bytes) {
    CharsetDecoder decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    try {
      return decoder.decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException impossibleWithReplace) {
      return new String(bytes, StandardCharsets.UTF_8);
    }
  }

  static boolean isAsciiWhitespace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\u000B' || c == '\f';
  }

  /** Strips the whitespace a shell's {@code [[:space:]]} matches, and nothing else. */
  static String stripAsciiWhitespace(String s) {
    int start = 0;
    int end = s.length();
    while (start < end && isAsciiWhitespace(s.charAt(start))) {
      start++;
    }
    while (end > start && isAsciiWhitespace(s.charAt(end - 1))) {
      end--;
    }
    return s.substring(start, end);
  }

  /** Lines split on LF; a CR before the LF is left for the caller's strip. */
  static List<String> lines(String s) {
    List<String> lines = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) == '\n') {
        lines.add(s.substring(start, i));
        start = i + 1;
      }
    }
    if (start < s.length()) {
      lines.add(s.substring(start));
    }
    return lines;
  }

  /** {@link #quote(String, int)} with the usual limit of 100 characters. */
  static String quote(String raw) {
    return quote(raw, QUOTE_LIMIT);
  }

  /**
   * Makes untrusted text safe to show on one line: control and invisible formatting characters
   * (including CR, LF, tab, escape and the byte-order mark) become U+FFFD, and only the first
   * {@code limit} characters are kept, followed by an ellipsis when cut.
   */
  static String quote(String raw, int limit) {
    if (raw == null) {
      return "";
    }
    StringBuilder out = new StringBuilder();
    int count = 0;
    int i = 0;
    while (i < raw.length()) {
      if (count == limit) {
        out.append('…');
        break;
      }
      int cp = raw.codePointAt(i);
      i += Character.charCount(cp);
      out.appendCodePoint(isUnsafe(cp) ? REPLACEMENT : cp);
      count++;
    }
    return out.toString();
  }

  private static boolean isUnsafe(int cp) {
    int type = Character.getType(cp);
    return type == Character.CONTROL
        || type == Character.FORMAT
        || type == Character.SURROGATE
        || type == Character.UNASSIGNED
        || type == Character.LINE_SEPARATOR
        || type == Character.PARAGRAPH_SEPARATOR
        || type == Character.PRIVATE_USE;
  }

  /** A list for a message: each item quoted, at most {@code max} shown. */
  static String list(Collection<String> items, int max) {
    StringBuilder out = new StringBuilder();
    int shown = 0;
    for (String item : items) {
      if (shown == max) {
        out.append("\n  … and ").append(items.size() - max).append(" more");
        break;
      }
      if (shown > 0) {
        out.append('\n');
      }
      out.append("  ").append(quote(item));
      shown++;
    }
    return out.toString();
  }

  static String commaList(Collection<String> items) {
    return String.join(", ", items);
  }
}
