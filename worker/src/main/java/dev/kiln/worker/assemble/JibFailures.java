package dev.kiln.worker.assemble;

import dev.kiln.worker.runtime.RuntimeImageReference;
import dev.kiln.worker.steps.StepFailure;
import java.util.Set;
import java.util.concurrent.ExecutionException;

/**
 * Turns what jib throws into a coded failure that says which side failed and what to do.
 *
 * <p>jib's exceptions do not say whether they came from reading the base image or from writing the
 * result; the jib step that was running does. So the failure is attributed by the jib step classes
 * on its stack (they are the stable units of jib's build graph).
 */
final class JibFailures {
  private static final String STEPS = "com.google.cloud.tools.jib.builder.steps.";
  private static final Set<String> BASE_STEPS =
      Set.of(STEPS + "PullBaseImageStep", STEPS + "LocalBaseImageSteps", STEPS + "ExtractTarStep");
  private static final Set<String> PUSH_STEPS =
      Set.of(
          STEPS + "AuthenticatePushStep",
          STEPS + "PushBlobStep",
          STEPS + "PushLayerStep",
          STEPS + "PushContainerConfigurationStep",
          STEPS + "PushImageStep",
          STEPS + "CheckManifestStep");
  private static final String BASE_LAYER_STEP = STEPS + "ObtainBaseImageLayerStep";
  private static final int MAX_REASON = 400;

  enum Side {
    BASE_IMAGE,
    PUSH,
    OTHER
  }

  private JibFailures() {}

  static StepFailure classify(
      Exception failure, RuntimeImageReference base, ImageTarget.Delivery delivery, String python) {
    String reason = reason(failure);
    return switch (sideOf(failure)) {
      case BASE_IMAGE ->
          new StepFailure(
              AssembleStep.BASE_IMAGE_UNAVAILABLE,
              "The runtime image for Python "
                  + python
                  + ", "
                  + base
                  + ", could not be read: "
                  + reason
                  + ". Make it available to the worker (push it to that registry, load it into"
                  + " the Docker daemon, or create the tarball), or point the catalog entry for "
                  + python
                  + " at an image that exists, in the runtime catalog (--runtime-catalog /"
                  + " KILN_RUNTIME_CATALOG; see docs/images.md).",
              failure);
      case PUSH ->
          new StepFailure(
              AssembleStep.PUSH_FAILED,
              "Could not push the image to "
                  + delivery.describe()
                  + ": "
                  + reason
                  + ". Check that "
                  + "the registry is running and reachable from the worker, and, if it needs a login, "
                  + "that the worker's ~/.docker/config.json has credentials for it (docker login).",
              failure);
      case OTHER ->
          new StepFailure(
              AssembleStep.FAILED,
              "Could not assemble the image for "
                  + delivery.describe()
                  + " on "
                  + base
                  + ": "
                  + reason
                  + ".",
              failure);
    };
  }

  /** Which side the running jib step was working on when {@code failure} happened. */
  static Side sideOf(Throwable failure) {
    boolean base = false;
    boolean push = false;
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      StackTraceElement[] frames = t.getStackTrace();
      for (int i = 0; i < frames.length; i++) {
        String type = frames[i].getClassName();
        int nested = type.indexOf('$');
        String outer = nested < 0 ? type : type.substring(0, nested);
        if (BASE_STEPS.contains(outer)) {
          base = true;
        } else if (PUSH_STEPS.contains(outer)) {
          push = true;
        } else if (outer.equals(BASE_LAYER_STEP)) {
          // Base layers are pulled from the base registry, but also looked up in the target
          // registry to skip pushing what it already has.
          if (callsCheckBlob(frames, i)) {
            push = true;
          } else {
            base = true;
          }
        }
      }
    }
    if (base) {
      return Side.BASE_IMAGE;
    }
    return push ? Side.PUSH : Side.OTHER;
  }

  private static boolean callsCheckBlob(StackTraceElement[] frames, int stepFrame) {
    for (int i = 0; i < stepFrame; i++) {
      if (frames[i].getMethodName().equals("checkBlob")) {
        return true;
      }
    }
    return false;
  }

  /** The most telling message along the cause chain, on one line. */
  static String reason(Throwable failure) {
    Throwable telling = failure;
    while ((telling instanceof ExecutionException || telling.getMessage() == null)
        && telling.getCause() != null
        && telling.getCause() != telling) {
      telling = telling.getCause();
    }
    String message =
        telling.getMessage() == null ? telling.getClass().getSimpleName() : telling.getMessage();
    if (telling instanceof java.nio.file.NoSuchFileException) {
      message = "no such file " + message;
    }
    String oneLine = message.replaceAll("\\s+", " ").strip().replaceFirst("\\.$", "");
    return oneLine.length() <= MAX_REASON ? oneLine : oneLine.substring(0, MAX_REASON) + "…";
  }
}
