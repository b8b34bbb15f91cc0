package dev.kiln.worker.process;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a command line (git, pip) to completion on the calling thread, streaming its merged
 * stdout/stderr line by line and keeping the last lines for error messages. The environment is
 * exactly the one given: nothing leaks in from the worker's own environment unless the caller
 * copies it.
 */
public final class ExternalProcess {
  private static final Logger LOG = LoggerFactory.getLogger(ExternalProcess.class);

  /** How a process ended; {@code tail} holds its last output lines, oldest first. */
  public record Outcome(List<String> command, int exitCode, boolean timedOut, List<String> tail) {
    public boolean succeeded() {
      return !timedOut && exitCode == 0;
    }

    public String tailText() {
      return String.join("\n", tail);
    }
  }

  private final List<String> command;
  private final Path directory;
  private final Map<String, String> environment;
  private final Duration timeout;
  private final int tailLines;

  public ExternalProcess(
      List<String> command,
      Path directory,
      Map<String, String> environment,
      Duration timeout,
      int tailLines) {
    this.command = List.copyOf(command);
    this.directory = Objects.requireNonNull(directory, "directory");
    this.environment = Map.copyOf(environment);
    this.timeout = Objects.requireNonNull(timeout, "timeout");
    this.tailLines = tailLines;
  }

  /**
   * Runs the command; each output line goes to {@code lines} as it arrives.
   *
   * @throws IOException when the program cannot be started (e.g. not installed)
   * @throws InterruptedException when the calling thread is interrupted; the process is killed
   */
  public Outcome run(Consumer<String> lines) throws IOException, InterruptedException {
    return run(lines, () -> true);
  }

  /**
   * As {@link #run(Consumer)}, and kills the process (and its children) as soon as {@code
   * keepRunning} answers false; it is asked about every 100 ms. The outcome then has exit code -1
   * and {@code timedOut} false: the caller knows why it stopped the process.
   */
  public Outcome run(Consumer<String> lines, java.util.function.BooleanSupplier keepRunning)
      throws IOException, InterruptedException {
    ProcessBuilder builder = new ProcessBuilder(command).directory(directory.toFile());
    builder.environment().clear();
    builder.environment().putAll(environment);
    builder.redirectErrorStream(true);
    builder.redirectInput(ProcessBuilder.Redirect.from(nullDevice()));
    Process process = builder.start();
    Deque<String> tail = new ArrayDeque<>(tailLines + 1);
    Thread reader =
        new Thread(
            () -> pump(process, lines, tail), "output-of-" + Path.of(command.get(0)).getFileName());
    reader.setDaemon(true);
    reader.start();
    boolean finished = false;
    long deadline = System.nanoTime() + timeout.toNanos();
    boolean stopped = false;
    try {
      while (!finished) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          break;
        }
        finished = process.waitFor(Math.min(left, 100_000_000L), TimeUnit.NANOSECONDS);
        if (!finished && !keepRunning.getAsBoolean()) {
          stopped = true;
          break;
        }
      }
    } catch (InterruptedException e) {
      killTree(process);
      throw e;
    }
    if (!finished) {
      killTree(process);
    }
    // The reader ends when the pipe closes, i.e. when the process and any children holding it exit.
    reader.join(TimeUnit.SECONDS.toMillis(10));
    synchronized (tail) {
      return new Outcome(
          command,
          finished ? process.exitValue() : -1,
          !finished && !stopped,
          new ArrayList<>(tail));
    }
  }

  private void pump(Process process, Consumer<String> lines, Deque<String> tail) {
    boolean consumerBroken = false;
    try (BufferedReader out =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = out.readLine()) != null; ) {
        synchronized (tail) {
          tail.addLast(line);
          if (tail.size() > tailLines) {
            tail.removeFirst();
          }
        }
        if (consumerBroken) {
          continue;
        }
        try {
          lines.accept(line);
        } catch (RuntimeException e) {
          // Keep draining the pipe, or the process blocks on a full buffer and never ends.
          consumerBroken = true;
          LOG.warn("dropping the rest of {}'s output: the line consumer failed", command.get(0), e);
        }
      }
    } catch (IOException e) {
      // The process was killed and its pipe closed under us; the outcome says why.
    }
  }

  private static void killTree(Process process) {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
  }

  private static java.io.File nullDevice() {
    return new java.io.File(
        System.getProperty("os.name").startsWith("Windows") ? "NUL" : "/dev/null");
  }
}
