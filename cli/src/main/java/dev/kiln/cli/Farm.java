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
import dev.kiln.worker.TaskSteps;
import dev.kiln.worker.WorkerConfig;
import dev.kiln.worker.WorkerVerticle;
import dev.kiln.worker.assemble.AssembleStep;
import dev.kiln.worker.assemble.ImageTarget;
import dev.kiln.worker.buildsteps.BuildStepRunner;
import dev.kiln.worker.runtime.LocalRuntimeImage;
import dev.kiln.worker.runtime.RuntimeStore;
import dev.kiln.worker.sandbox.IndexAccess;
import dev.kiln.worker.sandbox.Sandbox;
import dev.kiln.worker.sandbox.SandboxException;
import dev.kiln.worker.sandbox.SandboxLimits;
import io.vertx.core.Vertx;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.function.Consumer;

/**
 * The whole farm in one process: Kafka (embedded KRaft broker unless an external one is given),
 * cache-service, coordinator and workers, each deployed as the verticle it would be in a cluster.
 */
public final class Farm implements AutoCloseable {
  private final FarmSettings settings;
  private final EmbeddedKafka embeddedKafka;
  private final Vertx vertx;
  private final ExecutorService jibExecutor;
  private final Topics topics;
  private final String bootstrap;
  private final String cacheUrl;
  private final TenantsTopicDirectory tenantDirectory;
  private FarmEndpoints endpoints;
  private CoordinatorVerticle coordinator;
  private String coordinatorDeployment;

  private Farm(
      FarmSettings settings,
      EmbeddedKafka embeddedKafka,
      Vertx vertx,
      ExecutorService jibExecutor,
      Topics topics,
      String bootstrap,
      String cacheUrl,
      TenantsTopicDirectory tenantDirectory) {
    this.settings = settings;
    this.embeddedKafka = embeddedKafka;
    this.vertx = vertx;
    this.jibExecutor = jibExecutor;
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
    ExecutorService jib = null;
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
      jib = AssembleStep.newJibExecutor();
      say.accept(
          "-----> Starting the cache-service (upstream index: " + settings.upstreamIndex() + ")");
      CacheServiceVerticle cache =
          new CacheServiceVerticle(
              cacheServiceConfig(settings, "127.0.0.1", secrets, tenantDirectory, say));
      deployListening(
          vertx, cache, "cache-service", settings.cachePort(), "--cache-port / KILN_CACHE_PORT");
      String cacheUrl = cache.baseUrl();

      Farm farm =
          new Farm(settings, kafka, vertx, jib, topics, bootstrap, cacheUrl, tenantDirectory);
      say.accept("-----> Starting the coordinator");
      farm.startCoordinator(settings.httpPort());

      ImageTarget target =
          settings.registry() != null
              ? ImageTarget.registry(settings.registry())
              : ImageTarget.tarballs(settings.home().resolve("images"));
      say.accept("-----> Starting " + settings.workers() + " worker(s); images go to " + target);
      Sandbox sandbox = new Sandbox(Sandbox.Settings.defaults());
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
              catalog,
              sandbox,
              jib);
      BuildStepRunner buildSteps =
          new BuildStepRunner(
              sandbox,
              new IndexAccess(URI.create(cacheUrl), secrets.farmToken(), null),
              SandboxLimits.defaults()
                  .withTime(settings.buildStepTimeout())
                  .withMemoryBytes(settings.buildStepMemoryMiB() << 20));
      for (int i = 1; i <= settings.workers(); i++) {
        Path workDir = settings.home().resolve("workers").resolve("worker-" + i);
        WorkerConfig config =
            WorkerConfig.of("worker-" + i, bootstrap, topics, workDir, cacheUrl, 1)
                .withKafkaClient(settings.kafkaClient())
                .withFarmToken(secrets.farmToken())
                .withSourceRoot(settings.home().resolve("repos"));
        ExecutorService jibThreads = jib;
        vertx
            .deployVerticle(
                new WorkerVerticle(
                    config,
                    resources ->
                        TaskSteps.complete(resources, runtimes, buildSteps, target, jibThreads)))
            .await();
      }
      farm.endpoints =
          new FarmEndpoints(
              bootstrap,
              "http://127.0.0.1:" + farm.coordinator.actualHttpPort(),
              cacheUrl,
              settings.topicPrefix());
      farm.endpoints.write(settings.home());
      return farm;
    } catch (UserError e) {
      stopQuietly(vertx, jib, tenantDirectory, kafka);
      throw e;
    } catch (Exception e) {
      stopQuietly(vertx, jib, tenantDirectory, kafka);
      throw new UserError("the farm did not start: " + describe(e), 1);
    }
  }

  private void startCoordinator(int httpPort) {
    // Tokens and the sealing key live in <home>/secrets (created on the first start, then reused).
    FarmSecrets secrets = FarmSecrets.loadOrCreate(settings.home());
    CoordinatorConfig config =
        CoordinatorConfig.defaults(bootstrap, topics)
            .withHttp("127.0.0.1", httpPort)
            .withCacheServiceUrl(cacheUrl)
            .withSecurity(Tokens.sha256Hex(secrets.operatorToken()), secrets.secretKey())
            .withSourceRoot(settings.home().resolve("repos"))
            .withAutoCreateTenants(settings.autoCreateTenants())
            .withKafkaClient(settings.kafkaClient())
            .withFarmToken(secrets.farmToken());
    CoordinatorVerticle verticle = new CoordinatorVerticle(config);
    coordinatorDeployment =
        deployListening(vertx, verticle, "coordinator", httpPort, "--http-port / KILN_HTTP_PORT");
    coordinator = verticle;
  }

  /** Deploys a verticle that listens on {@code port}, turning "address in use" into a fix. */
  private static String deployListening(
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

  public FarmEndpoints endpoints() {
    return endpoints;
  }

  public Vertx vertx() {
    return vertx;
  }

  @Override
  public void close() {
    FarmEndpoints.remove(settings.home());
    stopQuietly(vertx, jibExecutor, tenantDirectory, embeddedKafka);
  }

  private static void stopQuietly(
      Vertx vertx, ExecutorService jib, TenantsTopicDirectory tenants, EmbeddedKafka kafka) {
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
    if (jib != null) {
      jib.shutdownNow();
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
