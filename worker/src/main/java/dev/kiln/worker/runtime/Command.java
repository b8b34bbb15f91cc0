package dev.kiln.worker.runtime;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** Runs an external program to completion, streaming its merged output line by line. */
final class Command {

  private static final int TAIL_LINES = 30;

  private Command() {}

  /** Exit status and the last lines of output, for error messages. */
  record Outcome(int exitCode, List<String> tail) {
    boolean succeeded() {
      return exitCode == 0;
    }

    String tailText() {
      return String.join("\n", tail);
    }
  }

  static Outcome run(
      List<String> command,
      Map<String, String> environment,
      Duration timeout,
      Consumer<String> lines)
      throws IOException, InterruptedException {
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().putAll(environment);
    builder.redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
    Process process = builder.start();
    Deque<String> tail = new ArrayDeque<>();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader output =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = output.readLine(); line != null; line = output.readLine()) {
                  synchronized (tail) {
                    tail.addLast(line);
                    if (tail.size() > TAIL_LINES) {
                      tail.removeFirst();
                    }
                  }
                  lines.accept(line);
                }
              } catch (IOException streamClosed) {
                // Only happens when the process is killed (timeout or interrupt); the caller
                // reports that from the exit status, with the lines read so far.
                return;
              }
            },
            "output of " + Path.of(command.get(0)).getFileName());
    reader.setDaemon(true);
    reader.start();
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        destroyTree(process);
        reader.join(TimeUnit.SECONDS.toMillis(10));
        synchronized (tail) {
          tail.addLast(
              command.get(0)
                  + " did not finish within "
                  + timeout.toMinutes()
                  + " minutes and was stopped");
          return new Outcome(-1, List.copyOf(tail));
        }
      }
      reader.join();
      synchronized (tail) {
        return new Outcome(process.exitValue(), List.copyOf(tail));
      }
    } catch (InterruptedException e) {
      destroyTree(process);
      throw e;
    }
  }

  private static void destroyTree(Process process) {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
  }
}
