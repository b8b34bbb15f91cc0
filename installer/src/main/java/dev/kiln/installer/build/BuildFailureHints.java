package dev.kiln.installer.build;

import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Why a wheel build from source most likely failed, read from the build's output: the well-known
 * causes (a missing {@code pg_config}, {@code mysql_config}, {@code gdal-config}, C compiler or
 * header) each with what the app can do instead. Kiln's runtimes carry no compiler and no
 * development libraries, so the usual fix is a package that publishes wheels.
 */
public final class BuildFailureHints {
  /** A recognised cause: the missing piece and what to do. */
  public record Hint(String missing, String advice) {}

  private record Rule(Pattern pattern, Hint hint) {}

  private static final String USE_WHEELS =
      "Kiln's runtimes have no C compiler or development libraries, so a package that compiles"
          + " C code must come as a wheel for this Python and platform.";

  private static final List<Rule> RULES =
      List.of(
          rule(
              "pg_config",
              "pg_config (PostgreSQL's client development files)",
              "Use psycopg2-binary or psycopg[binary] instead of psycopg2, which ship wheels. "
                  + USE_WHEELS),
          rule(
              "mysql_config|mariadb_config",
              "mysql_config (the MySQL/MariaDB client development files)",
              "Use PyMySQL (pure Python) or a mysqlclient version that ships a wheel for this"
                  + " Python. "
                  + USE_WHEELS),
          rule(
              "gdal-config|gdal_config",
              "gdal-config (the GDAL development files)",
              "Use a GDAL binding that publishes wheels (e.g. pyogrio or rasterio wheels), or"
                  + " build the app from a Dockerfile whose base image has GDAL. "
                  + USE_WHEELS),
          rule(
              "Python\\.h: No such file",
              "Python.h (the Python development headers)",
              "Pick a version of the package that publishes a wheel for this Python. "
                  + USE_WHEELS),
          rule(
              "xmlsec1|libxml/|libxml2",
              "the libxml2/xmlsec1 development files",
              "Pick a version that publishes a wheel for this Python. " + USE_WHEELS),
          rule(
              "ffi\\.h|libffi",
              "libffi's development files",
              "Pick a version that publishes a wheel for this Python. " + USE_WHEELS),
          rule(
              "error: command '[^']*(gcc|cc|g\\+\\+|clang)[^']*' failed|"
                  + "(gcc|cc|x86_64-linux-gnu-gcc|g\\+\\+)[^\\n]*: not found|"
                  + "unable to execute '[^']*gcc|No such file or directory: '(gcc|cc)'|"
                  + "can't find Rust compiler|cargo.*not found|rustc.*not found",
              "a C (or Rust) compiler",
              "Pick a version of the package that publishes a wheel for this Python and"
                  + " platform, or pin one that does. "
                  + USE_WHEELS));

  private BuildFailureHints() {}

  private static Rule rule(String regex, String missing, String advice) {
    return new Rule(Pattern.compile(regex), new Hint(missing, advice));
  }

  /** The first well-known cause found in the build's output, if any. */
  public static Optional<Hint> explain(List<String> output) {
    String text = String.join("\n", output);
    for (Rule rule : RULES) {
      if (rule.pattern().matcher(text).find()) {
        return Optional.of(rule.hint());
      }
    }
    return Optional.empty();
  }
}
