package dev.kiln.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real OCI distribution registry (Debian's {@code docker-registry} package, i.e. CNCF
 * distribution 2.8) on 127.0.0.1, with its storage in a fresh temp directory.
 *
 * <p>The registry picks its own free port (it listens on port 0 and reports the address), so there
 * is no race for a port. {@link #start()} returns once {@code GET /v2/} answers; {@link #close()}
 * stops the process and deletes the storage. Plain HTTP: clients must treat it as an insecure
 * registry (jib: {@code Containerizer.setAllowInsecureRegistries(true)}).
 */
public final class LocalRegistry implements AutoCloseable {

  /** Where Debian's docker-registry package installs the binary. */
  public static final Path DEBIAN_BINARY = Path.of("/usr/bin/docker-registry");

  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");
  private static final int TAIL_LINES = 20;
  private static final Pattern REQUEST =
      Pattern.compile(
          "http\\.request\\.method=(\\S+) .*http\\.request\\.uri=(?:\"([^\"]*)\"|(\\S+))");

  private final Process process;
  private final Path workDirectory;
  private final Path storageDirectory;
  private final int port;
  private final List<String> requests;
  private boolean closed;

  private LocalRegistry(
      Process process, Path workDirectory, Path storageDirectory, int port, List<String> requests) {
    this.requests = requests;
    this.process = process;
    this.workDirectory = workDirectory;
    this.storageDirectory = storageDirectory;
    this.port = port;
  }

  /** Starts Debian's {@code docker-registry} (found on PATH or at {@link #DEBIAN_BINARY}). */
  public static LocalRegistry start() throws IOException {
    return start(findBinary());
  }

  static LocalRegistry start(Path binary) throws IOException {
    if (!Files.isExecutable(binary)) {
      throw new IOException(
          "The registry binary "
              + binary
              + " is missing or not executable: install Debian's "
              + "docker-registry package (apt-get install -y docker-registry; .ci/run does this).");
    }
    Path work = Files.createTempDirectory("kiln-registry-");
    Path storage = Files.createDirectories(work.resolve("storage"));
    Path config = work.resolve("config.yml");
    Files.writeString(config, config(storage), StandardCharsets.UTF_8);
    Process process;
    try {
      process =
          new ProcessBuilder(binary.toString(), "serve", config.toString())
              .redirectErrorStream(true)
              .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
              .start();
    } catch (IOException e) {
      deleteTree(work);
      throw new IOException("Cannot start " + binary + ": " + e.getMessage(), e);
    }
    Deque<String> tail = new ArrayDeque<>();
    CompletableFuture<Integer> listening = new CompletableFuture<>();
    List<String> requests = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    Thread logReader =
        new Thread(() -> drainLog(process, tail, requests, listening), "docker-registry log");
    logReader.setDaemon(true);
    logReader.start();
    try {
      int port = listening.get(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      LocalRegistry registry = new LocalRegistry(process, work, storage, port, requests);
      registry.awaitApi(tail);
      return registry;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      stop(process, work);
      throw new IOException("Interrupted while starting the registry", e);
    } catch (ExecutionException | TimeoutException | IOException e) {
      stop(process, work);
      throw new IOException(
          "docker-registry did not start within "
              + START_TIMEOUT.toSeconds()
              + " s"
              + (process.isAlive() ? "" : " (it exited with status " + process.exitValue() + ")")
              + ". Its last log lines:\n"
              + tailText(tail),
          e);
    }
  }

  /** {@code 127.0.0.1:PORT}, the registry part of an image reference. */
  public String address() {
    return "127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  /** {@code http://127.0.0.1:PORT/}, the base of the registry HTTP API. */
  public URI uri() {
    return URI.create("http://" + address() + "/");
  }

  /** Where the registry keeps its blobs and manifests; deleted by {@link #close()}. */
  public Path storageDirectory() {
    return storageDirectory;
  }

  /** Stops the registry and deletes its storage. Closing twice is harmless. */
  @Override
  public synchronized void close() throws IOException {
    if (!closed) {
      closed = true;
      stop(process, workDirectory);
    }
  }

  private void awaitApi(Deque<String> tail) throws IOException, InterruptedException {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    HttpRequest request =
        HttpRequest.newBuilder(uri().resolve("/v2/")).timeout(Duration.ofSeconds(5)).build();
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    IOException lastFailure = null;
    // The registry logs "listening" just before it serves, so this normally succeeds at once.
    for (long pause = 10;
        System.nanoTime() < deadline && process.isAlive();
        pause = Math.min(pause * 2, 200)) {
      try {
        HttpResponse<Void> response = client.send(request, HttpResponse.BodyHandlers.discarding());
        if (response.statusCode() == 200) {
          return;
        }
        lastFailure = new IOException("GET /v2/ answered HTTP " + response.statusCode());
      } catch (IOException e) {
        lastFailure = e;
      }
      Thread.sleep(pause);
    }
    throw new IOException(
        "docker-registry on "
            + address()
            + " never answered GET /v2/ with 200. Its last log lines:\n"
            + tailText(tail),
        lastFailure);
  }

  private static String config(Path storage) {
    return """
           version: 0.1
           log:
             level: info
             formatter: text
             accesslog:
               disabled: true
           storage:
             filesystem:
               rootdirectory: %s
             delete:
               enabled: true
           http:
             addr: 127.0.0.1:0
             secret: %s
           """
        .formatted(quoteYaml(storage.toString()), UUID.randomUUID());
  }

  private static String quoteYaml(String value) {
    return "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  /**
   * Every request the registry has answered so far, as {@code METHOD URI} (e.g. {@code PUT
   * /v2/t/a/blobs/uploads/<id>?digest=sha256:…}), in order: what a client really sent, for tests
   * that count uploads. The registry logs a request once it has answered it, so read this after the
   * client is done.
   */
  public List<String> requests() {
    synchronized (requests) {
      return List.copyOf(requests);
    }
  }

  private static void drainLog(
      Process process,
      Deque<String> tail,
      List<String> requests,
      CompletableFuture<Integer> listening) {
    try (BufferedReader log =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line = log.readLine(); line != null; line = log.readLine()) {
        synchronized (tail) {
          tail.addLast(line);
          if (tail.size() > TAIL_LINES) {
            tail.removeFirst();
          }
        }
        Matcher request = REQUEST.matcher(line);
        if (line.contains("msg=\"response completed") && request.find()) {
          // logrus quotes a value only when it needs quoting
          requests.add(
              request.group(1)
                  + " "
                  + (request.group(2) != null ? request.group(2) : request.group(3)));
        }
        Matcher address = LISTENING.matcher(line);
        if (address.find()) {
          listening.complete(Integer.parseInt(address.group(1)));
        }
      }
    } catch (IOException e) {
      listening.completeExceptionally(e);
      return;
    }
    listening.completeExceptionally(new IOException("docker-registry exited before it listened"));
  }

  private static String tailText(Deque<String> tail) {
    synchronized (tail) {
      return tail.isEmpty() ? "(none)" : String.join("\n", tail);
    }
  }

  private static void stop(Process process, Path work) throws IOException {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    deleteTree(work);
  }

  private static Path findBinary() throws IOException {
    String path = Optional.ofNullable(System.getenv("PATH")).orElse("");
    for (String directory : path.split(java.io.File.pathSeparator)) {
      if (!directory.isEmpty() && Files.isExecutable(Path.of(directory, "docker-registry"))) {
        return Path.of(directory, "docker-registry");
      }
    }
    if (Files.isExecutable(DEBIAN_BINARY)) {
      return DEBIAN_BINARY;
    }
    // As root on Debian (a fresh CI or developer machine), install it rather than fail, so
    // `./mvnw -B verify` works without a separate setup step.
    if (isRoot() && installWithApt("docker-registry") && Files.isExecutable(DEBIAN_BINARY)) {
      return DEBIAN_BINARY;
    }
    throw new IOException(
        "docker-registry is not installed (looked on PATH and at "
            + DEBIAN_BINARY
            + "): install Debian's docker-registry package (apt-get install -y docker-registry;"
            + " .ci/run does this).");
  }

  private static boolean isRoot() {
    try {
      Process id = new ProcessBuilder("id", "-u").redirectErrorStream(true).start();
      String uid = new String(id.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      return id.waitFor() == 0 && uid.equals("0");
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** apt-get install, with one package-list update and retry; true when it succeeded. */
  private static synchronized boolean installWithApt(String debianPackage) {
    System.err.println(
        "docker-registry is not installed; installing Debian's "
            + debianPackage
            + " with apt-get…");
    for (List<String> step :
        List.of(
            List.of("apt-get", "install", "-y", "-q", "--no-install-recommends", debianPackage),
            List.of("apt-get", "update", "-q"),
            List.of("apt-get", "install", "-y", "-q", "--no-install-recommends", debianPackage))) {
      try {
        ProcessBuilder apt =
            new ProcessBuilder(step)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        apt.environment().put("DEBIAN_FRONTEND", "noninteractive");
        Process process = apt.start();
        if (!process.waitFor(10, java.util.concurrent.TimeUnit.MINUTES)) {
          process.destroyForcibly();
          return false;
        }
        if (process.exitValue() == 0 && step.contains("install")) {
          return true;
        }
      } catch (IOException e) {
        return false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return false;
  }

  private static void deleteTree(Path tree) throws IOException {
    if (!Files.exists(tree)) {
      return;
    }
    Files.walkFileTree(
        tree,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attributes)
              throws IOException {
            Files.delete(file);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult postVisitDirectory(Path directory, IOException failure)
              throws IOException {
            if (failure != null) {
              throw failure;
            }
            Files.delete(directory);
            return FileVisitResult.CONTINUE;
          }
        });
  }
}
