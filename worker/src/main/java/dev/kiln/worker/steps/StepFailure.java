package dev.kiln.worker.steps;

import dev.kiln.events.CodedMessage;
import java.util.Objects;

/**
 * A step could not do its work because of the build's input or environment. {@link #code()} is
 * stable and machine-readable ({@code area::reason}, e.g. {@code install::package-not-found});
 * {@link #getMessage()} says what happened and how to fix it, for the person who pushed.
 */
public class StepFailure extends Exception {
  private final String code;
  private boolean shownInLog;

  public StepFailure(String code, String message) {
    super(message);
    this.code = requireCode(code);
  }

  /**
   * A failure the step has already written to the build log in its framed block (the buildpack
   * rules render their own): the task runner does not frame it a second time, so the log shows each
   * failure once.
   */
  public static StepFailure alreadyShown(String code, String message) {
    StepFailure failure = new StepFailure(code, message);
    failure.shownInLog = true;
    return failure;
  }

  /** Whether the build log already holds this failure's framed block. */
  public boolean shownInLog() {
    return shownInLog;
  }

  public StepFailure(String code, String message, Throwable cause) {
    super(message, cause);
    this.code = requireCode(code);
  }

  public String code() {
    return code;
  }

  /** The failure as it travels in a {@code TaskResult}. */
  public CodedMessage toCodedMessage() {
    return new CodedMessage(code, getMessage());
  }

  private static String requireCode(String code) {
    Objects.requireNonNull(code, "code");
    if (!code.contains("::")) {
      throw new IllegalArgumentException(
          "step failure code '" + code + "' must look like area::reason");
    }
    return code;
  }
}
