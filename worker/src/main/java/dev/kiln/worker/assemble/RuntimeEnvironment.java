package dev.kiln.worker.assemble;

import dev.kiln.buildpack.BuildStepEnvironment;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The image's environment: the app's run-time variables merged with what the buildpack sets
 * (buildpack-spec §6). The app's value wins for {@code LANG}, {@code PORT}, {@code PYTHONPATH}'s
 * app part, {@code WEB_CONCURRENCY} and {@code GUNICORN_CMD_ARGS}; Kiln's wins for {@code
 * PYTHONUNBUFFERED}, {@code HOME} and {@code FORWARDED_ALLOW_IPS}; {@code PATH} gets the dependency
 * scripts in front of the app's (or the default) {@code PATH}, and the dependency directory always
 * stays on {@code PYTHONPATH}, because that is where the packages are.
 */
public final class RuntimeEnvironment {
  public static final String DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";
  public static final int DEFAULT_PORT = 8080;
  static final String DEFAULT_GUNICORN_CMD_ARGS = "--worker-tmp-dir /dev/shm --access-logfile -";

  private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

  private final SortedMap<String, String> variables;
  private final int port;

  private RuntimeEnvironment(SortedMap<String, String> variables, int port) {
    this.variables = Collections.unmodifiableSortedMap(variables);
    this.port = port;
  }

  /**
   * Merges the app's run-time variables with Kiln's.
   *
   * @throws IllegalArgumentException for a variable name that is not a shell name or a {@code PORT}
   *     that is not a TCP port, saying how to fix it
   */
  public static RuntimeEnvironment forApp(Map<String, String> appVariables) {
    return forApp(appVariables, false);
  }

  /**
   * As {@link #forApp(Map)}, for an image with the app's local projects installed in {@code
   * /app/.kiln/site-packages}: that directory goes between the app and the dependencies on {@code
   * PYTHONPATH}, and its scripts first on {@code PATH}.
   */
  public static RuntimeEnvironment forApp(Map<String, String> appVariables, boolean localProjects) {
    Objects.requireNonNull(appVariables, "appVariables");
    SortedMap<String, String> env = new TreeMap<>();
    for (Map.Entry<String, String> variable : appVariables.entrySet()) {
      if (variable.getKey() == null || !NAME.matcher(variable.getKey()).matches()) {
        throw new IllegalArgumentException(
            "the run-time variable name '"
                + variable.getKey()
                + "' is not valid: use letters, digits and '_', not starting with a digit");
      }
      env.put(variable.getKey(), variable.getValue() == null ? "" : variable.getValue());
    }
    String deps = ImageLayers.DEPENDENCIES_DIR.toString();
    String local = localProjects ? BuildStepEnvironment.LOCAL_PROJECTS_DIR : null;
    String appPath = env.getOrDefault("PATH", "");
    env.put(
        "PATH",
        (local == null ? "" : local + "/bin:")
            + deps
            + "/bin:"
            + (appPath.isBlank() ? DEFAULT_PATH : appPath));
    String appPythonPath = env.getOrDefault("PYTHONPATH", "");
    env.put(
        "PYTHONPATH",
        (appPythonPath.isBlank() ? ImageLayers.APP_DIR.toString() : appPythonPath)
            + (local == null ? "" : ":" + local)
            + ":"
            + deps);
    env.put("PYTHONUNBUFFERED", "true");
    env.put("HOME", ImageLayers.APP_DIR.toString());
    env.put("FORWARDED_ALLOW_IPS", "*");
    putDefault(env, "LANG", "en_US.UTF-8");
    putDefault(env, "GUNICORN_CMD_ARGS", DEFAULT_GUNICORN_CMD_ARGS);
    putDefault(env, "PORT", Integer.toString(DEFAULT_PORT));
    int port = parsePort(env.get("PORT"));
    return new RuntimeEnvironment(env, port);
  }

  private static void putDefault(Map<String, String> env, String name, String value) {
    String current = env.get(name);
    if (current == null || current.isEmpty()) {
      env.put(name, value);
    }
  }

  private static int parsePort(String text) {
    try {
      int port = Integer.parseInt(text.strip());
      if (port >= 1 && port <= 65535) {
        return port;
      }
    } catch (NumberFormatException e) {
      // Reported below with the value the app gave.
    }
    throw new IllegalArgumentException(
        "the run-time variable PORT is '"
            + text
            + "', which is "
            + "not a TCP port: set it to a number from 1 to 65535, or leave it unset for "
            + DEFAULT_PORT);
  }

  /** Name → value, sorted by name. */
  public Map<String, String> variables() {
    return variables;
  }

  /** The port the app must bind, exposed by the image. */
  public int port() {
    return port;
  }
}
