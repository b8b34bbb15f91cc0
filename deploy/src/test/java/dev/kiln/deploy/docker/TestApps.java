package dev.kiln.deploy.docker;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Tiny app images built on the local Docker daemon from the offline Python runtime (no registry, no
 * internet): each runs a one-file Python HTTP server on $PORT.
 */
final class TestApps {
  static final String BASE = "kiln/python-runtime:bookworm";
  static final Path BASE_TARBALL = Path.of("/var/cache/kiln/runtimes/debian-bookworm-python3.tar");

  private TestApps() {}

  /**
   * Skips (or, with CI=true, fails) the calling test when no Docker daemon answers or the Python
   * runtime image can neither be found nor loaded from {@link #BASE_TARBALL}.
   */
  static void requireDockerAndBase() throws Exception {
    if (docker("version").exitCode != 0) {
      unavailable("no Docker daemon is reachable; start one with .ci/start-dockerd (as root)");
    }
    if (docker("image", "inspect", BASE).exitCode != 0 && Files.isRegularFile(BASE_TARBALL)) {
      docker("load", "-i", BASE_TARBALL.toString());
    }
    if (docker("image", "inspect", BASE).exitCode != 0) {
      unavailable(
          BASE
              + " is not in the Docker daemon and "
              + BASE_TARBALL
              + " does not load it; the worker's LocalRuntimeImageTest builds it");
    }
  }

  private static void unavailable(String why) {
    if ("true".equals(System.getenv("CI"))) {
      fail("CI=true but " + why);
    }
    assumeTrue(false, why);
  }

  /**
   * Builds {@code name} whose command serves {@code body} on every GET after sleeping {@code
   * startDelaySeconds}.
   */
  static void buildServer(String name, String body, double startDelaySeconds) throws Exception {
    String script =
        "import http.server, os, time\\n"
            + "time.sleep("
            + startDelaySeconds
            + ")\\n"
            + "class H(http.server.BaseHTTPRequestHandler):\\n"
            + "    def do_GET(self):\\n"
            + "        b = b'"
            + body
            + "'\\n"
            + "        self.send_response(200)\\n"
            + "        self.send_header('Content-Length', str(len(b)))\\n"
            + "        self.end_headers()\\n"
            + "        self.wfile.write(b)\\n"
            + "    def log_message(self, *args):\\n"
            + "        pass\\n"
            + "print('serving "
            + body
            + "', flush=True)\\n"
            + "http.server.ThreadingHTTPServer(('', int(os.environ['PORT'])), H).serve_forever()\\n";
    build(name, "[\"python3\", \"-c\", \"" + script + "\"]");
  }

  /** Builds {@code name} whose command prints a line and exits with status 1. */
  static void buildCrasher(String name, String message) throws Exception {
    build(
        name,
        "[\"python3\", \"-c\", \"print('starting', flush=True)\\nraise SystemExit('"
            + message
            + "')\"]");
  }

  /** Builds {@code name} whose command prints a line and then sleeps without listening. */
  static void buildSilent(String name) throws Exception {
    build(
        name,
        "[\"python3\", \"-c\", \"import time\\nprint('listening on nothing', flush=True)\\n"
            + "time.sleep(600)\"]");
  }

  /**
   * Builds {@code name} on the Python runtime with {@code cmdJson} (a JSON array) as its command.
   */
  static void build(String name, String cmdJson) throws Exception {
    String dockerfile = "FROM " + BASE + "\nCMD " + cmdJson + "\n";
    Result result = dockerWithInput(dockerfile, "build", "-q", "-t", name, "-");
    if (result.exitCode != 0) {
      throw new IOException("docker build of " + name + " failed: " + result.output);
    }
  }

  static void remove(String... images) throws Exception {
    for (String image : images) {
      docker("rmi", "-f", image);
    }
  }

  static String containers(String label) throws Exception {
    return docker("ps", "-a", "-q", "--filter", "label=" + label).output.strip();
  }

  record Result(int exitCode, String output) {}

  static Result docker(String... args) throws Exception {
    return dockerWithInput(null, args);
  }

  private static Result dockerWithInput(String stdin, String... args) throws Exception {
    String[] command = new String[args.length + 1];
    command[0] = "docker";
    System.arraycopy(args, 0, command, 1, args.length);
    Process process;
    try {
      process = new ProcessBuilder(command).redirectErrorStream(true).start();
    } catch (IOException e) {
      return new Result(127, e.toString());
    }
    try (OutputStream in = process.getOutputStream()) {
      if (stdin != null) {
        in.write(stdin.getBytes(StandardCharsets.UTF_8));
      }
    }
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(5, TimeUnit.MINUTES)) {
      process.destroyForcibly();
      return new Result(124, output);
    }
    return new Result(process.exitValue(), output);
  }
}
