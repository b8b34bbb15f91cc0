package dev.kiln.events;

/** Quotes untrusted text for messages: control characters become U+FFFD, long text is cut. */
public final class Quote {
  private Quote() {}

  public static String safe(String value, int maxChars) {
    if (value == null) {
      return "";
    }
    StringBuilder out = new StringBuilder(Math.min(value.length(), maxChars) + 1);
    int count = 0;
    for (int i = 0; i < value.length() && count < maxChars; ) {
      int cp = value.codePointAt(i);
      i += Character.charCount(cp);
      out.appendCodePoint(Character.isISOControl(cp) ? 0xFFFD : cp);
      count++;
    }
    if (count < value.codePointCount(0, value.length())) {
      out.append('…');
    }
    return out.toString();
  }
}
