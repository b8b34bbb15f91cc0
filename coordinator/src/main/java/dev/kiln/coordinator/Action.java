package dev.kiln.coordinator;

import dev.kiln.events.BuildCancelled;
import dev.kiln.events.BuildFailed;
import dev.kiln.events.BuildLogLine;
import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildTask;
import dev.kiln.events.ImageReady;
import dev.kiln.events.TaskKind;

/**
 * One thing the coordinator must make durable in Kafka. A {@link Decision} lists them in the order
 * they are carried out, each acknowledged before the next starts.
 */
sealed interface Action {

  /** Write the build's snapshot to the compacted {@code kiln.builds} topic. */
  record WriteSnapshot(BuildSnapshot snapshot) implements Action {}

  /** Send a task to the workers on {@code kiln.tasks}. */
  record PublishTask(BuildTask task) implements Action {}

  /** Tell deployers the image exists ({@code kiln.image-ready}). */
  record PublishImageReady(ImageReady event) implements Action {}

  /** Tell deployers and the pusher the build failed ({@code kiln.build-failed}). */
  record PublishBuildFailed(BuildFailed event) implements Action {}

  /**
   * Tell deployers and the pusher a later push superseded the build ({@code kiln.build-cancelled}).
   */
  record PublishBuildCancelled(BuildCancelled event) implements Action {}

  /** Add a line to the build's log ({@code kiln.logs}). */
  record Log(String buildId, String taskId, TaskKind stage, BuildLogLine.Level level, String text)
      implements Action {}

  /** Nothing to do; the reason says why the input was dropped (duplicate, stale, unknown). */
  record Ignore(String reason) implements Action {}
}
