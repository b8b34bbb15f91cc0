package dev.kiln.cli;

import dev.kiln.worker.node.WorkerNode;
import io.vertx.core.Vertx;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * One worker, in its own process: it joins the farm's worker group on {@code kiln.tasks} and runs
 * DETECT, INSTALL and ASSEMBLE tasks, as each worker of {@code kiln up} does. Start more processes
 * (on more machines) for more workers.
 */
@Command(
    mixinStandardHelpOptions = true,
    name = "worker",
    description = {
      "Run one worker: takes tasks from the farm's kiln.tasks topic (shared with every other",
      "worker), builds, and reports results. Needs --kafka, --cache-url and the farm token",
      "(KILN_FARM_TOKEN or <home>/secrets/farm-token). Its state lives under",
      "<home>/workers/<id>/ and <home>/runtimes/. Stops on Ctrl-C; a task in flight goes to",
      "another worker."
    })
public final class WorkerCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin FarmOptions options;

  @Option(
      names = "--cache-url",
      paramLabel = "URL",
      defaultValue = "${env:KILN_CACHE_URL}",
      description =
          "The farm's cache-service (`kiln cache-service` prints it). Env: KILN_CACHE_URL.")
  String cacheUrl;

  @Option(
      names = "--worker-id",
      paramLabel = "ID",
      defaultValue = "${env:KILN_WORKER_ID}",
      description =
          "This worker's name in results, logs and Kafka client ids; unique in the farm. Env:"
              + " KILN_WORKER_ID. Default: the host name.")
  String workerId;

  @Option(
      names = "--tasks",
      paramLabel = "N",
      defaultValue = "${env:KILN_WORKER_TASKS}",
      description =
          "How many tasks this worker runs at once; at most half of them INSTALLs and half"
              + " ASSEMBLEs. Env: KILN_WORKER_TASKS. Default: two per core of the machine")
  Integer tasks;

  @Option(
      names = "--metrics-port",
      paramLabel = "PORT",
      defaultValue = "${env:KILN_METRICS_PORT:-8482}",
      description =
          "Port of this worker's GET /metrics (Prometheus, farm token) and GET /health; 0 = any"
              + " free port. Env: KILN_METRICS_PORT. Default: ${DEFAULT-VALUE}")
  int metricsPort;

  @Option(
      names = "--metrics-host",
      paramLabel = "HOST",
      defaultValue = "${env:KILN_METRICS_HOST:-0.0.0.0}",
      description =
          "Address the metrics port listens on. Env: KILN_METRICS_HOST. Default: ${DEFAULT-VALUE}")
  String metricsHost;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    FarmSettings settings = options.toSettings();
    ServiceProcess.requireKafka(settings, "worker");
    String cache = ServiceProcess.requireUrl(cacheUrl, "worker", "--cache-url", "KILN_CACHE_URL");
    if (tasks != null && tasks < 1) {
      throw new UserError("--tasks must be 1 or more (got " + tasks + ")", 2);
    }
    int concurrency = tasks == null ? Farm.defaultTasksPerWorker(1) : tasks;
    String id = workerId == null || workerId.isBlank() ? hostName() : workerId;
    String farmToken =
        ServiceProcess.farmSecrets(settings, "worker", false, true, false).farmToken();
    WorkerNode.Settings node;
    try {
      node =
          Farm.workerNodeSettings(
              settings,
              RuntimeCatalogs.forFarm(settings.runtimeCatalog(), out::println),
              settings.kafka(),
              cache,
              farmToken,
              List.of(id),
              concurrency);
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage() + "; pass --worker-id", 2);
    }
    Vertx vertx = Vertx.vertx();
    WorkerNode worker;
    try {
      worker = WorkerNode.start(vertx, node, out::println);
    } catch (RuntimeException e) {
      vertx.close();
      throw new UserError("the worker did not start: " + e.getMessage(), 1);
    }
    int metricsAt;
    try {
      metricsAt = worker.serveMetrics(metricsHost, metricsPort);
    } catch (RuntimeException e) {
      worker.close();
      vertx.close();
      throw new UserError(
          "the worker's metrics port "
              + metricsPort
              + " could not be opened ("
              + e.getMessage()
              + "); pick another with --metrics-port (0 = any free port)",
          1);
    }
    out.println("-----> The worker " + id + " is up; metrics on port " + metricsAt);
    out.flush();
    ServiceProcess.runUntilStopped(
        () -> {
          worker.close();
          vertx.close().toCompletionStage().toCompletableFuture().join();
        });
    return 0;
  }

  static String hostName() {
    String env = System.getenv("HOSTNAME");
    if (env != null && !env.isBlank()) {
      return env;
    }
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException e) {
      throw new UserError("cannot tell this machine's host name; pass --worker-id ID", 2);
    }
  }
}
