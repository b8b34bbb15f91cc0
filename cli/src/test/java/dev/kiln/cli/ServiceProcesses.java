package dev.kiln.cli;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code kiln} commands started as processes of their own with this test's class path, each with a
 * log file; {@link #close()} stops (SIGTERM) every one still running, newest first.
 */
final class ServiceProcesses implements AutoCloseable {
  private final Path logs;
  private final List<Started> started = new ArrayList<>();

  ServiceProcesses(Path logs) {
    this.logs = logs;
  }

  /** One started process and what its "is up" line said. */
  record Started(String name, Process process, Path logFile, String found) {
    String log() {
      try {
        return Files.readString(logFile);
      } catch (IOException e) {
        return "(no log: " + e + ")";
      }
    }

    void stop() throws InterruptedException {
      process.destroy();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
    }
  }

  /**
   * Starts {@code kiln args…} and waits until its log matches {@code upPattern}; the pattern's
   * first group is {@link Started#found()}.
   */
  Started start(String name, String upPattern, String... args) throws IOException {
    return start(name, upPattern, Map.of(), args);
  }

  Started start(String name, String upPattern, Map<String, String> env, String... args)
      throws IOException {
    Path log = logs.resolve(name + ".log");
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx512m");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(Main.class.getName());
    command.addAll(List.of(args));
    ProcessBuilder builder =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().putAll(env);
    Process process = builder.start();
    Pattern up = Pattern.compile(upPattern);
    String found =
        await()
            .atMost(Duration.ofMinutes(3))
            .pollInterval(Duration.ofMillis(200))
            .until(
                () -> {
                  Matcher matcher = up.matcher(Files.readString(log));
                  if (matcher.find()) {
                    return matcher.groupCount() > 0 ? matcher.group(1) : matcher.group();
                  }
                  if (!process.isAlive()) {
                    throw new AssertionError(
                        "kiln " + String.join(" ", args) + " stopped:\n" + Files.readString(log));
                  }
                  return null;
                },
                value -> value != null);
    Started one = new Started(name, process, log, found);
    started.add(one);
    return one;
  }

  /** Every log so far, for a failure message. */
  String logs() {
    StringBuilder all = new StringBuilder();
    for (Started one : started) {
      all.append("\n===== ").append(one.name()).append(" =====\n").append(one.log());
    }
    return all.toString();
  }

  /**
   * CPU time (user + system, seconds) each running process has used so far, by name; from {@code
   * /proc}, so Linux only (empty elsewhere).
   */
  Map<String, Double> cpuSeconds() {
    Map<String, Double> cpu = new java.util.LinkedHashMap<>();
    for (Started one : started) {
      Path stat = Path.of("/proc", String.valueOf(one.process().pid()), "stat");
      try {
        String line = Files.readString(stat);
        // Fields after the command name in parentheses; utime and stime are fields 14 and 15.
        String[] fields = line.substring(line.lastIndexOf(')') + 2).split(" ");
        long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
        cpu.put(one.name(), ticks / 100.0); // USER_HZ is 100 on Linux
      } catch (IOException | RuntimeException e) {
        // Not on Linux, or the process has ended: no figure for it.
      }
    }
    return cpu;
  }

  @Override
  public void close() throws InterruptedException {
    for (int i = started.size() - 1; i >= 0; i--) {
      if (started.get(i).process().isAlive()) {
        started.get(i).stop();
      }
    }
  }
}
