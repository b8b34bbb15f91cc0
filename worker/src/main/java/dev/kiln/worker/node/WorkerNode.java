package dev.kiln.worker.node;

import dev.kiln.buildpack.RuntimeCatalog;
import dev.kiln.events.Topics;
import dev.kiln.messaging.KafkaClientSettings;
import dev.kiln.observability.ConsumerLagMeter;
import dev.kiln.observability.MetricsServer;
import dev.kiln.observability.ServiceMetrics;
import dev.kiln.worker.TaskSteps;
import dev.kiln.worker.WorkerConfig;
import dev.kiln.worker.WorkerVerticle;
import dev.kiln.worker.assemble.AssembleStep;
import dev.kiln.worker.assemble.DockerfileBuild;
import dev.kiln.worker.assemble.ImageTarget;
import dev.kiln.worker.buildsteps.BuildStepRunner;
import dev.kiln.worker.runtime.LocalRuntimeImage;
import dev.kiln.worker.runtime.RuntimeStore;
import dev.kiln.worker.sandbox.IndexAccess;
import dev.kiln.worker.sandbox.Sandbox;
import dev.kiln.worker.sandbox.SandboxException;
import dev.kiln.worker.sandbox.SandboxLimits;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Vertx;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.function.Consumer;

/**
 * The worker module's front door: one or more workers of a farm in this process, with everything a
 * worker needs assembled here (the sandbox, the runtime store, the build-step runner, the image
 * target, the complete task steps). {@code kiln up} starts one with several workers next to the
 * other services; {@code kiln worker} starts one with one worker in a process of its own.
 */
public final class WorkerNode implements AutoCloseable {
  /**
   * What a node needs to know about its farm.
   *
   * @param bootstrapServers the farm's Kafka, {@code host:port[,…]}
   * @param topics the farm's topics (with its prefix)
   * @param kafkaClient the operator's Kafka client settings (SASL, TLS); null for none
   * @param cacheServiceUrl the farm's cache-service
   * @param farmToken the farm credential the cache-service asks of workers
   * @param home the node's state: {@code workers/<id>/} per worker, {@code runtimes/}, and {@code
   *     images/} when images go to tarballs
   * @param sourceRoot the farm's local repositories ({@code file://} sources under {@code
   *     <sourceRoot>/<tenant>/}); null: none
   * @param catalog the Python runtimes builds run on
   * @param registry the registry images are pushed to ({@code host[:port]}); null: images under
   *     {@code <home>/images/}
   * @param ociLayouts without a registry: one OCI image layout per app, sharing blobs between its
   *     images, instead of one tarball per build
   * @param debianMirror where the offline runtimes' Debian packages come from
   * @param buildStepTimeout the longest one build step may run
   * @param buildStepMemoryMiB the memory one build step may use
   * @param workerIds one worker per id, each with its own work directory and Kafka client ids
   * @param tasksPerWorker how many tasks each worker runs at once
   * @param dockerfileBuilder how the workers build Dockerfile apps; null: they have no Dockerfile
   *     builder
   */
  public record Settings(
      String bootstrapServers,
      Topics topics,
      KafkaClientSettings kafkaClient,
      String cacheServiceUrl,
      String farmToken,
      Path home,
      Path sourceRoot,
      RuntimeCatalog catalog,
      String registry,
      boolean ociLayouts,
      String debianMirror,
      Duration buildStepTimeout,
      long buildStepMemoryMiB,
      List<String> workerIds,
      int tasksPerWorker,
      DockerfileBuild.Settings dockerfileBuilder) {

    /** A node whose workers have no Dockerfile builder. */
    public Settings(
        String bootstrapServers,
        Topics topics,
        KafkaClientSettings kafkaClient,
        String cacheServiceUrl,
        String farmToken,
        Path home,
        Path sourceRoot,
        RuntimeCatalog catalog,
        String registry,
        boolean ociLayouts,
        String debianMirror,
        Duration buildStepTimeout,
        long buildStepMemoryMiB,
        List<String> workerIds,
        int tasksPerWorker) {
      this(
          bootstrapServers,
          topics,
          kafkaClient,
          cacheServiceUrl,
          farmToken,
          home,
          sourceRoot,
          catalog,
          registry,
          ociLayouts,
          debianMirror,
          buildStepTimeout,
          buildStepMemoryMiB,
          workerIds,
          tasksPerWorker,
          null);
    }

    public Settings {
      Objects.requireNonNull(bootstrapServers, "bootstrapServers");
      Objects.requireNonNull(topics, "topics");
      kafkaClient = kafkaClient == null ? KafkaClientSettings.none() : kafkaClient;
      Objects.requireNonNull(cacheServiceUrl, "cacheServiceUrl");
      home = Objects.requireNonNull(home, "home").toAbsolutePath().normalize();
      Objects.requireNonNull(catalog, "catalog");
      Objects.requireNonNull(debianMirror, "debianMirror");
      Objects.requireNonNull(buildStepTimeout, "buildStepTimeout");
      workerIds = List.copyOf(workerIds);
      if (workerIds.isEmpty()) {
        throw new IllegalArgumentException("a worker node runs at least one worker");
      }
      for (String id : workerIds) {
        if (!id.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}")) {
          throw new IllegalArgumentException(
              "worker id '"
                  + id
                  + "' is not a name of letters, digits, '.', '_' and '-' (at most 63, it names"
                  + " a directory and Kafka client ids)");
        }
      }
      if (tasksPerWorker < 1) {
        throw new IllegalArgumentException(
            "a worker runs at least 1 task at a time (got " + tasksPerWorker + ")");
      }
    }

