package dev.kiln.cli;

import dev.kiln.broker.EmbeddedKafka;
import dev.kiln.buildpack.RuntimeCatalog;
import dev.kiln.cache.CacheServiceConfig;
import dev.kiln.cache.CacheServiceVerticle;
import dev.kiln.cache.TenantsTopicDirectory;
import dev.kiln.coordinator.CoordinatorConfig;
import dev.kiln.coordinator.CoordinatorVerticle;
import dev.kiln.events.Topics;
import dev.kiln.events.security.SecretBox;
import dev.kiln.events.security.Tokens;
import dev.kiln.messaging.KafkaTopicsAdmin;
import dev.kiln.worker.node.WorkerNode;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The whole farm in one process: Kafka (embedded KRaft broker unless an external one is given),
 * cache-service, coordinator and workers, each deployed as the verticle it would be in a cluster.
 */
public final class Farm implements AutoCloseable {
  private final FarmSettings settings;
  private final EmbeddedKafka embeddedKafka;
  private final Vertx vertx;
  private final Topics topics;
  private final String bootstrap;
  private final String cacheUrl;
  private final TenantsTopicDirectory tenantDirectory;
  private FarmEndpoints endpoints;
  private CoordinatorVerticle coordinator;

  /** See {@link CoordinatorVerticle#halted()}. */
  io.vertx.core.Future<String> coordinatorHalted() {
    return coordinator.halted();
  }

  private String coordinatorDeployment;
  private WorkerNode workers;
  private LocalDockerDeployer dockerDeployer;

  private Farm(
      FarmSettings settings,
      EmbeddedKafka embeddedKafka,
      Vertx vertx,
      Topics topics,
      String bootstrap,
      String cacheUrl,
      TenantsTopicDirectory tenantDirectory) {
    this.settings = settings;
    this.embeddedKafka = embeddedKafka;
    this.vertx = vertx;
    this.topics = topics;
    this.bootstrap = bootstrap;
    this.cacheUrl = cacheUrl;
    this.tenantDirectory = tenantDirectory;
  }

  /**
   * Starts every part and writes {@code <home>/farm.json}. On any failure everything started so far
   * is stopped again and a {@link UserError} says what went wrong.
   */
  public static Farm start(FarmSettings settings, Consumer<String> say) {
    RuntimeCatalog catalog = RuntimeCatalogs.forFarm(settings.runtimeCatalog(), say);
    EmbeddedKafka kafka = null;
    Vertx vertx = null;
    Farm farm = null;
    TenantsTopicDirectory tenantDirectory = null;
    try {
      String bootstrap;
      if (settings.kafka() == null) {
        say.accept("-----> Starting the embedded Kafka broker (KRaft)");
        kafka = EmbeddedKafka.start(settings.home().resolve("kafka"));
        bootstrap = kafka.bootstrapServers();
      } else {
        bootstrap = settings.kafka();
      }
      Topics topics = Topics.withPrefix(settings.topicPrefix());
      if (!settings.kafkaClient().isEmpty()) {
        say.accept("       Kafka client settings: " + settings.kafkaClient().describe());
      }
      say.accept("-----> Creating topics on " + bootstrap);
      KafkaTopicsAdmin.ensureTopics(bootstrap, settings.kafkaClient(), topics);

      // Tokens and the sealing key live in <home>/secrets (created on the first start, reused).
      FarmSecrets secrets = FarmSecrets.loadOrCreate(settings.home());
      tenantDirectory =
          new TenantsTopicDirectory(
              settings.kafkaClient().applyTo(Map.of("bootstrap.servers", bootstrap)),
              topics.tenants(),
              SecretBox.fromBase64(secrets.secretKey()));
      vertx = Vertx.vertx();
      say.accept(
          "-----> Starting the cache-service (upstream index: " + settings.upstreamIndex() + ")");
      CacheServiceVerticle cache =
          new CacheServiceVerticle(
              cacheServiceConfig(settings, "127.0.0.1", secrets, tenantDirectory, say));
      deployListening(
          vertx, cache, "cache-service", settings.cachePort(), "--cache-port / KILN_CACHE_PORT");
      String cacheUrl = cache.baseUrl();

      farm = new Farm(settings, kafka, vertx, topics, bootstrap, cacheUrl, tenantDirectory);
      say.accept("-----> Starting the coordinator");
      farm.startCoordinator(settings.httpPort());

      farm.workers =
          WorkerNode.start(
              vertx,
              workerNodeSettings(
                  settings,
                  catalog,
                  bootstrap,
                  cacheUrl,
                  secrets.farmToken(),
                  WorkerNode.Settings.numberedIds(settings.workers()),
                  defaultTasksPerWorker(settings.workers())),
              say);
      // Each service answers /metrics for its own work: the coordinator and the cache-service on
      // their ports, the workers (no HTTP API of their own) on a free one, written to farm.json.
      int workerMetricsPort = farm.workers.serveMetrics("127.0.0.1", 0);
      say.accept(
          "       Metrics: GET /metrics on the coordinator, the cache-service and"
              + " http://127.0.0.1:"
              + workerMetricsPort
              + "/metrics (workers), with the farm token");
      farm.endpoints =
          new FarmEndpoints(
              bootstrap,
              "http://127.0.0.1:" + farm.coordinator.actualHttpPort(),
              cacheUrl,
              settings.topicPrefix(),
              "http://127.0.0.1:" + workerMetricsPort + "/metrics");
      farm.endpoints.write(settings.home());
      return farm;
    } catch (UserError e) {
      stopQuietly(farm, vertx, tenantDirectory, kafka);
      throw e;
    } catch (Exception e) {
      stopQuietly(farm, vertx, tenantDirectory, kafka);
      throw new UserError("the farm did not start: " + describe(e), 1);
    }
  }

