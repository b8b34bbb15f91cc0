package dev.kiln.buildpack;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * §5: the environment the app's build steps run with. The app's build-time variables, except the
 * few that would break the build machinery itself, over Kiln's: {@code PYTHONUNBUFFERED=1}, {@code
 * LANG}, the dependency scripts first on {@code PATH} (never the current directory), and the
 * installed dependencies importable the same way the image imports them at run time ({@code
 * /opt/kiln/deps} after the app on {@code PYTHONPATH}). {@code PYTHONHOME} is never set.
 */
public final class BuildStepEnvironment {
  public static final String APP_DIR = "/app";
  public static final String DEPENDENCIES_DIR = "/opt/kiln/deps";

  /**
   * Where the app's own local projects ({@code -e .}, a setup.py-only app, a packaged uv or Poetry
   * root) are installed: inside the app, because they are built from its source.
   */
  public static final String LOCAL_PROJECTS_DIR = "/app/.kiln/site-packages";

  static final String SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin";

  /** Variables an app may not set for its build steps (as Heroku's buildpack ignores them). */
  static final Set<String> IGNORED =
      Set.of(
          "PATH",
          "PYTHONHOME",
          "GIT_DIR",
          "CPATH",
          "CPPATH",
          "LD_PRELOAD",
          "LIBRARY_PATH",
          "LD_LIBRARY_PATH");

  private BuildStepEnvironment() {}

  /**
   * @param appBuildEnv the app's build-time variables (app spec {@code BUILD_TIME} and {@code
   *     RUN_AND_BUILD_TIME} envs, and the push's build variables)
   */
  public static Map<String, String> forSteps(Map<String, String> appBuildEnv) {
    return forSteps(appBuildEnv, false);
  }

  /**
   * @param localProjects the app's local projects are installed in {@link #LOCAL_PROJECTS_DIR}: it
   *     goes between the app and the dependencies on {@code PYTHONPATH}, its scripts first on
   *     {@code PATH}
   */
  public static Map<String, String> forSteps(
      Map<String, String> appBuildEnv, boolean localProjects) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("HOME", APP_DIR);
    env.put("LANG", "en_US.UTF-8");
    appBuildEnv.forEach(
        (name, value) -> {
          if (!IGNORED.contains(name)) {
            env.put(name, value == null ? "" : value);
          }
        });
    String local = localProjects ? LOCAL_PROJECTS_DIR : null;
    env.put(
        "PATH", (local == null ? "" : local + "/bin:") + DEPENDENCIES_DIR + "/bin:" + SYSTEM_PATH);
    String appPythonPath = appBuildEnv.getOrDefault("PYTHONPATH", "");
    env.put(
        "PYTHONPATH",
        (appPythonPath.isBlank() ? APP_DIR : appPythonPath)
            + (local == null ? "" : ":" + local)
            + ":"
            + DEPENDENCIES_DIR);
    env.put("PYTHONUNBUFFERED", "1");
    // Bytecode written during the build would carry the checkout's file times into the app layer
    // and make the same commit give a different image digest on every build.
    env.put("PYTHONDONTWRITEBYTECODE", "1");
    return env;
  }
}
