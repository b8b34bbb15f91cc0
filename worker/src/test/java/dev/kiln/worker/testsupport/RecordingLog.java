package dev.kiln.worker.testsupport;

import dev.kiln.worker.steps.LogSink;
import java.util.ArrayList;
import java.util.List;

/** A build log that keeps every line, for assertions. */
public final class RecordingLog implements LogSink {
  private final List<String> lines = new ArrayList<>();

  @Override
  public synchronized void info(String line) {
    lines.add(line);
  }

  @Override
  public synchronized void warn(String line) {
    lines.add("WARN " + line);
  }

  @Override
  public synchronized void error(String line) {
    lines.add("ERROR " + line);
  }

  public synchronized List<String> lines() {
    return List.copyOf(lines);
  }

  public synchronized String text() {
    return String.join("\n", lines);
  }
}
