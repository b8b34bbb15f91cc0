package dev.kiln.buildpack;

/**
 * The command the image runs (a shell command line, run with {@code /bin/sh -c}).
 *
 * @param source {@code app-spec}, {@code procfile} or {@code detected}
 */
public record RunCommand(String command, String source) {
  public static final String SOURCE_APP_SPEC = "app-spec";
  public static final String SOURCE_PROCFILE = "procfile";
  public static final String SOURCE_DETECTED = "detected";
}
