package dev.kiln.buildpack;

/** One thing the planner reports, in order; {@link BuildLogRenderer} turns these into log lines. */
record LogEvent(Kind kind, String text, Diagnostic diagnostic) {
  enum Kind {
    STEP,
    DETAIL,
    WARNING,
    ERROR
  }

  static LogEvent step(String text) {
    return new LogEvent(Kind.STEP, text, null);
  }

  static LogEvent detail(String text) {
    return new LogEvent(Kind.DETAIL, text, null);
  }

  static LogEvent warning(Diagnostic diagnostic) {
    return new LogEvent(Kind.WARNING, null, diagnostic);
  }

  static LogEvent error(Diagnostic diagnostic) {
    return new LogEvent(Kind.ERROR, null, diagnostic);
  }
}
