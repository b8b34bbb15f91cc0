package dev.kiln.buildpack;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** §6: the environment a buildpack image runs with, before the user's own variables. */
final class RuntimeEnvironment {
  static final String APP_DIR = "/app";
  static final String GUNICORN_DEFAULT_ARGS = "--worker-tmp-dir /dev/shm --access-logfile -";

  private RuntimeEnvironment() {}

  /**
   * Defaults for everything the user did not set: {@code PYTHONUNBUFFERED}, {@code
   * FORWARDED_ALLOW_IPS} and {@code HOME} always; {@code LANG}, {@code PYTHONPATH}, {@code PORT}
   * and {@code GUNICORN_CMD_ARGS} unless the user set them.
   */
  static Map<String, String> defaults(Set<String> userSet) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("HOME", APP_DIR);
    env.put("PYTHONUNBUFFERED", "true");
    env.put("FORWARDED_ALLOW_IPS", "*");
    putUnlessSet(env, userSet, "LANG", "en_US.UTF-8");
    putUnlessSet(env, userSet, "PYTHONPATH", APP_DIR);
    putUnlessSet(env, userSet, "PORT", "8080");
    putUnlessSet(env, userSet, "GUNICORN_CMD_ARGS", GUNICORN_DEFAULT_ARGS);
    return env;
  }

  private static void putUnlessSet(
      Map<String, String> env, Set<String> userSet, String key, String value) {
    if (!userSet.contains(key)) {
      env.put(key, value);
    }
  }
}
