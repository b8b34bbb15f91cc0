package dev.kiln.worker.install;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The pip command line and environment of an INSTALL: wheels only, for the image's interpreter and
 * platform rather than the worker's own, into a plain directory, against the cache-service index.
 * See {@code docs/worker.md} for why each flag is there.
 */
public final class PipCommand {
  /** The only build-time variable that reaches pip, as on Heroku and App Platform. */
  public static final String EXTRA_INDEX_VARIABLE = "PIP_EXTRA_INDEX_URL";

  private PipCommand() {}

  /**
   * Resolves and downloads the dependency set's wheels for the target into {@code wheelDir}.
   *
   * <p>Why download and install separately: {@code pip install} checks each downloaded wheel's
   * {@code Requires-Python} against the interpreter running pip, not against {@code
   * --python-version} (pip 23 passes the target only to {@code pip download}'s resolver), so an
   * install for 3.12 on a worker with 3.11 would silently pick older releases. {@code pip download}
   * resolves for the target; installing the resolved wheels then needs no resolution.
   *
   * @param pythonVersion the exact target version ({@code 3.12.7}); pip checks Requires-Python
   *     against all of it and derives the {@code cp312} ABI from it
   * @param locked a fully pinned lock: take exactly its entries, nothing they pull in
   */
  public static List<String> download(
      String python,
      Path wheelDir,
      String pythonVersion,
      TargetPlatform platform,
      String indexUrl,
      Path cacheDir,
      Path requirementsFile,
      boolean locked) {
    List<String> command = new ArrayList<>(List.of(python, "-m", "pip", "download"));
    command.addAll(List.of("--dest", wheelDir.toString()));
    target(command, pythonVersion, platform);
    command.addAll(List.of("--cache-dir", cacheDir.toString()));
    command.addAll(List.of("--index-url", indexUrl));
    if (locked) {
      command.add("--no-deps");
    }
    command.addAll(List.of("-r", requirementsFile.toString()));
    return command;
  }

  /**
   * Installs already-resolved wheels into {@code target}: no index, no dependencies, and no
   * Requires-Python check against pip's own interpreter (the download already checked the
   * target's).
   */
  public static List<String> installWheels(
      String python,
      Path target,
      String pythonVersion,
      TargetPlatform platform,
      List<Path> wheels) {
    List<String> command = new ArrayList<>(List.of(python, "-m", "pip", "install"));
    command.addAll(List.of("--target", target.toString()));
    target(command, pythonVersion, platform);
    command.add("--no-index");
    command.add("--no-deps");
    command.add("--ignore-requires-python");
    command.add("--no-compile");
    command.add("--root-user-action=ignore");
    for (Path wheel : wheels) {
      command.add(wheel.toString());
    }
    return command;
  }

  private static void target(List<String> command, String pythonVersion, TargetPlatform platform) {
    command.addAll(List.of("--python-version", pythonVersion));
    command.addAll(List.of("--implementation", platform.implementation()));
    for (String tag : platform.pipPlatforms()) {
      command.addAll(List.of("--platform", tag));
    }
    command.add("--only-binary=:all:");
    command.add("--no-input");
    command.add("--disable-pip-version-check");
    command.addAll(List.of("--progress-bar", "off"));
  }

  /**
   * The worker's environment without any pip configuration of its own (config files, {@code PIP_*}
   * variables, Python path overrides), plus the build's extra index if it set one.
   */
  public static Map<String, String> environment(
      Map<String, String> workerEnv, Map<String, String> buildEnv, Path tmpDir) {
    Map<String, String> env = new HashMap<>();
    workerEnv.forEach(
        (name, value) -> {
          if (!name.startsWith("PIP_") && !name.startsWith("PYTHON")) {
            env.put(name, value);
          }
        });
    env.put("PIP_CONFIG_FILE", "/dev/null");
    String extraIndex = buildEnv.get(EXTRA_INDEX_VARIABLE);
    if (extraIndex != null && !extraIndex.isBlank()) {
      env.put(EXTRA_INDEX_VARIABLE, extraIndex);
    }
    // pip unpacks into a temporary directory and then moves into --target: on the same file
    // system that move is a rename instead of a copy.
    env.put("TMPDIR", tmpDir.toString());
    env.put("PYTHONDONTWRITEBYTECODE", "1");
    env.put("LC_ALL", "C.UTF-8");
    return env;
  }
}
