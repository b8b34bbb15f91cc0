package dev.kiln.events;

import java.time.Instant;
import java.util.List;

/** A built image, ready for deployers. */
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
    Instant finishedAt)
    implements EventBody {

  public ImageReady {
    warnings = warnings == null ? List.of() : List.copyOf(warnings);
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
