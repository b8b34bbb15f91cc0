package dev.kiln.worker.steps;

/**
 * The build log a step writes to, Heroku style: {@code -----> } headlines, 7-space indented detail.
 * Implementations must be safe to call from any thread.
 */
public interface LogSink {
  void info(String line);

  void warn(String line);

  void error(String line);

  /** Drops every line; for callers that have no build log. */
  LogSink DISCARD =
      new LogSink() {
        @Override
        public void info(String line) {}

        @Override
        public void warn(String line) {}

        @Override
        public void error(String line) {}
      };
}
