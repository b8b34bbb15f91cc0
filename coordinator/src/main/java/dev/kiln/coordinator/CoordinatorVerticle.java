package dev.kiln.coordinator;

import dev.kiln.events.BuildCancelled;
import dev.kiln.events.BuildFailed;
import dev.kiln.events.BuildLogLine;
import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildTask;
import dev.kiln.events.DeadLetters;
import dev.kiln.events.EventCodec;
import dev.kiln.events.ImageReady;
import dev.kiln.events.InvalidEventException;
import dev.kiln.events.PushEvent;
import dev.kiln.events.Quote;
import dev.kiln.events.TaskHeartbeat;
import dev.kiln.events.TaskResult;
import dev.kiln.events.Tenant;
import dev.kiln.events.Topics;
import dev.kiln.messaging.BuildWatch;
import dev.kiln.messaging.EventPublisher;
import dev.kiln.messaging.KafkaTopicsAdmin;
import dev.kiln.observability.Tracing;
import io.opentelemetry.api.trace.Span;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.kafka.client.consumer.KafkaConsumer;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator service: turns pushes into builds and drives each build through DETECT, INSTALL
 * and ASSEMBLE by exchanging tasks and results with the workers over Kafka.
 *
 * <p>Start-up: create the topics, read the compacted {@code kiln.builds} topic to its end (the
 * coordinator's whole state), re-send the current task of every unfinished build and any outcome
 * that was never acknowledged, then consume {@code kiln.push} and {@code kiln.results}. The HTTP
 * API listens from the start so health checks can tell "restoring" (503) from "down".
 *
 * <p>Per record: decode (malformed → {@code kiln.dlq}), decide with {@link BuildStateMachine}, then
 * write the new snapshot, tasks, outcomes, log lines and the record's consumed offset in one Kafka
 * transaction ({@link TransactionalLoop}, on its own thread). A crash or failure before the commit
 * aborts all of it: the record is read again by a coordinator that restored the last committed
 * snapshot, so no outcome is published twice or lost. All state lives on this verticle's context;
 * the loop's thread only does Kafka I/O and waits for the context's decisions.
 */
public final class CoordinatorVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(CoordinatorVerticle.class);

  /** The CloudEvents {@code source} of everything the coordinator publishes. */
  public static final String EVENT_SOURCE = "/kiln/coordinator";

  private static final Duration RESTORE_TIMEOUT = Duration.ofMinutes(2);

  /**
   * How often waiting builds are looked at even if nothing happened: a start that failed to reach
   * Kafka is tried again.
   */
  private static final long PROMOTE_EVERY_MS = 5_000;

  /** How often {@code kiln_builds_current} is recounted (a scrape reads the last count). */
  private static final long STATE_COUNT_EVERY_MS = 1_000;

  private final CoordinatorConfig config;
  private final Topics topics;
  private final Clock clock;
  private final BuildStateMachine machine;
  private final KnownBuilds builds = new KnownBuilds();
  private final TenantRegistry tenants = new TenantRegistry();
  private final SourcePolicy sources;
  private final AtomicLong logSeq = new AtomicLong();
  private final AtomicLong ignoredResults = new AtomicLong();

  private volatile boolean restored;
  private volatile int actualHttpPort = -1;

  private EventPublisher publisher;
  private Tracing tracing;
  private BuildTraces traces;
  private TransactionalLoop loop;
  private Context context;
  private volatile TransactionalLoop.BeforeCommit beforeCommit;
  private ActionCacheLookup actionCache;
  private KafkaConsumer<String, byte[]> tenantFollower;
  private KafkaConsumer<String, byte[]> buildsFollower;
  private Map<org.apache.kafka.common.TopicPartition, Long> buildsEnd = Map.of();
  private int buildsPartitions = 1;

  /** Partition numbers whose builds this coordinator owns (decides on); context only. */
  private final Set<Integer> owned = new java.util.HashSet<>();

  private volatile Set<Integer> ownedView = Set.of();
  private Map<org.apache.kafka.common.TopicPartition, Long> tenantsEnd = Map.of();
  private HttpServer http;
  private GitRemoteConfig gitRemoteConfig = GitRemoteConfig.DEFAULT;
  private GitRemote gitRemote;
  private BuildLogApi buildLog;
  private long promoteTimer = -1;
  private long leaseTimer = -1;
  private final io.vertx.core.Promise<String> halted = io.vertx.core.Promise.promise();
  private volatile String haltedBecause;
  private long retentionTimer = -1;

  /** Builds whose tombstone is being written right now. */
  private final Set<String> deleting = new java.util.HashSet<>();

  /** At most this many old builds are deleted per look. */
  private static final int DELETES_PER_LOOK = 500;

  /** Builds whose lost task is being issued again right now, so one loss is handled once. */
  private final Set<String> leaseRetries = new java.util.HashSet<>();

  /** At most this many lost tasks are handled per look, so a mass loss does not stall the loop. */
  private static final int LEASES_PER_LOOK = 100;

  /** The INSTALLs this coordinator has out and the builds parked behind them; context only. */
  private final InstallCoalescer installs = new InstallCoalescer();

  private final dev.kiln.observability.ServiceMetrics metrics =
      dev.kiln.observability.ServiceMetrics.forService("coordinator");
  private final CoordinatorMetrics counts = new CoordinatorMetrics(metrics.registry());
  private dev.kiln.observability.ConsumerLagMeter lag;
  private long stateCountTimer = -1;

  public CoordinatorVerticle(CoordinatorConfig config) {
    this(config, Clock.systemUTC());
  }

  CoordinatorVerticle(CoordinatorConfig config, Clock clock) {
    this.config = config;
    this.topics = config.topics();
    this.clock = clock;
    this.sources = new SourcePolicy(config.sourceRoot());
    this.machine =
        new BuildStateMachine(
            clock,
            tenant -> tenants.get(tenant).map(Tenant::indexRefs).orElse(List.of()),
            (tenant, app) -> tenants.get(tenant).map(t -> t.buildpackLevelFor(app)).orElse(null),
            config.taskLease(),
            config.maxTaskAttempts());
  }

  /**
   * How many results were dropped because their task id was not the one issued for the build's
   * current task (duplicates, stale attempts, forgeries).
   */
  public long ignoredResults() {
    return ignoredResults.get();
  }

  /** This coordinator's meters, served at {@code GET /metrics}. */
  public dev.kiln.observability.ServiceMetrics metrics() {
    return metrics;
  }

  /** The HTTP API's port (the one picked when {@code httpPort} was 0), once it listens. */
  public int actualHttpPort() {
    if (actualHttpPort < 0) {
      throw new IllegalStateException(
          "the coordinator's HTTP API is not listening yet; deploy it first");
    }
    return actualHttpPort;
  }

  /**
   * Test hook: runs in every transaction after its records were sent and before it commits; a throw
   * aborts the transaction. Set it before deploying.
   */
  void beforeCommit(TransactionalLoop.BeforeCommit hook) {
    this.beforeCommit = hook;
  }

  /** The git remote's limits ({@link GitRemoteConfig#DEFAULT} unless set); set before deploying. */
  public CoordinatorVerticle withGitRemote(GitRemoteConfig settings) {
    this.gitRemoteConfig = java.util.Objects.requireNonNull(settings, "settings");
    return this;
  }

  /**
   * The transactional id of this coordinator's producer: stable per instance, so a restarted
   * instance fences its previous incarnation. It starts with the consumer group (the prefix the
   * coordinator's {@code TRANSACTIONAL_ID} ACL grants).
   */
  String transactionalId() {
    return config.consumerGroup() + "-" + config.instanceId();
  }

  /** True once the state has been restored from {@code kiln.builds} and records are consumed. */
  public boolean isRestored() {
    return restored;
  }

  /**
   * Completes with the reason when this coordinator stopped deciding on its own (see {@link
   * TransactionalLoop#halted()}): its health check answers 503 DOWN from then on, and a process
   * running only the coordinator should exit so that it is restarted; builds resume where they
   * were.
   */
  public Future<String> halted() {
    return halted.future();
  }

  @Override
  public Future<?> start() {
    context = vertx.getOrCreateContext();
    tracing = Tracing.forService("kiln-coordinator");
    traces = new BuildTraces(tracing);
    publisher =
        new EventPublisher(vertx, config.bootstrapServers(), config.kafkaClient(), EVENT_SOURCE);
    loop =
        new TransactionalLoop(
            config.bootstrapServers(),
            config.kafkaClient(),
            config.consumerGroup(),
            config.instanceId(),
            transactionalId(),
            Set.of(topics.push(), topics.results()),
            new TransactionalLoop.Handler() {
              @Override
              public CompletableFuture<TransactionalLoop.Effects> decide(
                  ConsumerRecord<String, byte[]> record) {
                return decideOnContext(record);
              }

              @Override
              public void assigned(Set<Integer> partitions) {
                adopt(partitions);
              }

              @Override
              public void revoked(Set<Integer> partitions) {
                onContext(() -> drop(partitions));
              }
            });
    if (beforeCommit != null) {
      loop.beforeCommit(beforeCommit);
    }
    loop.halted()
        .thenAccept(
            cause ->
                context.runOnContext(
                    v -> {
                      String reason =
                          cause.getClass().getSimpleName()
                              + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
                      haltedBecause = reason;
                      LOG.error(
                          "coordinator {} stopped consuming {} and {} ({}); it decides nothing"
                              + " more: restart it, and its builds resume where they were",
                          config.instanceId(),
                          topics.push(),
                          topics.results(),
                          reason);
                      halted.tryComplete(reason);
                    }));
    lag =
        new dev.kiln.observability.ConsumerLagMeter(
            config
                .kafkaClient()
                .applyToObjects(java.util.Map.of("bootstrap.servers", config.bootstrapServers())),
            config.consumerGroup(),
            List.of(topics.push(), topics.results()),
            metrics.registry());
    if (config.cacheServiceUrl() != null) {
      actionCache = new ActionCacheLookup(vertx, config.cacheServiceUrl(), config.farmToken());
    }
    return startHttp()
        .compose(
            v ->
                KafkaTopicsAdmin.ensureTopics(
                    vertx, config.bootstrapServers(), config.kafkaClient(), topics))
        // Fences an older incarnation and aborts what it left open before kiln.builds is read.
        .compose(v -> Future.fromCompletionStage(loop.start(), context))
        .compose(v -> restoreTenants())
        .compose(v -> restore())
        .compose(v -> followBuilds())
        .compose(v -> followTenants())
        .compose(
            v -> {
              restored = true;
              stateCountTimer =
                  vertx.setPeriodic(
                      STATE_COUNT_EVERY_MS,
                      id ->
                          counts.countStates(
                              // Only unfinished builds are counted: the index, not every build
                              // retained, is walked each second.
                              builds.unfinished(null).stream().filter(this::mine).toList()));
              promoteTimer = vertx.setPeriodic(PROMOTE_EVERY_MS, id -> promoteAll());
              leaseTimer = vertx.setPeriodic(leaseCheckMillis(), id -> retryLostTasks());
              retentionTimer =
                  vertx.setPeriodic(retentionCheckMillis(), id -> deleteExpiredBuilds());
              deleteExpiredBuilds();
              return promoteAll()
                  .map(
                      ignored -> {
                        loop.consume();
                        return null;
                      });
            })
        .onSuccess(
            v ->
                LOG.info(
                    "coordinator {} up: {} builds and {} tenants known, HTTP on {}:{}, consuming {}"
                        + " and {} as group {}",
                    config.instanceId(),
                    builds.size(),
                    tenants.size(),
                    config.host(),
                    actualHttpPort,
                    topics.push(),
                    topics.results(),
                    config.consumerGroup()))
        .recover(e -> closeClients().transform(ignored -> Future.failedFuture(e)));
  }

  @Override
  public Future<?> stop() {
    if (promoteTimer >= 0) {
      vertx.cancelTimer(promoteTimer);
    }
    if (leaseTimer >= 0) {
      vertx.cancelTimer(leaseTimer);
    }
    if (retentionTimer >= 0) {
      vertx.cancelTimer(retentionTimer);
    }
    if (stateCountTimer >= 0) {
      vertx.cancelTimer(stateCountTimer);
    }
    return closeClients();
  }

  private Future<Void> closeClients() {
    List<Future<?>> closing = new ArrayList<>();
    if (loop != null) {
      closing.add(Future.fromCompletionStage(loop.stop(), context));
    }
    if (http != null) {
      closing.add(http.close());
    }
    if (gitRemote != null) {
      closing.add(gitRemote.close());
    }
    if (buildLog != null) {
      buildLog.close();
    }
    if (tenantFollower != null) {
      closing.add(tenantFollower.close());
    }
    if (buildsFollower != null) {
      closing.add(buildsFollower.close());
    }
    if (publisher != null) {
      closing.add(publisher.close());
    }
    if (actionCache != null) {
      closing.add(actionCache.close());
    }
    if (lag != null) {
      dev.kiln.observability.ConsumerLagMeter meter = lag;
      closing.add(
          vertx.executeBlocking(
              () -> {
                meter.close();
                return null;
              },
              false));
    }
    if (tracing != null) {
      // Exports the spans still queued; a collector that cannot be reached must not stop the
      // stop (the exporter gives up after its timeout).
      closing.add(Future.fromCompletionStage(tracing.shutdown(), context).otherwiseEmpty());
    }
    return Future.join(closing).mapEmpty();
  }

  private Future<Void> startHttp() {
    TenantsApi tenantsApi =
        new TenantsApi(tenants, tenantStore(), config.secretBox(), sources, clock);
    CoordinatorApi api =
        new CoordinatorApi(
            vertx,
            builds,
            () -> restored,
            () -> haltedBecause,
            this::submitPush,
            new CoordinatorApi.Security(
                config.operatorTokenSha256(),
                tenants,
                tenantsApi,
                sources,
                config.autoCreateTenants()));
    if (config.operatorTokenSha256() == null) {
      LOG.warn(
          "no operator token configured (KILN_OPERATOR_TOKEN): only tenant tokens are accepted,"
              + " and nobody can create tenants");
    }
    if (config.autoCreateTenants()) {
      LOG.info("auto-create is on: an operator's push for an unknown tenant creates the tenant");
    }
    io.vertx.ext.web.Router router = api.router();
    router
        .get(dev.kiln.observability.MetricsEndpoint.PATH)
        .handler(
            new MetricsAccess(config.operatorTokenSha256(), config.farmToken())::requireScraper)
        .handler(dev.kiln.observability.MetricsEndpoint.handler(metrics));
    gitRemote =
        new GitRemote(
            vertx,
            builds,
            () -> restored && haltedBecause == null,
            this::submitPush,
            new CoordinatorApi.Security(
                config.operatorTokenSha256(),
                tenants,
                tenantsApi,
                sources,
                config.autoCreateTenants()),
            config.sourceRoot(),
            gitRemoteConfig,
            (buildId, tenant, app) -> watch(buildId, tenant, app, BuildWatch.From.END));
    gitRemote.routes(router);
    buildLog =
        new BuildLogApi(
            vertx,
            builds,
            (buildId, tenant, app) -> watch(buildId, tenant, app, BuildWatch.From.BEGINNING));
    buildLog.routes(router);
    return vertx
        .createHttpServer(new HttpServerOptions().setHost(config.host()).setPort(config.httpPort()))
        .requestHandler(router)
        .listen()
        .map(
            server -> {
              http = server;
              actualHttpPort = server.actualPort();
              return null;
            });
  }

  /** A watch on one build's log and outcome partitions (blocking: call it off the event loop). */
  private BuildWatch watch(String buildId, String tenant, String app, BuildWatch.From from) {
    return BuildWatch.open(
        config.bootstrapServers(), config.kafkaClient(), topics, buildId, tenant, app, from);
  }

  /** Tenant records go to kiln.tenants; the registry changes once Kafka acknowledges them. */
  private TenantStore tenantStore() {
    return new TenantStore() {
      @Override
      public Future<Void> save(Tenant tenant) {
        return publisher
            .publish(topics.tenants(), tenant.name(), tenant)
            .map(
                ack -> {
                  tenants.apply(tenant.name(), tenant);
                  return null;
                });
      }

      @Override
      public Future<Void> delete(String name) {
        return publisher
            .send(new ProducerRecord<>(topics.tenants(), name, null))
            .map(
                ack -> {
                  tenants.apply(name, null);
                  return null;
                });
      }
    };
  }

  private Future<Void> restoreTenants() {
    return vertx
        .executeBlocking(
            () ->
                BuildsTopicReader.readTenants(
                    config.bootstrapServers(),
                    config.kafkaClient(),
                    topics.tenants(),
                    config.instanceId() + "-tenants",
                    RESTORE_TIMEOUT),
            false)
        .map(
            result -> {
              result.tenants().forEach(tenants::apply);
              tenantsEnd = result.endOffsets();
              LOG.info(
                  "restored {} tenants from {} ({} unreadable records skipped)",
                  result.tenants().size(),
                  topics.tenants(),
                  result.skipped());
              return null;
            });
  }

  /**
   * Follows kiln.tenants from where the restore stopped, so tenants created or changed through
   * another coordinator (or by tooling writing the topic) take effect here too.
   */
  private Future<Void> followTenants() {
    Map<String, String> props = new HashMap<>();
    props.put("bootstrap.servers", config.bootstrapServers());
    props.put("client.id", config.instanceId() + "-tenants-follower");
    props.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    props.put("value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
    props.put("enable.auto.commit", "false");
    props.put("auto.offset.reset", "earliest");
    tenantFollower = KafkaConsumer.create(vertx, config.kafkaClient().applyTo(props));
    tenantFollower.exceptionHandler(
        e -> LOG.error("Kafka consumer error on {}: {}", topics.tenants(), e.toString()));
    tenantFollower.handler(
        record -> {
          if (record.value() == null) {
            tenants.apply(record.key(), null);
            return;
          }
          Tenant tenant = BuildsTopicReader.tenantOf(record.key(), record.value(), record.offset());
          if (tenant != null) {
            tenants.applyIfNotOlder(record.key(), tenant);
            promote(tenant.name()); // a raised quota may let waiting builds start
          }
        });
    return followFrom(tenantFollower, tenantsEnd);
  }

  /** Publishes an accepted push (HTTP, git, webhook), starting the build's trace. */
  private Future<Void> submitPush(PushEvent push) {
    ProducerRecord<String, byte[]> record =
        publisher.codec().toRecord(topics.push(), Topics.appKey(push.tenant(), push.app()), push);
    Span span = traces.pushAccepted(push, record.headers());
    return publisher
        .send(record)
        .onComplete(sent -> BuildTraces.end(span, sent.cause()))
        .mapEmpty();
  }

  private Future<Void> restore() {
    return vertx
        .executeBlocking(
            () ->
                BuildsTopicReader.readAll(
                    config.bootstrapServers(),
                    config.kafkaClient(),
                    topics.builds(),
                    config.instanceId() + "-restore",
                    RESTORE_TIMEOUT),
            false)
        .map(
            result -> {
              result.snapshots().values().forEach(builds::put);
              result.traceparents().forEach(traces::restored);
              buildsEnd = result.endOffsets();
              buildsPartitions = Math.max(1, buildsEnd.size());
              LOG.info(
                  "restored {} builds from {} ({} unreadable records skipped)",
                  result.snapshots().size(),
                  topics.builds(),
                  result.skipped());
              return null;
            });
  }

  /** The partition numbers whose builds this coordinator owns now (for tests and logs). */
  Set<Integer> ownedPartitions() {
    return ownedView;
  }

  /**
   * The partition of kiln.builds (and of kiln.push, kiln.results) holding a build's records: its
   * app's, so one coordinator owns all of an app's builds.
   */
  private int partitionOf(BuildSnapshot snapshot) {
    return Topics.appPartition(snapshot.push().tenant(), snapshot.push().app(), buildsPartitions);
  }

  /**
   * Where versions before per-app partitioning wrote a build's snapshots (the build id's
   * partition): such records are moved (unfinished builds) or also tombstoned there (retention).
   */
  private int legacyPartitionOf(String buildId) {
    return org.apache.kafka.common.utils.Utils.toPositive(
            org.apache.kafka.common.utils.Utils.murmur2(
                buildId.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
        % buildsPartitions;
  }

  /** True for a build whose partition this coordinator owns: only the owner decides on it. */
  private boolean mine(BuildSnapshot snapshot) {
    return owned.contains(partitionOf(snapshot));
  }

  /** Runs on the context and waits for it (from the loop's thread, never from the context). */
  private void onContext(Runnable action) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    context.runOnContext(
        v -> {
          try {
            action.run();
            done.complete(null);
          } catch (RuntimeException e) {
            done.completeExceptionally(e);
          }
        });
    done.join();
  }

  /**
   * Takes over partitions (on the loop's thread, inside poll, before any of their records): reads
   * their part of kiln.builds to its last stable offset, so this coordinator decides on what was
   * committed last whoever committed it, replaces the read view's copy of those builds, and resumes
   * each unfinished one.
   */
  private void adopt(Set<Integer> partitions) {
    BuildsTopicReader.Restored restored =
        BuildsTopicReader.readPartitions(
            config.bootstrapServers(),
            config.kafkaClient(),
            topics.builds(),
            partitions,
            config.instanceId() + "-adopt",
            RESTORE_TIMEOUT);
    restored.traceparents().forEach(traces::restored);
    onContext(
        () -> {
          for (BuildSnapshot known : builds.all()) {
            if (partitions.contains(partitionOf(known))
                && !restored.snapshots().containsKey(known.buildId())) {
              builds.restore(known.buildId(), null); // deleted meanwhile
            }
          }
          restored.snapshots().values().forEach(builds::put);
          owned.addAll(partitions);
          ownedView = Set.copyOf(owned);
          LOG.info(
              "coordinator {} owns partitions {} (of {}): {} builds restored",
              config.instanceId(),
              partitions,
              buildsPartitions,
              restored.snapshots().size());
          resume(restored);
          restored.snapshots().values().stream()
              .map(b -> b.push().tenant())
              .distinct()
              .forEach(this::promote);
        });
  }

  /** Gives partitions up: their builds stay in the read view, followed from kiln.builds. */
  private void drop(Set<Integer> partitions) {
    owned.removeAll(partitions);
    ownedView = Set.copyOf(owned);
    // Their new owner resumes them; builds here that waited for one of their installs go on.
    List<String> released =
        installs.releaseIf(id -> builds.get(id).map(b -> !mine(b)).orElse(true));
    released.forEach(
        w ->
            replan(
                w,
                true,
                "The install this build waited for moved to another coordinator; looking the"
                    + " layer up again"));
    LOG.info("coordinator {} no longer owns partitions {}", config.instanceId(), partitions);
  }

  /**
   * Re-sends what the builds of newly owned partitions are waiting for (see {@link
   * BuildStateMachine#resume}); an unfinished build read from another partition than its app's was
   * written by an earlier version and moves first ({@link #moveLegacy}).
   */
  private void resume(BuildsTopicReader.Restored restored) {
    List<BuildSnapshot> inPlace = new ArrayList<>();
    restored
        .snapshots()
        .forEach(
            (buildId, snapshot) -> {
              Integer foundIn = restored.partitions().get(buildId);
              if (foundIn != null && foundIn != partitionOf(snapshot)) {
                if (!snapshot.state().isFinal()) {
                  moveLegacy(snapshot, foundIn);
                }
              } else if (mine(snapshot)) {
                inPlace.add(snapshot);
              }
            });
    resume(inPlace);
  }

  /** Re-sends what restored builds are waiting for; see {@link BuildStateMachine#resume}. */
  private void resume(java.util.Collection<BuildSnapshot> restoredBuilds) {
    for (BuildSnapshot restored : restoredBuilds) {
      // An INSTALL a worker claimed runs on: builds of the same set resumed below wait for it.
      if (restored.state() == dev.kiln.events.BuildState.INSTALLING
          && restored.leaseExpiresAt() != null
          && restored.dependencyKey() != null) {
        installs.adopt(machine.taskFor(restored, null), clock.instant(), this::installing);
      }
    }
    for (BuildSnapshot restored : restoredBuilds) {
      BuildSnapshot snapshot = machine.takenOver(restored);
      if (snapshot != restored) {
        builds.put(snapshot); // in memory: the next heartbeat writes the lease it renews
      }
      Decision decision =
          machine.resume(
              snapshot, builds.previousPython(snapshot.push().tenant(), snapshot.push().app()));
      if (decision.ignoredBecause().isEmpty()) {
        LOG.info("resuming build {} ({})", snapshot.buildId(), snapshot.state());
        carryOut(decision)
            .onFailure(
                e ->
                    LOG.warn(
                        "could not resume build {} ({}); its lease or the next owner will",
                        snapshot.buildId(),
                        e.toString()));
      }
    }
  }

  /**
   * An unfinished build found where versions before per-app partitioning wrote it (partition {@code
   * from}, its build id's, which this coordinator owns): its snapshot moves to its app's partition,
   * and a tombstone clears the old place, in one transaction. If this coordinator owns the app's
   * partition too (always, with one coordinator) it resumes the build there; otherwise the build
   * fails {@code coordinator::repartitioned}, saying to push again, since the app's owner has
   * already restored its partitions and would never look for it.
   */
  private void moveLegacy(BuildSnapshot legacy, int from) {
    boolean resumeHere = owned.contains(partitionOf(legacy));
    Decision decision =
        resumeHere
            ? new Decision(legacy, List.of(new Action.WriteSnapshot(legacy)))
            : machine.abandon(legacy, BuildStateMachine.repartitioned(legacy));
    List<ProducerRecord<String, byte[]>> out = new ArrayList<>(records(decision.actions()));
    out.add(new ProducerRecord<>(topics.builds(), from, legacy.buildId(), null));
    builds.put(decision.next());
    Future.fromCompletionStage(loop.transact(from, out), context)
        .onSuccess(
            moved -> {
              LOG.info(
                  "moved build {} of {}/{} to its app's partition {} ({})",
                  legacy.buildId(),
                  legacy.push().tenant(),
                  legacy.push().app(),
                  partitionOf(legacy),
                  resumeHere ? "resuming it" : "another coordinator owns it: failed, push again");
              if (resumeHere) {
                resume(List.of(decision.next()));
              }
            })
        .onFailure(
            e -> {
              undo(legacy.buildId(), decision.next(), legacy);
              LOG.warn("could not move build {}: {}", legacy.buildId(), e.toString());
            });
  }

  /**
   * The read view: follows all of kiln.builds ({@code read_committed}) from where the restore
   * stopped, so builds owned by other coordinators are listed by the HTTP API and count for tenant
   * quotas and the sticky Python version. Records of partitions this coordinator owns are skipped:
   * for those its own state is newer.
   */
  private Future<Void> followBuilds() {
    Map<String, String> props = new HashMap<>();
    props.put("bootstrap.servers", config.bootstrapServers());
    props.put("client.id", config.instanceId() + "-builds-follower");
    props.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    props.put("value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
    props.put("enable.auto.commit", "false");
    props.put("auto.offset.reset", "earliest");
    props.put("isolation.level", "read_committed");
    buildsFollower = KafkaConsumer.create(vertx, config.kafkaClient().applyTo(props));
    buildsFollower.exceptionHandler(
        e -> LOG.error("Kafka consumer error on {}: {}", topics.builds(), e.toString()));
    buildsFollower.handler(
        record -> {
          if (owned.contains(record.partition()) || record.key() == null) {
            return;
          }
          if (record.value() == null) {
            // A tombstone deletes the build where it lives: one clearing the place an earlier
            // version wrote it to (after a move to its app's partition) leaves it known.
            if (builds
                .get(record.key())
                .map(known -> partitionOf(known) == record.partition())
                .orElse(false)) {
              builds.restore(record.key(), null);
            }
            return;
          }
          RecordHeaders headers = new RecordHeaders();
          record.headers().forEach(h -> headers.add(h.key(), h.value().getBytes()));
          try {
            BuildSnapshot snapshot =
                EventCodec.decode(headers, record.value()).body(BuildSnapshot.class);
            builds.put(snapshot);
            promote(snapshot.push().tenant()); // a slot may have freed elsewhere
          } catch (InvalidEventException | RuntimeException e) {
            LOG.warn(
                "skipping unreadable snapshot {}-{}@{}: {}",
                record.topic(),
                record.partition(),
                record.offset(),
                e.getMessage());
          }
        });
    return followFrom(buildsFollower, buildsEnd);
  }

  /**
   * What one consumed record causes, decided on this verticle's context (the loop's thread waits).
   * The in-memory state moves at once and moves back if the transaction aborts.
   */
  private CompletableFuture<TransactionalLoop.Effects> decideOnContext(
      ConsumerRecord<String, byte[]> record) {
    CompletableFuture<TransactionalLoop.Effects> answer = new CompletableFuture<>();
    context.runOnContext(
        v -> {
          Future<TransactionalLoop.Effects> decided;
          try {
            decided = effectsOf(record);
          } catch (RuntimeException e) {
            decided = Future.failedFuture(e);
          }
          decided.onComplete(
              done -> {
                if (done.succeeded()) {
                  answer.complete(done.result());
                } else {
                  answer.completeExceptionally(done.cause());
                }
              });
        });
    return answer;
  }

  private Future<TransactionalLoop.Effects> effectsOf(ConsumerRecord<String, byte[]> record) {
    EventCodec.Decoded decoded;
    try {
      decoded = EventCodec.decode(record.headers(), record.value());
    } catch (InvalidEventException e) {
      return Future.succeededFuture(deadLettered(record, e));
    } catch (RuntimeException e) {
      return Future.succeededFuture(
          deadLettered(record, new InvalidEventException("record", "could not be read: " + e, e)));
    }
    OptionalInt home = homePartition(record.topic(), decoded);
    if (home.isPresent() && home.getAsInt() != record.partition()) {
      return Future.succeededFuture(forwarded(record, home.getAsInt()));
    }
    if (record.topic().equals(topics.push()) && decoded.body() instanceof PushEvent pushed) {
      traces.pushConsumed(pushed, record.headers());
    }
    Decision planned;
    try {
      planned = decide(record.topic(), decoded);
    } catch (InvalidEventException e) {
      return Future.succeededFuture(deadLettered(record, e));
    } catch (RuntimeException e) {
      LOG.error("could not apply {}-{}@{}", record.topic(), record.partition(), record.offset(), e);
      return Future.succeededFuture(
          deadLettered(
              record,
              new InvalidEventException("record", "the coordinator could not apply it: " + e, e)));
    }
    if (planned.ignoredBecause().isPresent()) {
      logIgnored(planned.ignoredBecause().get());
      return Future.succeededFuture(TransactionalLoop.Effects.none());
    }
    boolean push = record.topic().equals(topics.push());
    return withActionCache(planned)
        .map(
            planned2 -> {
              // A new build of a push supersedes the app's older builds of the same branch, in
              // the same transaction: the push is consumed with all it caused, or none of it.
              List<Decision> decisions = new ArrayList<>(List.of(planned2));
              if (push && !planned2.next().state().isFinal()) {
                decisions.addAll(supersededBy(planned2.next()));
              }
              List<ProducerRecord<String, byte[]>> out = new ArrayList<>();
              List<Runnable> undos = new ArrayList<>();
              for (Decision decision : decisions) {
                BuildSnapshot next = decision.next();
                BuildSnapshot previous = builds.get(next.buildId()).orElse(null);
                builds.put(next);
                reconcile(next.buildId());
                out.addAll(records(decision.actions()));
                undos.add(0, () -> undo(next.buildId(), next, previous));
              }
              String tenant = planned2.next().push().tenant();
              return new TransactionalLoop.Effects(
                  out,
                  () ->
                      context.runOnContext(
                          ignored -> {
                            decisions.forEach(this::countOutcome);
                            promote(tenant);
                          }),
                  () -> context.runOnContext(ignored -> undos.forEach(Runnable::run)),
                  e ->
                      deadLettered(
                          record,
                          new InvalidEventException(
                              "record",
                              "its effects cannot be written to Kafka ("
                                  + e.getMessage()
                                  + "); nothing was changed. Send a smaller push (appSpec,"
                                  + " buildEnv) or raise the topics' max.message.bytes",
                              e)));
            });
  }

  /** What admitting {@code newer} does to the app's older, unfinished builds of its branch. */
  private List<Decision> supersededBy(BuildSnapshot newer) {
    PushEvent push = newer.push();
    List<Decision> decisions = new ArrayList<>();
    for (BuildSnapshot older : builds.unfinished(push.tenant(), push.app(), push.ref())) {
      if (!older.buildId().equals(newer.buildId())
          && !newer.buildId().equals(older.supersededBy())
          && mine(older)) {
        Decision decision =
            installs.isParked(older.buildId())
                ? machine.supersedeWaiting(older, newer.buildId())
                : machine.supersede(older, newer.buildId());
        if (decision.ignoredBecause().isEmpty()) {
          decisions.add(decision);
        }
      }
    }
    return decisions;
  }

  /**
   * The partition a push or result belongs on: its app's. Empty when that cannot be known (a result
   * of a build nobody knows), or for anything else.
   */
  private OptionalInt homePartition(String topic, EventCodec.Decoded decoded) {
    Object body = decoded.body();
    if (topic.equals(topics.push()) && body instanceof PushEvent push) {
      return OptionalInt.of(Topics.appPartition(push.tenant(), push.app(), buildsPartitions));
    }
    String buildId =
        body instanceof TaskResult result
            ? result.buildId()
            : body instanceof TaskHeartbeat heartbeat ? heartbeat.buildId() : null;
    if (topic.equals(topics.results()) && buildId != null) {
      return builds
          .get(buildId)
          .map(s -> OptionalInt.of(partitionOf(s)))
          .orElse(OptionalInt.empty());
    }
    return OptionalInt.empty();
  }

  /**
   * A push or result that arrived on another partition than its app's (a producer that keyed it by
   * build id, or a worker of an earlier version) goes to its app's partition, in the transaction
   * that consumes it: there the app's owner decides on it, in order with the rest.
   */
  private TransactionalLoop.Effects forwarded(ConsumerRecord<String, byte[]> record, int home) {
    LOG.debug(
        "forwarding {}-{}@{} to partition {}, its app's",
        record.topic(),
        record.partition(),
        record.offset(),
        home);
    return new TransactionalLoop.Effects(
        List.of(
            new ProducerRecord<>(
                record.topic(), home, record.key(), record.value(), record.headers())),
        () -> {},
        () -> {},
        null);
  }

  /**
   * Points a group-less follower at {@code from}: the offsets where a start-up read stopped, so it
   * goes on from there without reading again what was restored.
   */
  private static Future<Void> followFrom(
      io.vertx.kafka.client.consumer.KafkaConsumer<String, byte[]> follower,
      Map<org.apache.kafka.common.TopicPartition, Long> from) {
    Set<io.vertx.kafka.client.common.TopicPartition> partitions = new java.util.HashSet<>();
    from.keySet()
        .forEach(
            tp ->
                partitions.add(
                    new io.vertx.kafka.client.common.TopicPartition(tp.topic(), tp.partition())));
    return follower
        .assign(partitions)
        .compose(
            v -> {
              List<Future<Void>> seeks = new ArrayList<>();
              from.forEach(
                  (tp, offset) ->
                      seeks.add(
                          follower.seek(
                              new io.vertx.kafka.client.common.TopicPartition(
                                  tp.topic(), tp.partition()),
                              offset)));
              return Future.all(seeks).mapEmpty();
            });
  }

  /** Moves a build back to what it was, unless something else changed it meanwhile. */
  private void undo(String buildId, BuildSnapshot written, BuildSnapshot previous) {
    if (builds.get(buildId).orElse(null) == written) {
      builds.restore(buildId, previous);
      reconcile(buildId);
    }
  }

  /** The record goes to {@code kiln.dlq}, with why, in the transaction that consumes it. */
  private TransactionalLoop.Effects deadLettered(
      ConsumerRecord<String, byte[]> record, InvalidEventException why) {
    LOG.warn(
        "dead-lettering {}-{}@{}: {}",
        record.topic(),
        record.partition(),
        record.offset(),
        why.getMessage());
    RecordHeaders headers = new RecordHeaders(record.headers().toArray());
    headers.add(DeadLetters.REASON, utf8(why.getMessage()));
    headers.add(DeadLetters.FIELD, utf8(why.field()));
    headers.add(DeadLetters.SOURCE_TOPIC, utf8(record.topic()));
    headers.add(DeadLetters.SOURCE_PARTITION, utf8(Integer.toString(record.partition())));
    headers.add(DeadLetters.SOURCE_OFFSET, utf8(Long.toString(record.offset())));
    headers.add(DeadLetters.CONSUMER, utf8("coordinator/" + config.instanceId()));
    return new TransactionalLoop.Effects(
        List.of(
            new ProducerRecord<>(
                topics.deadLetters(), null, record.key(), record.value(), headers)),
        () -> {},
        () -> {},
        null);
  }

  private static byte[] utf8(String s) {
    return (s == null ? "" : s).getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  private static void logIgnored(String reason) {
    if (reason.startsWith("heartbeat ")) {
      LOG.debug("ignored: {}", reason); // a late heartbeat is routine
    } else {
      LOG.info("ignored: {}", reason);
    }
  }

  private Decision decide(String topic, EventCodec.Decoded decoded) throws InvalidEventException {
    if (topic.equals(topics.push())) {
      return admit(decoded.body(PushEvent.class));
    }
    if (topic.equals(topics.results())
        && decoded.type() == dev.kiln.events.EventType.TASK_HEARTBEAT) {
      TaskHeartbeat heartbeat = decoded.body(TaskHeartbeat.class);
      return machine.onHeartbeat(heartbeat, builds.get(heartbeat.buildId()).orElse(null));
    }
    if (topic.equals(topics.results())) {
      TaskResult result = decoded.body(TaskResult.class);
      BuildSnapshot current = builds.get(result.buildId()).orElse(null);
      if (current != null
          && !current.state().isFinal()
          && !result.taskId().equals(current.currentTaskId())) {
        ignoredResults.incrementAndGet();
        LOG.warn(
            "result {} for build {} is not the task issued ({}); stale, duplicate or forged,"
                + " ignored",
            Quote.safe(result.taskId(), 120),
            result.buildId(),
            current.currentTaskId());
      }
      return machine.onResult(result, current);
    }
    throw new IllegalStateException("the coordinator does not consume " + topic);
  }

  /**
   * A push from Kafka: the tenant must exist and allow the repository, and its quotas decide
   * whether the build starts, waits or fails.
   */
  private Decision admit(PushEvent push) {
    BuildSnapshot current = builds.get(push.buildId()).orElse(null);
    String previousPython = builds.previousPython(push.tenant(), push.app());
    if (current != null) {
      return machine.onPush(push, current, previousPython);
    }
    Optional<Tenant> tenant = tenants.get(push.tenant());
    if (tenant.isEmpty()) {
      return machine.reject(push, null, SourcePolicy.unknownTenant(push.tenant()));
    }
    var refusal = sources.refusal(tenant.get(), push.repoUrl());
    if (refusal.isPresent()) {
      return machine.reject(push, null, refusal.get());
    }
    Tenant.Quotas quotas = tenant.get().quotas();
    return switch (Admission.admit(
        quotas, builds.running(push.tenant()), builds.queued(push.tenant()).size())) {
      case START -> machine.onPush(push, null, previousPython);
      case QUEUE -> machine.queue(push, Admission.queuedReason(push.tenant(), quotas));
      case REFUSE -> machine.reject(push, null, Admission.queueFull(push.tenant(), quotas));
    };
  }

  /** Starts a tenant's waiting builds, oldest first, while its quota has free slots. */
  private Future<Void> promote(String tenantName) {
    // Only builds this coordinator owns; the running count spans every owner (the read view).
    List<BuildSnapshot> waiting = builds.queued(tenantName).stream().filter(this::mine).toList();
    if (waiting.isEmpty()) {
      return Future.succeededFuture();
    }
    BuildSnapshot next = waiting.get(0);
    Optional<Tenant> tenant = tenants.get(tenantName);
    Decision decision;
    if (tenant.isEmpty()) {
      decision = machine.failQueued(next, SourcePolicy.unknownTenant(tenantName));
    } else if (builds.running(tenantName) >= tenant.get().quotas().concurrentBuilds()) {
      return Future.succeededFuture();
    } else {
      var refusal = sources.refusal(tenant.get(), next.push().repoUrl());
      decision =
          refusal.isPresent()
              ? machine.failQueued(next, refusal.get())
              : machine.startQueued(next, builds.previousPython(tenantName, next.push().app()));
    }
    // carryOut promotes again, so the loop ends when the quota is full or nothing waits.
    return carryOut(decision)
        .onFailure(
            e ->
                LOG.warn(
                    "could not start waiting build {} ({}); trying again shortly",
                    next.buildId(),
                    e.toString()));
  }

  private Future<Void> promoteAll() {
    List<Future<Void>> started = new ArrayList<>();
    for (String tenant : builds.tenantsWithQueuedBuilds()) {
      started.add(promote(tenant).recover(e -> Future.succeededFuture()));
    }
    return Future.all(started).mapEmpty();
  }

  /** How often old builds are looked for: a tenth of the retention, between 1 s and 1 h. */
  private long retentionCheckMillis() {
    return Math.max(1_000, Math.min(3_600_000, config.buildRetention().toMillis() / 10));
  }

  /**
   * Deletes finished builds older than the retention: a tombstone on {@code kiln.builds} (so no
   * coordinator restores them again and compaction drops their snapshots), then the in-memory copy.
   * A tombstone that cannot be written is tried again at the next look.
   */
  private void deleteExpiredBuilds() {
    java.time.Instant cutoff = clock.instant().minus(config.buildRetention());
    for (BuildSnapshot old : builds.finishedBefore(cutoff, DELETES_PER_LOOK, this::mine)) {
      String buildId = old.buildId();
      if (!deleting.add(buildId)) {
        continue;
      }
      List<ProducerRecord<String, byte[]>> tombstones = new ArrayList<>();
      tombstones.add(new ProducerRecord<>(topics.builds(), partitionOf(old), buildId, null));
      if (legacyPartitionOf(buildId) != partitionOf(old)) {
        tombstones.add(
            new ProducerRecord<>(topics.builds(), legacyPartitionOf(buildId), buildId, null));
      }
      Future.fromCompletionStage(loop.transact(partitionOf(old), tombstones), context)
          .onComplete(
              sent -> {
                deleting.remove(buildId);
                if (sent.failed()) {
                  LOG.warn(
                      "could not delete build {} from {} ({}); trying again later",
                      buildId,
                      topics.builds(),
                      sent.cause().toString());
                  return;
                }
                // Only if nothing changed it meanwhile (a finished build does not change).
                if (builds.get(buildId).orElse(null) == old) {
                  builds.restore(buildId, null);
                  traces.forget(buildId);
                  LOG.info(
                      "deleted build {} of {}/{}: finished {} ago, longer than the retention of {}",
                      buildId,
                      old.push().tenant(),
                      old.push().app(),
                      Duration.between(old.updatedAt(), clock.instant()).withNanos(0),
                      config.buildRetention());
                }
              });
    }
  }

  /** How often leases are looked at: a fifth of a lease, between 0.1 and 5 s. */
  private long leaseCheckMillis() {
    return Math.max(100, Math.min(5_000, config.taskLease().toMillis() / 5));
  }

  /**
   * Issues again every task whose lease ran out (or fails its build {@code worker::lost} after the
   * last attempt). The action cache is not asked: a result of the lost attempt arriving meanwhile
   * must find the build as it was decided on.
   */
  private void retryLostTasks() {
    Duration maxWait = config.taskLease().multipliedBy(config.maxTaskAttempts());
    for (String waiter : installs.overdue(clock.instant(), maxWait)) {
      replan(
          waiter,
          false,
          "Waited "
              + maxWait.toSeconds()
              + " s for another build's install of the same dependency set; installing it for"
              + " this build");
    }
    for (BuildSnapshot lost : builds.leasesEndedBy(clock.instant(), LEASES_PER_LOOK, this::mine)) {
      String buildId = lost.buildId();
      if (!leaseRetries.add(buildId)) {
        continue;
      }
      Decision decision =
          machine.onLeaseExpired(
              lost, builds.previousPython(lost.push().tenant(), lost.push().app()));
      apply(decision)
          .onComplete(
              done -> {
                leaseRetries.remove(buildId);
                if (done.failed()) {
                  LOG.warn(
                      "could not issue the lost task of build {} again ({}); trying again shortly",
                      buildId,
                      done.cause().toString());
                }
              });
    }
  }

  /**
   * Makes a decision durable: the in-memory state moves at once (so a duplicate arriving meanwhile
   * is recognised) and moves back if an action fails, in which case the record is retried.
   */
  private Future<Void> carryOut(Decision planned) {
    if (planned.ignoredBecause().isPresent()) {
      return apply(planned);
    }
    return withActionCache(planned).compose(this::apply);
  }

  /** Carries out a decision as it is: the snapshot moves now and back if an action fails. */
  private Future<Void> apply(Decision decision) {
    Optional<String> ignored = decision.ignoredBecause();
    if (ignored.isPresent()) {
      logIgnored(ignored.get());
      return Future.succeededFuture();
    }
    BuildSnapshot next = decision.next();
    String buildId = next.buildId();
    BuildSnapshot previous = builds.get(buildId).orElse(null);
    builds.put(next);
    reconcile(buildId);
    return Future.fromCompletionStage(
            loop.transact(partitionOf(next), records(decision.actions())), context)
        .recover(
            e -> {
              undo(buildId, next, previous);
              if (decision.installTask().isPresent()) {
                // The INSTALL was not sent: builds waiting for it must not wait for nothing.
                releaseWaiters(buildId, installs.forget(buildId));
              }
              return Future.failedFuture(e);
            })
        .compose(
            done -> {
              countOutcome(decision);
              // A slot may have freed, or a build may wait behind a free slot.
              promote(decision.next().push().tenant());
              return Future.succeededFuture();
            });
  }

  /** Counts a build's outcome once the transaction publishing it has committed. */
  private void countOutcome(Decision decision) {
    for (Action action : decision.actions()) {
      if (action instanceof Action.PublishImageReady) {
        counts.finished(decision.next(), "succeeded", "none");
      } else if (action instanceof Action.PublishBuildFailed failed) {
        counts.finished(decision.next(), "failed", failed.event().code());
      } else if (action instanceof Action.PublishBuildCancelled) {
        counts.finished(decision.next(), "cancelled", "none");
      }
    }
  }

  /** Skips INSTALL when the cache-service already has the dependency layer. */
  private Future<Decision> withActionCache(Decision planned) {
    return withActionCache(planned, true, null);
  }

  /**
   * Skips INSTALL when the cache-service already has the dependency layer; on a miss, when {@code
   * mayWait}, parks the build behind the tenant's install of the same set that is in flight (see
   * {@link InstallCoalescer}) instead of sending a second one.
   *
   * @param basedOn when not null, the snapshot {@code planned} was decided on: if the build changed
   *     while the cache was asked, the answer is an ignore (and nothing was claimed)
   */
  private Future<Decision> withActionCache(
      Decision planned, boolean mayWait, BuildSnapshot basedOn) {
    Optional<BuildTask> install = planned.installTask();
    if (actionCache == null || install.isEmpty()) {
      return Future.succeededFuture(planned);
    }
    return actionCache
        .find(install.get().tenant(), install.get().dependencyKey())
        .map(
            layer -> {
              counts.actionCacheLookup(layer.isPresent());
              if (basedOn != null && builds.get(basedOn.buildId()).orElse(null) != basedOn) {
                return Decision.ignore(
                    "build " + basedOn.buildId() + " changed while the action cache was asked");
              }
              if (layer.isPresent()) {
                return machine.reuseLayer(planned, layer.get());
              }
              if (!mayWait || !mine(planned.next())) {
                return planned;
              }
              return installs
                  .claim(install.get(), clock.instant(), this::installing)
                  .map(installing -> machine.park(planned, installing))
                  .orElse(planned);
            });
  }

  /** Whether a build of this coordinator still waits for its INSTALL task {@code taskId}. */
  private boolean installing(String buildId, String taskId) {
    return builds
        .get(buildId)
        .filter(
            b ->
                b.state() == dev.kiln.events.BuildState.INSTALLING
                    && taskId.equals(b.currentTaskId())
                    && mine(b))
        .isPresent();
  }

  /**
   * A build's snapshot changed in memory: if it was an install in flight and no longer waits for it
   * (result, failure, cancel, lease re-issue, undo), the builds parked behind it go on.
   */
  private void reconcile(String buildId) {
    BuildSnapshot now = builds.get(buildId).orElse(null);
    List<String> waiters = installs.changed(buildId, now);
    // After an install that worked, a miss means the action cache does not help (down, or the
    // layer not filed): waiting for one another would only make the installs one after another.
    boolean installed = now != null && now.layer() != null && !now.state().isFinal();
    releaseWaiters(buildId, waiters, !installed);
  }

  private void releaseWaiters(String installer, List<String> waiters) {
    releaseWaiters(installer, waiters, true);
  }

  private void releaseWaiters(String installer, List<String> waiters, boolean mayWait) {
    if (waiters.isEmpty()) {
      return;
    }
    LOG.info(
        "the install of build {} is over; {} builds waiting for it look the layer up again",
        installer,
        waiters.size());
    // Later on the context: the caller is in the middle of carrying out a decision.
    context.runOnContext(
        v ->
            waiters.forEach(
                w ->
                    replan(
                        w,
                        mayWait,
                        "The install this build waited for (build "
                            + installer
                            + ") is over; looking the layer up again")));
  }

  /**
   * Carries a parked build on: the action cache is asked again (a hit reuses the layer the install
   * it waited for filed), and on a miss it installs, or waits again if another build of the same
   * set has just sent its INSTALL ({@code mayWait}). A failure is tried again shortly, so that the
   * build, which has no task out, is not left waiting for nothing.
   */
  private void replan(String buildId, boolean mayWait, String why) {
    BuildSnapshot waiting = builds.get(buildId).orElse(null);
    if (waiting == null || !mine(waiting)) {
      return; // gone, or its new owner resumes it
    }
    Decision decision = machine.unpark(waiting, why);
    if (decision.ignoredBecause().isPresent()) {
      logIgnored(decision.ignoredBecause().get());
      return;
    }
    withActionCache(decision, mayWait, waiting)
        .compose(
            decided -> {
              if (decided.ignoredBecause().isPresent()) {
                // Changed while the action cache was asked (a push superseded it, say): decide
                // again on what it is now.
                context.runOnContext(v -> replan(buildId, mayWait, why));
                return Future.succeededFuture();
              }
              return apply(decided);
            })
        .onFailure(
            e -> {
              if (e instanceof TransactionalLoop.NotOwnedException) {
                return;
              }
              LOG.warn(
                  "could not carry on build {} after its wait for an install ({}); trying again"
                      + " shortly",
                  buildId,
                  e.toString());
              vertx.setTimer(PROMOTE_EVERY_MS, id -> replan(buildId, mayWait, why));
            });
  }

  /** The records that carry out these actions, in order, for one transaction. */
  private List<ProducerRecord<String, byte[]>> records(List<Action> actions) {
    List<ProducerRecord<String, byte[]>> out = new ArrayList<>();
    for (Action action : actions) {
      ProducerRecord<String, byte[]> record = record(action);
      if (record != null) {
        out.add(record);
      }
    }
    return out;
  }

  /** The record that carries out an action, with the build's trace context in its headers. */
  private ProducerRecord<String, byte[]> record(Action action) {
    ProducerRecord<String, byte[]> record = untraced(action);
    if (record == null) {
      return null;
    }
    if (action instanceof Action.PublishTask publish) {
      traces.taskDispatched(publish.task(), record.headers());
    } else if (action instanceof Action.PublishImageReady publish) {
      traces.outcome(publish.event().buildId(), "image-ready", record.headers());
    } else if (action instanceof Action.PublishBuildFailed publish) {
      traces.outcome(publish.event().buildId(), "build-failed", record.headers());
    } else if (action instanceof Action.PublishBuildCancelled publish) {
      traces.outcome(publish.event().buildId(), "build-cancelled", record.headers());
    } else if (action instanceof Action.WriteSnapshot write) {
      traces.carry(write.snapshot().buildId(), record.headers());
    } else if (action instanceof Action.Log log) {
      traces.carry(log.buildId(), record.headers());
    }
    return record;
  }

  private ProducerRecord<String, byte[]> untraced(Action action) {
    EventCodec codec = publisher.codec();
    if (action instanceof Action.WriteSnapshot write) {
      BuildSnapshot s = write.snapshot();
      ProducerRecord<String, byte[]> keyed = codec.toRecord(topics.builds(), s.buildId(), s);
      return new ProducerRecord<>(
          keyed.topic(), partitionOf(s), keyed.key(), keyed.value(), keyed.headers());
    }
    if (action instanceof Action.PublishTask publish) {
      BuildTask task = publish.task();
      // The task id is the CloudEvent id: a re-sent task is recognisably the same task.
      return codec.toRecord(
          topics.tasks(),
          task.partitionKey(),
          codec.toCloudEvent(task, task.buildId(), task.taskId()));
    }
    if (action instanceof Action.PublishImageReady publish) {
      ImageReady event = publish.event();
      return codec.toRecord(
          topics.imageReady(),
          event.tenant() + "/" + event.app(),
          codec.toCloudEvent(event, event.buildId(), event.buildId() + ":image-ready"));
    }
    if (action instanceof Action.PublishBuildFailed publish) {
      BuildFailed event = publish.event();
      return codec.toRecord(
          topics.buildFailed(),
          event.tenant() + "/" + event.app(),
          codec.toCloudEvent(event, event.buildId(), event.buildId() + ":build-failed"));
    }
    if (action instanceof Action.PublishBuildCancelled publish) {
      BuildCancelled event = publish.event();
      return codec.toRecord(
          topics.buildCancelled(),
          event.tenant() + "/" + event.app(),
          codec.toCloudEvent(event, event.buildId(), event.buildId() + ":build-cancelled"));
    }
    if (action instanceof Action.Log log) {
      BuildLogLine line =
          new BuildLogLine(
              log.buildId(),
              log.taskId(),
              log.stage(),
              logSeq.incrementAndGet(),
              log.level(),
              log.text(),
              clock.instant());
      return codec.toRecord(topics.logs(), log.buildId(), line);
    }
    return null;
  }
}
