package dev.kiln.deploy.docker;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The {@code docker} command line, run as a child process: the only way the deployer talks to the
 * daemon.
 */
final class DockerCli {
  /** What one command did: its exit status and everything it printed (stdout and stderr). */
  record Result(int exitCode, String output) {
    boolean ok() {
      return exitCode == 0;
    }
  }

  private final String executable;

  DockerCli(String executable) {
    this.executable = executable;
  }

  Result run(Duration timeout, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(executable);
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    process.getOutputStream().close();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Thread reader =
        new Thread(
            () -> {
              try (InputStream in = process.getInputStream()) {
                in.transferTo(out);
              } catch (IOException ignored) {
                // the process went away; what was read is what there is
              }
            },
            "docker-output");
    reader.setDaemon(true);
    reader.start();
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      throw new IOException(
          "docker "
              + String.join(" ", args)
              + " did not finish within "
              + timeout.toSeconds()
              + " s");
    }
    reader.join(5_000);
    synchronized (out) {
      return new Result(
          process.exitValue(), new String(out.toByteArray(), StandardCharsets.UTF_8).strip());
    }
  }

  /** Runs the command and returns its output, or throws with the output when it failed. */
  String check(Duration timeout, String... args) throws IOException, InterruptedException {
    Result result = run(timeout, args);
    if (!result.ok()) {
      throw new IOException(
          "docker "
              + String.join(" ", args)
              + " failed with status "
              + result.exitCode()
              + ": "
              + result.output());
    }
    return result.output();
  }
}