  private void startCoordinator(int httpPort) {
    // Tokens and the sealing key live in <home>/secrets (created on the first start, then reused).
    FarmSecrets secrets = FarmSecrets.loadOrCreate(settings.home());
    CoordinatorVerticle verticle =
        new CoordinatorVerticle(
            coordinatorConfig(settings, bootstrap, cacheUrl, secrets, "127.0.0.1", httpPort));
    coordinatorDeployment =
        deployListening(vertx, verticle, "coordinator", httpPort, "--http-port / KILN_HTTP_PORT");
    coordinator = verticle;
  }

  /**
   * The coordinator of a farm in {@code settings.home()}: {@code kiln up} and {@code kiln
   * coordinator} run the same.
   */
  static CoordinatorConfig coordinatorConfig(
      FarmSettings settings,
      String bootstrap,
      String cacheUrl,
      FarmSecrets secrets,
      String host,
      int httpPort) {
    return CoordinatorConfig.defaults(bootstrap, Topics.withPrefix(settings.topicPrefix()))
        .withHttp(host, httpPort)
        .withCacheServiceUrl(cacheUrl)
        .withSecurity(Tokens.sha256Hex(secrets.operatorToken()), secrets.secretKey())
        .withSourceRoot(settings.home().resolve("repos"))
        .withAutoCreateTenants(settings.autoCreateTenants())
        .withKafkaClient(settings.kafkaClient())
        .withFarmToken(secrets.farmToken());
  }

