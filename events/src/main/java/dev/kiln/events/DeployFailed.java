package dev.kiln.events;

import java.time.Instant;
import java.util.List;

/**
 * An image a deployer could not bring up; what served the app before keeps serving it.
 *
 * @param code a stable code such as {@code deploy::exited} (the app stopped before it answered) or
 *     {@code deploy::unhealthy} (it did not answer HTTP within the health timeout)
 * @param message what happened, for people
 * @param logTail the last lines the app printed, oldest first
 */
public record DeployFailed(
    String buildId,
    String tenant,
    String app,
    String commit,
    String image,
    String code,
    String message,
    List<String> logTail,
    Instant failedAt)
    implements EventBody {

  @com.fasterxml.jackson.annotation.JsonCreator
  public DeployFailed {
    logTail = logTail == null ? List.of() : List.copyOf(logTail);
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
    Check.text("code", code);
    Check.text("message", message);
  }
}