    /** A node with workers {@code worker-1} … {@code worker-<count>}, one task at a time each. */
    public static List<String> numberedIds(int count) {
      List<String> ids = new ArrayList<>();
      for (int i = 1; i <= count; i++) {
        ids.add("worker-" + i);
      }
      return ids;
    }

    /**
     * The image target: the registry, or under {@code <home>/images/} one OCI image layout per app
     * ({@code ociLayouts}) or one tarball per build.
     */
    public ImageTarget imageTarget() {
      if (registry != null) {
        return ImageTarget.registry(registry);
      }
      return ociLayouts
          ? ImageTarget.ociLayouts(home.resolve("images"))
          : ImageTarget.tarballs(home.resolve("images"));
    }

    /** The work directory of worker {@code id}. */
    public Path workDir(String id) {
      return home.resolve("workers").resolve(id);
    }
  }

  private final Vertx vertx;
  private final ExecutorService jib;
  private final List<String> deployments;
  private final List<String> workerIds;
  private final ServiceMetrics metrics;
  private final ConsumerLagMeter lag;
  private final String farmToken;
  private MetricsServer metricsServer;

  private WorkerNode(
      Vertx vertx,
      ExecutorService jib,
      List<String> deployments,
      List<String> workerIds,
      ServiceMetrics metrics,
      ConsumerLagMeter lag,
      String farmToken) {
    this.vertx = vertx;
    this.jib = jib;
    this.deployments = deployments;
    this.workerIds = workerIds;
    this.metrics = metrics;
    this.lag = lag;
    this.farmToken = farmToken;
  }

  /**
   * Checks the sandbox (a missing one is a warning: only apps with build steps need it), then
   * deploys one {@link WorkerVerticle} per worker id on {@code vertx} and waits until each has
   * started. Blocks: call it from a thread that is not an event loop. On a failure the workers
   * deployed so far are undeployed again.
   */
  public static WorkerNode start(Vertx vertx, Settings settings, Consumer<String> say) {
    ExecutorService jib = AssembleStep.newJibExecutor();
    List<String> deployments = new ArrayList<>();
    ServiceMetrics metrics = ServiceMetrics.forService("worker");
    ConsumerLagMeter lag =
        new ConsumerLagMeter(
            settings
                .kafkaClient()
                .applyToObjects(java.util.Map.of("bootstrap.servers", settings.bootstrapServers())),
            WorkerConfig.DEFAULT_CONSUMER_GROUP,
            List.of(settings.topics().tasks()),
            metrics.registry());
    try {
      ImageTarget target = settings.imageTarget();
      say.accept(
          "-----> Starting " + settings.workerIds().size() + " worker(s); images go to " + target);
      DockerfileBuild.Settings dockerfile = settings.dockerfileBuilder();
      say.accept(
          dockerfile == null
              ? "       No Dockerfile builder: apps with a Dockerfile fail with dockerfile::no-builder"
              : "       Apps with a Dockerfile build on the Docker daemon ("
                  + dockerfile.docker()
                  + (dockerfile.allowNetwork() ? ", with network" : ", no network")
                  + ", at most "
                  + dockerfile.timeout().toMinutes()
                  + " min)");
      Sandbox sandbox = new Sandbox(Sandbox.Settings.defaults());
      sandbox.observeRuns(
          outcome ->
              Timer.builder("kiln.sandbox.duration")
                  .description("Time build steps and resolutions spent in the sandbox, by ending")
                  .tag("ending", outcome.ending().name().toLowerCase(java.util.Locale.ROOT))
                  .serviceLevelObjectives(ServiceMetrics.DURATION_BUCKETS)
                  .register(metrics.registry())
                  .record(outcome.elapsed()));
      try {
        sandbox.check();
        say.accept(
            "       Build steps run in a bubblewrap sandbox (limits enforced by "
                + sandbox.limitsEnforcedBy()
                + ")");
      } catch (SandboxException e) {
        say.accept(
            "       Warning: "
                + e.getMessage()
                + " Apps with build steps (bin/pre_compile, bin/post_compile, collectstatic,"
                + " nltk.txt, build_command) will fail with sandbox::unavailable.");
      }
      RuntimeStore runtimes =
          new RuntimeStore(
              new RuntimeStore.Settings(
                  settings.home().resolve("runtimes"),
                  Optional.of(LocalRuntimeImage.DEFAULT_MACHINE_CACHE),
                  settings.debianMirror()),
              settings.catalog(),
              sandbox,
              jib);
      BuildStepRunner buildSteps =
          new BuildStepRunner(
              sandbox,
              new IndexAccess(URI.create(settings.cacheServiceUrl()), settings.farmToken(), null),
              SandboxLimits.defaults()
                  .withTime(settings.buildStepTimeout())
                  .withMemoryBytes(settings.buildStepMemoryMiB() << 20));
      for (String id : settings.workerIds()) {
        WorkerConfig config =
            WorkerConfig.of(
                    id,
                    settings.bootstrapServers(),
                    settings.topics(),
                    settings.workDir(id),
                    settings.cacheServiceUrl(),
                    settings.tasksPerWorker())
                .withKafkaClient(settings.kafkaClient())
                .withFarmToken(settings.farmToken())
                .withSourceRoot(settings.sourceRoot());
        deployments.add(
            vertx
                .deployVerticle(
                    new WorkerVerticle(
                            config,
                            resources ->
                                TaskSteps.complete(
                                    resources,
                                    runtimes,
                                    buildSteps,
                                    target,
                                    jib,
                                    settings.dockerfileBuilder()))
                        .withMeters(metrics.registry()))
                .await());
      }
      return new WorkerNode(
          vertx, jib, deployments, settings.workerIds(), metrics, lag, settings.farmToken());
    } catch (RuntimeException e) {
      undeployQuietly(vertx, deployments);
      jib.shutdownNow();
      lag.close();
      throw e;
    }
  }

  /** This node's meters: every worker's tasks, the sandbox's time, the lag on kiln.tasks. */
  public ServiceMetrics metrics() {
    return metrics;
  }

  /**
   * Serves {@code GET /metrics} (farm token) on {@code host:port} (0: a free port) until the node
   * closes; blocks until it listens.
   *
   * @return the port it listens on
   */
  public int serveMetrics(String host, int port) {
    MetricsServer server = new MetricsServer(metrics, host, port, farmToken);
    deployments.add(vertx.deployVerticle(server).await());
    metricsServer = server;
    return server.actualPort();
  }

  /** The ids of this node's workers. */
  public List<String> workerIds() {
    return workerIds;
  }

  /** Undeploys the workers (a task in flight is redelivered to another worker) and stops jib. */
  @Override
  public void close() {
    undeployQuietly(vertx, deployments);
    jib.shutdownNow();
    lag.close();
  }

  private static void undeployQuietly(Vertx vertx, List<String> deployments) {
    for (String deployment : List.copyOf(deployments)) {
      try {
        vertx
            .undeploy(deployment)
            .toCompletionStage()
            .toCompletableFuture()
            .get(60, java.util.concurrent.TimeUnit.SECONDS);
      } catch (Exception e) {
        // Stopping anyway: Vert.x closing undeploys what is left.
      }
      deployments.remove(deployment);
    }
  }
}