  /** Deploys a verticle that listens on {@code port}, turning "address in use" into a fix. */
  static String deployListening(
      Vertx vertx, io.vertx.core.Deployable verticle, String what, int port, String option) {
    try {
      return vertx.deployVerticle(verticle).await();
    } catch (Exception e) { // await() rethrows the failure as it is, checked or not
      Throwable failure = e;
      if (failure instanceof java.net.BindException
          || failure.getCause() instanceof java.net.BindException
          || String.valueOf(failure.getMessage()).contains("Address already in use")) {
        throw new UserError(
            "port "
                + port
                + " for the "
                + what
                + " is already in use (another `kiln up`?); stop that process or pick another"
                + " port with "
                + option
                + " (0 picks a free one)",
            1);
      }
      if (e instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw new IllegalStateException("the " + what + " did not start: " + e.getMessage(), e);
    }
  }

  /** Stops the coordinator, as a crash would; {@link #startCoordinatorAgain()} brings a new one. */
  public void stopCoordinator() {
    vertx.undeploy(coordinatorDeployment).await();
  }

  /**
   * Starts a new coordinator on the same topics and HTTP port (after {@link #stopCoordinator()}).
   */
  public void startCoordinatorAgain() {
    startCoordinator(Integer.parseInt(endpoints.coordinatorUrl().replaceAll(".*:", "")));
  }

  /**
   * Starts the reference Docker deployer in this farm ({@code kiln up --deploy docker}): every app
   * pushed is run on the local Docker daemon and {@code say} gets its stable URL once it answers.
   */
  public void startDockerDeployer(
      dev.kiln.deploy.docker.DockerDeployer.Settings deploySettings, Consumer<String> say) {
    if (dockerDeployer != null) {
      throw new IllegalStateException("the Docker deployer already runs");
    }
    dockerDeployer =
        LocalDockerDeployer.start(
            vertx, bootstrap, settings.kafkaClient(), topics, deploySettings, say);
  }

  public FarmEndpoints endpoints() {
    return endpoints;
  }

  public Vertx vertx() {
    return vertx;
  }

  @Override
  public void close() {
    FarmEndpoints.remove(settings.home());
    stopQuietly(this, vertx, tenantDirectory, embeddedKafka);
    if (dockerDeployer != null) {
      dockerDeployer.close(); // the apps' containers and stable ports
    }
  }

  /**
   * How many tasks each of {@code workersOnThisMachine} workers runs at once by default: two per
   * core between them (a DETECT mostly waits on git, an ASSEMBLE partly on the disk), at least two
   * each, so a worker's INSTALL never holds up the app-only builds behind it.
   */
  public static int defaultTasksPerWorker(int workersOnThisMachine) {
    int cores = Runtime.getRuntime().availableProcessors();
    return Math.max(2, 2 * cores / Math.max(1, workersOnThisMachine));
  }

  /**
   * The worker node of a farm in {@code settings.home()}: {@code kiln up} runs {@code
   * settings.workers()} of them, {@code kiln worker} one, on the same settings.
   */
  static WorkerNode.Settings workerNodeSettings(
      FarmSettings settings,
      RuntimeCatalog catalog,
      String bootstrap,
      String cacheUrl,
      String farmToken,
      java.util.List<String> workerIds,
      int tasksPerWorker) {
    return new WorkerNode.Settings(
        bootstrap,
        Topics.withPrefix(settings.topicPrefix()),
        settings.kafkaClient(),
        cacheUrl,
        farmToken,
        settings.home(),
        settings.home().resolve("repos"),
        catalog,
        settings.registry(),
        settings.ociLayouts(),
        settings.debianMirror(),
        settings.buildStepTimeout(),
        settings.buildStepMemoryMiB(),
        workerIds,
        tasksPerWorker,
        settings.dockerfileBuilder());
  }

  private static void stopQuietly(
      Farm farm, Vertx vertx, TenantsTopicDirectory tenants, EmbeddedKafka kafka) {
    if (farm != null && farm.workers != null) {
      farm.workers.close(); // its verticles, and the threads jib builds images on
    }
    try {
      if (vertx != null) {
        vertx
            .close()
            .toCompletionStage()
            .toCompletableFuture()
            .get(60, java.util.concurrent.TimeUnit.SECONDS);
      }
    } catch (Exception e) {
      // Shutting down anyway; the broker below is closed regardless.
    }
    if (tenants != null) {
      tenants.close();
    }
    if (kafka != null) {
      kafka.close();
    }
  }

  /**
   * The cache-service of a farm in {@code settings.home()}: its store, the farm token's hash, the
   * tenants (their private indexes and store quotas) and the store's bound. {@code kiln up} and
   * {@code kiln cache-service} run the same.
   */
  static CacheServiceConfig cacheServiceConfig(
      FarmSettings settings,
      String host,
      FarmSecrets secrets,
      TenantsTopicDirectory tenants,
      Consumer<String> say) {
    return new CacheServiceConfig(
            settings.home().resolve("store"),
            settings.upstreamIndex(),
            host,
            settings.cachePort(),
            settings.indexPageTtl())
        .withNltkDataUrl(settings.nltkDataUrl())
        .withFarmTokenSha256(Tokens.sha256Hex(secrets.farmToken()))
        .withTenantDirectory(tenants)
        .withMaxStoreBytes(storeBound(settings.home(), say));
  }

  /**
   * How large the store may grow before the cache-service evicts what no action result names: 80%
   * of the space free on the farm's disk at start, at most 100 GiB.
   */
  static long storeBound(Path home, Consumer<String> say) {
    long bound = 100L << 30;
    try {
      java.nio.file.Files.createDirectories(home);
      bound = Math.min(bound, java.nio.file.Files.getFileStore(home).getUsableSpace() / 10 * 8);
    } catch (java.io.IOException e) {
      // Keep the fixed bound: the store still evicts at 100 GiB.
    }
    say.accept(
        "       The store keeps at most " + (bound >> 20) + " MiB; older unnamed blobs go first");
    return Math.max(bound, 1L << 30);
  }

  private static String describe(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String message = e.getMessage() == null ? e.toString() : e.getMessage();
    return root == e ? message : message + " (" + root.getMessage() + ")";
  }
}
