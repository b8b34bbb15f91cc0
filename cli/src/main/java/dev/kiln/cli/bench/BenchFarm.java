package dev.kiln.cli.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.cli.FarmSecrets;
import dev.kiln.cli.Main;
import dev.kiln.events.EventCodec;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A farm of separate {@code kiln} processes (broker, cache-service, coordinator, one worker)
 * started with this JVM's class path, so their CPU time and heap can be read per process. {@link
 * #close()} stops them (SIGTERM, newest first); the bench also calls it from a shutdown hook.
 */
final class BenchFarm implements AutoCloseable {
  /** One started process and its log. */
  record Started(String name, Process process, Path log, String found) {}

  private final Path home;
  private final Path logs;
  private final PrintStream progress;
  private final List<Started> started = new ArrayList<>();
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private String coordinatorUrl;
  private String operatorToken;
  private Started coordinator;
  private Started worker;

  BenchFarm(Path home, Path logs, PrintStream progress) {
    this.home = home;
    this.logs = logs;
    this.progress = progress;
  }

  void start(String indexUrl, Integer workerTasks, boolean imageLayouts) throws IOException {
    Files.createDirectories(logs);
    operatorToken = FarmSecrets.loadOrCreate(home).operatorToken();
    String kafka = "127.0.0.1:" + freePort();
    int cachePort = freePort();
    String cacheUrl = "http://127.0.0.1:" + cachePort;
    progress.println("bench: starting the farm (broker, cache-service, coordinator, worker)");
    start(
        "broker",
        "The broker is up on (\\S+)",
        "broker",
        "--data",
        home.resolve("kafka").toString(),
        "--listen",
        kafka);
    String[] common = {"--home", home.toString(), "--kafka", kafka};
    coordinator =
        start(
            "coordinator",
            "The coordinator is up on (\\S+)",
            with(common, "coordinator", "--http-port", "0", "--cache-url", cacheUrl));
    coordinatorUrl = coordinator.found().replaceAll("/+$", "");
    start(
        "cache-service",
        "The cache-service is up",
        with(
            common,
            "cache-service",
            "--cache-port",
            String.valueOf(cachePort),
            "--upstream-index",
            indexUrl));
    worker =
        start(
            "worker",
            "The worker \\S+ is up",
            with(common, "worker", workerArguments(cacheUrl, workerTasks, imageLayouts)));
    progress.println("bench: the farm is up; coordinator " + coordinatorUrl);
  }

  private static String[] workerArguments(
      String cacheUrl, Integer workerTasks, boolean imageLayouts) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--cache-url",
                cacheUrl,
                "--worker-id",
                "bench-worker",
                "--runtime-catalog",
                "offline"));
    if (imageLayouts) {
      args.add("--image-layouts");
    }
    if (workerTasks != null) {
      args.addAll(List.of("--tasks", String.valueOf(workerTasks)));
    }
    return args.toArray(String[]::new);
  }

  private Started start(String name, String upPattern, String... args) throws IOException {
    Path log = logs.resolve(name + ".log");
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx512m");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(Main.class.getName());
    command.addAll(List.of(args));
    Process process =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    Started one;
    synchronized (started) {
      one = new Started(name, process, log, null);
      started.add(one);
    }
    Pattern up = Pattern.compile(upPattern);
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
    while (true) {
      Matcher matcher = up.matcher(Files.readString(log));
      if (matcher.find()) {
        String found = matcher.groupCount() > 0 ? matcher.group(1) : matcher.group();
        Started ready = new Started(name, process, log, found);
        synchronized (started) {
          started.set(started.indexOf(one), ready);
        }
        return ready;
      }
      if (!process.isAlive() || System.nanoTime() > deadline) {
        throw new BenchFailure(
            "kiln "
                + String.join(" ", args)
                + (process.isAlive() ? " did not come up in 3 minutes" : " stopped")
                + ":\n"
                + Shell.tail(Files.readString(log), 4000));
      }
      sleep(200);
    }
  }

  String coordinatorUrl() {
    return coordinatorUrl;
  }

  String operatorToken() {
    return operatorToken;
  }

  long coordinatorPid() {
    return coordinator.process().pid();
  }

  long workerPid() {
    return worker.process().pid();
  }

  Path workerLog() {
    return worker.log();
  }

  /** Throws when a process of the farm has stopped: its figures would be meaningless. */
  void checkAlive() {
    synchronized (started) {
      for (Started one : started) {
        if (!one.process().isAlive()) {
          String log;
          try {
            log = Shell.tail(Files.readString(one.log()), 4000);
          } catch (IOException e) {
            log = "(no log)";
          }
          throw new BenchFailure("kiln " + one.name() + " stopped during the run:\n" + log);
        }
      }
    }
  }

  /** The build record, once its outcome is published (polls for at most a minute). */
  BuildRecord build(String buildId) {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
    while (true) {
      JsonNode build = get("/v1/builds/" + buildId);
      String state = build.path("state").asText();
      boolean terminal =
          state.equals("SUCCEEDED") || state.equals("FAILED") || state.equals("CANCELLED");
      if ((terminal && build.path("outcomePublished").asBoolean(true))
          || System.nanoTime() > deadline) {
        return BuildRecord.parse(build);
      }
      sleep(100);
    }
  }

  JsonNode get(String path) {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(coordinatorUrl + path))
            .timeout(Duration.ofSeconds(30))
            .header("Authorization", "Bearer " + operatorToken)
            .GET()
            .build();
    try {
      HttpResponse<String> response =
          http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      if (response.statusCode() != 200) {
        throw new BenchFailure(
            "GET " + path + " answered HTTP " + response.statusCode() + ": " + response.body());
      }
      return EventCodec.mapper().readTree(response.body());
    } catch (IOException e) {
      throw new BenchFailure("GET " + path + " failed: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BenchFailure("interrupted");
    }
  }

  /** The trash directories of the worker's background deleter (created when it starts). */
  List<Path> trashDirectories() throws IOException {
    try (Stream<Path> paths = Files.walk(home, 4)) {
      return paths
          .filter(p -> p.getFileName().toString().equals("trash") && Files.isDirectory(p))
          .toList();
    }
  }

  @Override
  public void close() {
    List<Started> all;
    synchronized (started) {
      all = new ArrayList<>(started);
      started.clear();
    }
    for (int i = all.size() - 1; i >= 0; i--) {
      Process process = all.get(i).process();
      if (process.isAlive()) {
        process.destroy();
        try {
          if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
          }
        } catch (InterruptedException e) {
          process.destroyForcibly();
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BenchFailure("interrupted");
    }
  }

  private static String[] with(String[] common, String command, String... more) {
    String[] all = new String[1 + common.length + more.length];
    all[0] = command;
    System.arraycopy(common, 0, all, 1, common.length);
    System.arraycopy(more, 0, all, 1 + common.length, more.length);
    return all;
  }
}
