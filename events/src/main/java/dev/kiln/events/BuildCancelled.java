package dev.kiln.events;

import java.time.Instant;

/**
 * A build that will not produce an image because a later push to the same tenant, app and branch
 * superseded it: cancelled while it waited, or stopped at its next step boundary.
 *
 * @param ref the branch both pushes went to
 * @param supersededBy the newer build, the one that builds this branch now
 * @param stage the step the build stopped after; null when it never started (it was QUEUED)
 */
public record BuildCancelled(
    String buildId,
    String tenant,
    String app,
    String commit,
    String ref,
    String supersededBy,
    TaskKind stage,
    String message,
    Instant cancelledAt)
    implements EventBody {

  @Override
  public void validate() throws InvalidEventException {
    if (!BuildIds.isValid(buildId)) {
      throw new InvalidEventException(
          "buildId", "'" + Quote.safe(buildId, 60) + "' is not a build id");
    }
    if (!BuildIds.isValid(supersededBy)) {
      throw new InvalidEventException(
          "supersededBy", "'" + Quote.safe(supersededBy, 60) + "' is not a build id");
    }
    Check.name("tenant", tenant);
    Check.name("app", app);
    Check.commit("commit", commit);
    Check.text("message", message);
  }
}
