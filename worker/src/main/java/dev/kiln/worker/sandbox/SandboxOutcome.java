package dev.kiln.worker.sandbox;

import java.time.Duration;
import java.util.List;

/**
 * How a sandboxed command ended.
 *
 * @param exitCode the command's exit status (128 + signal when a signal ended it); -1 when the
 *     worker killed it
 * @param ending why it ended
 * @param elapsed how long it ran
 * @param tail its last output lines, oldest first, for error messages
 * @param hiddenLines output lines not passed on because of the output limit
 */
public record SandboxOutcome(
    int exitCode, Ending ending, Duration elapsed, List<String> tail, long hiddenLines) {

  public enum Ending {
    /** The command exited by itself (zero or not). */
    EXITED,
    /** The worker killed it at its time limit. */
    TIMED_OUT,
    /** The kernel killed it for going over its memory limit. */
    OUT_OF_MEMORY
  }

  public SandboxOutcome {
    tail = List.copyOf(tail);
  }

  public boolean succeeded() {
    return ending == Ending.EXITED && exitCode == 0;
  }

  public String tailText() {
    return String.join("\n", tail);
  }
}
