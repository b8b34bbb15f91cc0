package dev.kiln.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.events.Digest;
import dev.kiln.events.PushEvent;
import dev.kiln.testkit.GitRepo;
import dev.kiln.testkit.StaticIndexServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Builds per minute with 1, 2 and 4 {@code kiln worker} processes on one broker (a plain main, not
 * a test: it measures, and tests never assert wall-clock times). Run it with {@code
 * samples/bench/throughput.sh [APPS] [WORKER-COUNTS…]}.
 *
 * <p>Each round starts a fresh farm of separate processes ({@code kiln coordinator}, {@code kiln
 * cache-service} and W {@code kiln worker}s; one {@code kiln broker} serves every round under its
 * own topic prefix), builds one warm-up app so the dependency layer is in the action cache, then
 * pushes APPS apps at once that share that dependency set and differ in their code, spread over
 * four tenants (a tenant runs at most 4 builds at a time), and times from the first push to the
 * last image. Every build is DETECT, an action-cache hit, and ASSEMBLE.
 */
public final class ThroughputBench {
  private static final String[] TENANTS = {"bench-a", "bench-b", "bench-c", "bench-d"};

  private ThroughputBench() {}

  public static void main(String[] args) throws Exception {
    int apps = args.length > 0 ? Integer.parseInt(args[0]) : 16;
    List<Integer> counts = new ArrayList<>();
    for (int i = 1; i < args.length; i++) {
      counts.add(Integer.parseInt(args[i]));
    }
    if (counts.isEmpty()) {
      counts = List.of(1, 2, 4);
    }
    Path root = Files.createTempDirectory("kiln-bench");
    Path wheels = Files.createDirectories(root.resolve("wheels"));
    Path gunicorn =
        Files.copy(
            Path.of("samples", "index", "files", "gunicorn-26.2.0-py3-none-any.whl")
                .toAbsolutePath(),
            wheels.resolve("gunicorn-26.2.0-py3-none-any.whl"));
    String requirements = "gunicorn==26.2.0 --hash=sha256:" + Digest.compute(gunicorn).hex() + "\n";
    Map<Integer, Double> perMinute = new LinkedHashMap<>();
    try (StaticIndexServer index = StaticIndexServer.start(wheels);
        ServiceProcesses broker = new ServiceProcesses(root)) {
      String kafka = "127.0.0.1:" + BrokerCommandTest.freePort();
      broker.start(
          "broker",
          "The broker is up on (\\S+)",
          "broker",
          "--data",
          root.resolve("kafka").toString(),
          "--listen",
          kafka);
      for (int workers : counts) {
        double rate = round(root, kafka, index.indexUrl(), requirements, workers, apps);
        perMinute.put(workers, rate);
        System.out.printf(
            Locale.ROOT, "workers=%d builds=%d builds/min=%.1f%n", workers, apps, rate);
      }
    }
    double base = perMinute.values().iterator().next();
    System.out.println("| workers | builds/min | vs 1 worker |");
    System.out.println("|---|---|---|");
    perMinute.forEach(
        (workers, rate) ->
            System.out.printf(Locale.ROOT, "| %d | %.1f | %.2f× |%n", workers, rate, rate / base));
  }

  private static double round(
      Path root, String kafka, String indexUrl, String requirements, int workers, int apps)
      throws Exception {
    Path dir = Files.createDirectories(root.resolve("round-" + workers));
    Path home = dir.resolve("home");
    FarmSecrets.loadOrCreate(home);
    String prefix = "w" + workers + ".";
    int cachePort = BrokerCommandTest.freePort();
    String cacheUrl = "http://127.0.0.1:" + cachePort;
    String[] common = {"--home", home.toString(), "--kafka", kafka, "--topic-prefix", prefix};
    try (ServiceProcesses farm = new ServiceProcesses(dir)) {
      String coordinatorUrl =
          farm.start(
                  "coordinator",
                  "The coordinator is up on (\\S+)",
                  with(common, "coordinator", "--http-port", "0", "--cache-url", cacheUrl))
              .found();
      farm.start(
          "cache-service",
          "The cache-service is up",
          with(
              common,
              "cache-service",
              "--cache-port",
              String.valueOf(cachePort),
              "--upstream-index",
              indexUrl));
      for (int i = 1; i <= workers; i++) {
        farm.start(
            "worker-" + i,
            "The worker \\S+ is up",
            with(
                common,
                "worker",
                "--cache-url",
                cacheUrl,
                "--worker-id",
                "worker-" + i,
                "--runtime-catalog",
                "offline",
                "--metrics-port",
                "0"));
      }
      CoordinatorClient client =
          new CoordinatorClient(coordinatorUrl, FarmSecrets.clientToken(null, home));
      // Warm-up: fills the action cache with the shared dependency layer and settles the group.
      awaitAll(client, List.of(push(client, home, TENANTS[0], "warm-up", requirements)), farm);

      List<PushEvent> pushes = new ArrayList<>();
      for (int i = 0; i < apps; i++) {
        pushes.add(event(home, TENANTS[i % TENANTS.length], "app-" + i, requirements));
      }
      long start = System.nanoTime();
      List<String> ids = new ArrayList<>();
      for (PushEvent event : pushes) {
        ids.add(client.push(event).buildId());
      }
      Map<String, Double> cpuBefore = farm.cpuSeconds();
      awaitAll(client, ids, farm);
      double minutes = (System.nanoTime() - start) / 60e9;
      Map<String, Double> cpuAfter = farm.cpuSeconds();
      StringBuilder cpu = new StringBuilder();
      double total = 0;
      for (var entry : cpuAfter.entrySet()) {
        double used = entry.getValue() - cpuBefore.getOrDefault(entry.getKey(), 0.0);
        total += used;
        cpu.append(String.format(Locale.ROOT, " %s=%.2f", entry.getKey(), used / apps));
      }
      System.out.printf(
          Locale.ROOT,
          "workers=%d CPU seconds per build:%s (farm processes: %.2f; wall seconds per build:"
              + " %.2f)%n",
          workers,
          cpu,
          total / apps,
          minutes * 60 / apps);
      return apps / minutes;
    }
  }

  private static String push(
      CoordinatorClient client, Path home, String tenant, String app, String requirements)
      throws Exception {
    return client.push(event(home, tenant, app, requirements)).buildId();
  }

  private static PushEvent event(Path home, String tenant, String app, String requirements)
      throws Exception {
    GitRepo repo = GitRepo.init(home.resolve("repos").resolve(tenant).resolve(app + ".git"));
    String commit =
        repo.commit(
            Map.of(
                "requirements.txt",
                requirements,
                ".python-version",
                "3.11\n",
                "app.py",
                "app = None\nNAME = '" + app + "'\n",
                "Procfile",
                "web: gunicorn app:app\n"),
            app);
    return new PushEvent(tenant, app, repo.url(), "main", commit, null, Map.of(), Instant.now());
  }

  private static void awaitAll(CoordinatorClient client, List<String> ids, ServiceProcesses farm)
      throws Exception {
    long deadline = System.nanoTime() + Duration.ofMinutes(30).toNanos();
    for (String id : ids) {
      while (true) {
        JsonNode build = client.get("/v1/builds/" + id);
        String state = build.path("state").asText();
        if (state.equals("SUCCEEDED")) {
          break;
        }
        if (state.equals("FAILED") || System.nanoTime() > deadline) {
          throw new IllegalStateException("build " + id + " " + build + farm.logs());
        }
        Thread.sleep(200);
      }
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
