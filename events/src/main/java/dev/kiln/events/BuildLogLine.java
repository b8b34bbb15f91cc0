package dev.kiln.events;

import java.time.Instant;

/** One line of a build's Heroku-style log. */
public record BuildLogLine(
    String buildId, String taskId, TaskKind stage, long seq, Level level, String text, Instant at)
    implements EventBody {

  public enum Level {
    INFO,
    WARNING,
    ERROR
  }

  @Override
  public void validate() throws InvalidEventException {
    if (!BuildIds.isValid(buildId)) {
      throw new InvalidEventException(
          "buildId", "'" + Quote.safe(buildId, 60) + "' is not a build id");
    }
    Check.present("level", level);
    Check.present("text", text);
  }
}
