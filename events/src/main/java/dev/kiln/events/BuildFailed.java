package dev.kiln.events;

import java.time.Instant;

/** A build that cannot produce an image, with a stable code and a message that says the fix. */
public record BuildFailed(
    String buildId,
    String tenant,
    String app,
    String commit,
    TaskKind stage,
    String code,
    String message,
    Instant failedAt)
    implements EventBody {

  @Override
  public void validate() throws InvalidEventException {
    if (!BuildIds.isValid(buildId)) {
      throw new InvalidEventException(
          "buildId", "'" + Quote.safe(buildId, 60) + "' is not a build id");
    }
    Check.name("tenant", tenant);
    Check.name("app", app);
    Check.commit("commit", commit);
    Check.text("code", code);
    Check.text("message", message);
  }
}
