package dev.kiln.worker.steps;

import dev.kiln.events.BuildTask;
import java.nio.file.Path;
import java.util.Objects;

/**
 * What every step gets: the task, the fetched source tree of the task's commit (the repository
 * root, not the plan's {@code sourceDir}) and the build log.
 */
public record StepContext(BuildTask task, Path sourceDir, LogSink log) {
  public StepContext {
    Objects.requireNonNull(task, "task");
    Objects.requireNonNull(sourceDir, "sourceDir");
    Objects.requireNonNull(log, "log");
  }
}
