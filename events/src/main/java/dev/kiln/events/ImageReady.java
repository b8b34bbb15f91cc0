package dev.kiln.events;

import java.time.Instant;
import java.util.List;

/**
 * A built image, ready for deployers.
 *
 * @param ci the image of a CI build: it holds the test dependencies too and is there to run the
 *     app's tests, not to be deployed; deployers skip it. Null (earlier events) reads as false
 * @param processes every process type the image runs, name → command; {@code web} is the image's
 *     default command, the others are started by running the image with their command (the same
 *     pairs are the image's {@code dev.kiln.process.<name>} labels). Empty for earlier events
 */
public record ImageReady(
    String buildId,
    String tenant,
    String app,
    String commit,
    String ref,
    String image,
    Digest digest,
    String pythonVersion,
    String runCommand,
    List<CodedMessage> warnings,
    Instant finishedAt,
    Boolean ci,
    java.util.Map<String, String> processes)
    implements EventBody {

  @com.fasterxml.jackson.annotation.JsonCreator
  public ImageReady {
    warnings = warnings == null ? List.of() : List.copyOf(warnings);
    ci = Boolean.TRUE.equals(ci);
    processes =
        processes == null
            ? java.util.Map.of()
            : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(processes));
  }

  /** An image without recorded process types. */
  public ImageReady(
      String buildId,
      String tenant,
      String app,
      String commit,
      String ref,
      String image,
      Digest digest,
      String pythonVersion,
      String runCommand,
      List<CodedMessage> warnings,
      Instant finishedAt,
      Boolean ci) {
    this(
        buildId,
        tenant,
        app,
        commit,
        ref,
        image,
        digest,
        pythonVersion,
        runCommand,
        warnings,
        finishedAt,
        ci,
        java.util.Map.of());
  }

  /** An image of a normal build. */
  public ImageReady(
      String buildId,
      String tenant,
      String app,
      String commit,
      String ref,
      String image,
      Digest digest,
      String pythonVersion,
      String runCommand,
      List<CodedMessage> warnings,
      Instant finishedAt) {
    this(
        buildId,
        tenant,
        app,
        commit,
        ref,
        image,
        digest,
        pythonVersion,
        runCommand,
        warnings,
        finishedAt,
        false);
  }

  /** Whether this is a CI build's image, which deployers skip. */
  public boolean isCi() {
    return Boolean.TRUE.equals(ci);
  }

  @Override
  public void validate() throws InvalidEventException {
    if (!BuildIds.isValid(buildId)) {
      throw new InvalidEventException(
          "buildId", "'" + Quote.safe(buildId, 60) + "' is not a build id");
    }
    Check.name("tenant", tenant);
    Check.name("app", app);
    Check.commit("commit", commit);
    Check.text("image", image);
    Check.present("digest", digest);
  }
}
