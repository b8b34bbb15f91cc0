package dev.kiln.cli.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What Kiln is compared with, run on this machine with its own python3 and pip against the same
 * index: a Heroku-style warm rebuild, {@code pip install --target}, and the floor (unzip the
 * wheels, tar the result).
 */
final class Baselines {
  private final Path root;
  private final String indexUrl;
  private final Map<String, String> env;

  Baselines(Path root, String indexUrl) {
    this.root = root;
    this.indexUrl = indexUrl;
    this.env =
        Map.of(
            "PIP_CONFIG_FILE", "/dev/null",
            "PIP_DISABLE_PIP_VERSION_CHECK", "1",
            "PIP_CACHE_DIR", root.resolve("pip-cache").toString(),
            "PYTHONDONTWRITEBYTECODE", "");
  }

  /**
   * Heroku-style warm rebuilds: a venv already holding the set; each round {@code pip install -r
   * requirements.txt} (everything already satisfied), copy the app, {@code tar czf} venv + app.
   * Returns each round's wall time (ms).
   */
  List<Long> herokuRebuilds(DependencySet set, int rounds) throws IOException {
    Path dir = Files.createDirectories(root.resolve("heroku-" + set.id()));
    Path src = Files.createDirectories(dir.resolve("src"));
    for (var file : set.files(set.requirementsTxt(), "warm-up").entrySet()) {
      Files.writeString(src.resolve(file.getKey()), file.getValue(), StandardCharsets.UTF_8);
    }
    run(dir, List.of("python3", "-m", "venv", "venv")).orThrow("python3 -m venv");
    run(
            dir,
            pip(
                "venv/bin/python",
                "install",
                "-q",
                "--index-url",
                indexUrl,
                "-r",
                "src/requirements.txt"))
        .orThrow("pip install -r requirements.txt (" + set.id() + ", the warm venv)");
    String round =
        "set -e; venv/bin/python -m pip install -q --index-url '"
            + indexUrl
            + "' -r src/requirements.txt; rm -rf app; cp -r src app; tar czf slug.tgz venv app";
    List<Long> times = new ArrayList<>();
    for (int i = 0; i <= rounds; i++) {
      Files.writeString(src.resolve("app.py"), set.appPy("round " + i), StandardCharsets.UTF_8);
      Shell.Result result = run(dir, List.of("bash", "-c", round)).orThrow("a Heroku-style round");
      if (i > 0) { // round 0 warms the page cache
        times.add(result.millis());
      }
    }
    return times;
  }

  /** {@code pip install --target DIR -r locked.txt}: one warm-up run, then {@code runs} timed. */
  List<Long> pipTarget(String id, String lockedRequirements, int runs) throws IOException {
    Path dir = Files.createDirectories(root.resolve("pip-target-" + id));
    Files.writeString(dir.resolve("locked.txt"), lockedRequirements, StandardCharsets.UTF_8);
    List<Long> times = new ArrayList<>();
    for (int i = 0; i <= runs; i++) {
      Path target = dir.resolve("target-" + i);
      Shell.Result result =
          run(
                  dir,
                  pip(
                      "python3",
                      "install",
                      "-q",
                      "--index-url",
                      indexUrl,
                      "--target",
                      target.toString(),
                      "-r",
                      "locked.txt"))
              .orThrow("pip install --target (" + id + ")");
      if (i > 0) {
        times.add(result.millis());
      }
    }
    return times;
  }

  /** The floor: unzip every wheel of the set into one directory and {@code tar cf} it. */
  List<Long> floor(String id, List<Path> wheels, int runs) throws IOException {
    Path dir = Files.createDirectories(root.resolve("floor-" + id));
    StringBuilder script = new StringBuilder("set -e; rm -rf out out.tar; mkdir out;");
    for (Path wheel : wheels) {
      script.append(" unzip -q -o '").append(wheel).append("' -d out;");
    }
    script.append(" tar cf out.tar -C out .");
    List<Long> times = new ArrayList<>();
    for (int i = 0; i <= runs; i++) {
      Shell.Result result =
          run(dir, List.of("bash", "-c", script.toString())).orThrow("unzip + tar (" + id + ")");
      if (i > 0) {
        times.add(result.millis());
      }
    }
    return times;
  }

  /** Checks python3 with venv and pip, unzip and tar are there; the message says what is not. */
  static String missingTools() {
    List<String> missing = new ArrayList<>();
    if (Shell.run(null, "python3", "-c", "import venv, ensurepip").exit() != 0) {
      missing.add("python3 with venv and ensurepip (apt-get install python3-venv)");
    }
    for (String tool : List.of("unzip", "tar", "git", "bash")) {
      if (Shell.run(null, "bash", "-c", "command -v " + tool).exit() != 0) {
        missing.add(tool);
      }
    }
    return String.join(", ", missing);
  }

  private static List<String> pip(String python, String... args) {
    List<String> command = new ArrayList<>(List.of(python, "-m", "pip"));
    command.addAll(List.of(args));
    return command;
  }

  private Shell.Result run(Path dir, List<String> command) {
    return Shell.run(dir, env, command);
  }
}
