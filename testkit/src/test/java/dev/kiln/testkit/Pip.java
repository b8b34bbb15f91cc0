package dev.kiln.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the machine's {@code python3} (pip, or a snippet) for tests, isolated from the machine's own
 * pip configuration: no config file, no inherited {@code PIP_*} or {@code PYTHON*} variables, so a
 * mirror or find-links set up for the machine cannot change what a test sees.
 */
final class Pip {
  private static final long TIMEOUT_SECONDS = 180;

  record Result(int exitCode, String output) {}

  private Pip() {}

  /** {@code python3 -m pip <args>}, the output (stdout and stderr) kept in {@code work}. */
  static Result run(Path work, String... args) throws IOException, InterruptedException {
    List<String> command =
        new ArrayList<>(List.of("python3", "-m", "pip", "--no-cache-dir", "--no-input"));
    command.addAll(List.of(args));
    return python(work, Map.of(), command);
  }

  /** {@code python3 -s -c <code>} with {@code PYTHONPATH} set to {@code pythonPath}. */
  static Result runPython(Path work, Path pythonPath, String code)
      throws IOException, InterruptedException {
    return python(
        work, Map.of("PYTHONPATH", pythonPath.toString()), List.of("python3", "-s", "-c", code));
  }

  private static Result python(
      Path work, Map<String, String> extraEnvironment, List<String> command)
      throws IOException, InterruptedException {
    Path log = Files.createTempFile(work, "python-", ".log");
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .directory(work.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    Map<String, String> environment = builder.environment();
    environment.keySet().removeIf(name -> name.startsWith("PIP_") || name.startsWith("PYTHON"));
    environment.put("PIP_CONFIG_FILE", "/dev/null");
    environment.put("PIP_DISABLE_PIP_VERSION_CHECK", "1");
    environment.putAll(extraEnvironment);
    Process process = builder.start();
    if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      throw new IOException(
          String.join(" ", command)
              + " did not finish in "
              + TIMEOUT_SECONDS
              + "s:\n"
              + Files.readString(log));
    }
    return new Result(process.exitValue(), Files.readString(log));
  }
}
