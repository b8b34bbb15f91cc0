package dev.kiln.cli.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Runs a command, capturing its output and timing it. */
final class Shell {
  private Shell() {}

  /** What a command did: exit status, output (stdout and stderr merged) and wall time. */
  record Result(int exit, String output, long millis) {
    Result orThrow(String what) {
      if (exit != 0) {
        throw new BenchFailure(what + " failed (exit " + exit + "):\n" + tail(output, 4000));
      }
      return this;
    }
  }

  static Result run(Path dir, Map<String, String> env, List<String> command) {
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    if (dir != null) {
      builder.directory(dir.toFile());
    }
    builder.environment().putAll(env);
    long start = System.nanoTime();
    try {
      Process process = builder.start();
      process.getOutputStream().close();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      int exit = process.waitFor();
      return new Result(exit, output, (System.nanoTime() - start) / 1_000_000);
    } catch (IOException e) {
      throw new BenchFailure("cannot run " + String.join(" ", command) + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BenchFailure("interrupted");
    }
  }

  static Result run(Path dir, String... command) {
    return run(dir, Map.of(), List.of(command));
  }

  static String tail(String text, int chars) {
    return text.length() <= chars ? text : "…" + text.substring(text.length() - chars);
  }
}
