package dev.kiln.buildpack;

import java.util.ArrayList;
import java.util.List;

/**
 * Heroku-style build log lines: {@code -----> } step headers, details indented by seven spaces, and
 * warnings and errors as blocks framed by {@code ! } with a {@code Warning:} or {@code Error:}
 * title. Every line is sanitized (no control characters reach a terminal).
 */
final class BuildLogRenderer {
  static final String STEP = "-----> ";
  static final String INDENT = "       ";
  static final String FRAME = " !     ";

  private BuildLogRenderer() {}

  static List<String> render(List<LogEvent> events) {
    List<String> lines = new ArrayList<>();
    for (LogEvent event : events) {
      switch (event.kind()) {
        case STEP -> lines.add(STEP + Text.quote(event.text(), 500));
        case DETAIL -> lines.add(INDENT + Text.quote(event.text(), 500));
        case WARNING -> block(lines, "Warning", event.diagnostic());
        case ERROR -> block(lines, "Error", event.diagnostic());
      }
    }
    return lines;
  }

  /** A framed block on its own: blank line, title, body, code, blank line. */
  static void block(List<String> lines, String title, Diagnostic diagnostic) {
    List<String> body = Text.lines(diagnostic.message());
    lines.add("");
    lines.add(FRAME + title + ": " + Text.quote(body.isEmpty() ? "" : body.get(0), 500));
    for (int i = 1; i < body.size(); i++) {
      String line = Text.quote(body.get(i), 500);
      lines.add(line.isEmpty() ? FRAME.stripTrailing() : FRAME + line);
    }
    lines.add(FRAME.stripTrailing());
    lines.add(FRAME + "(code: " + diagnostic.code() + ")");
    lines.add("");
  }
}
