package dev.kiln.coordinator;

import dev.kiln.events.BuildFailed;
import dev.kiln.events.BuildLogLine;
import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildTask;
import dev.kiln.events.EventCodec;
import dev.kiln.events.ImageReady;
import dev.kiln.events.InvalidEventException;
import dev.kiln.events.PushEvent;
import dev.kiln.events.TaskResult;
import dev.kiln.events.Topics;
import dev.kiln.messaging.DeadLetterRouter;
import dev.kiln.messaging.EventPublisher;
import dev.kiln.messaging.KafkaTopicsAdmin;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.kafka.client.consumer.KafkaConsumer;
import io.vertx.kafka.client.consumer.KafkaConsumerRecord;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
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
 * <p>Per record: decode (malformed → {@code kiln.dlq}), decide with {@link BuildStateMachine},
 * write the new snapshot, then tasks and outcomes, each acknowledged before the next, and only then
 * commit the record's offset. A crash at any point therefore redelivers the record to a coordinator
 * that restored the latest snapshot, and the state machine drops what was already done.
 */
public final class CoordinatorVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(CoordinatorVerticle.class);

  /** The CloudEvents {@code source} of everything the coordinator publishes. */
  public static final String EVENT_SOURCE = "/kiln/coordinator";

  private static final Duration RESTORE_TIMEOUT = Duration.ofMinutes(2);
  private static final int PAUSE_PARTITION_AT = 100;

  private final CoordinatorConfig config;
  private final Topics topics;
  private final Clock clock;
  private final BuildStateMachine machine;
  private final KnownBuilds builds = new KnownBuilds();
  private final AtomicLong logSeq = new AtomicLong();

  private volatile boolean restored;
  private volatile int actualHttpPort = -1;

  private EventPublisher publisher;
  private DeadLetterRouter deadLetters;
  private ActionCacheLookup actionCache;
  private KafkaConsumer<String, byte[]> consumer;
  private PartitionLanes lanes;
  private HttpServer http;

  public CoordinatorVerticle(CoordinatorConfig config) {
    this(config, Clock.systemUTC());
  }

  CoordinatorVerticle(CoordinatorConfig config, Clock clock) {
    this.config = config;
    this.topics = config.topics();
    this.clock = clock;
    this.machine = new BuildStateMachine(clock);
  }

  /** The HTTP API's port (the one picked when {@code httpPort} was 0), once it listens. */
  public int actualHttpPort() {
    if (actualHttpPort < 0) {
      throw new IllegalStateException(
          "the coordinator's HTTP API is not listening yet; deploy it first");
    }
    return actualHttpPort;
  }

  /** True once the state has been restored from {@code kiln.builds} and records are consumed. */
  public boolean isRestored() {
    return restored;
  }

  @Override
  public Future<?> start() {
    publisher =
        new EventPublisher(vertx, config.bootstrapServers(), config.kafkaClient(), EVENT_SOURCE);
    deadLetters =
        new DeadLetterRouter(publisher, topics.deadLetters(), "coordinator/" + config.instanceId());
    if (config.cacheServiceUrl() != null) {
      actionCache = new ActionCacheLookup(vertx, config.cacheServiceUrl());
    }
    return startHttp()
        .compose(
            v ->
                KafkaTopicsAdmin.ensureTopics(
                    vertx, config.bootstrapServers(), config.kafkaClient(), topics))
        .compose(v -> restore())
        .compose(v -> resumeAll())
        .compose(
            v -> {
              restored = true;
              return subscribe();
            })
        .onSuccess(
            v ->
                LOG.info(
                    "coordinator {} up: {} builds known, HTTP on {}:{}, consuming {} and {} as group {}",
                    config.instanceId(),
                    builds.size(),
                    config.host(),
                    actualHttpPort,
                    topics.push(),
                    topics.results(),
                    config.consumerGroup()))
        .recover(e -> closeClients().transform(ignored -> Future.failedFuture(e)));
  }

  @Override
  public Future<?> stop() {
    Future<Void> drained = lanes == null ? Future.succeededFuture() : lanes.drain();
    return drained
        .compose(v -> consumer == null ? Future.<Void>succeededFuture() : consumer.close())
        .eventually(this::closeClients);
  }

  private Future<Void> closeClients() {
    List<Future<?>> closing = new ArrayList<>();
    if (http != null) {
      closing.add(http.close());
    }
    if (publisher != null) {
      closing.add(publisher.close());
    }
    if (actionCache != null) {
      closing.add(actionCache.close());
    }
    return Future.join(closing).mapEmpty();
  }

  private Future<Void> startHttp() {
    CoordinatorApi api = new CoordinatorApi(vertx, builds, () -> restored, this::submitPush);
    return vertx
        .createHttpServer(new HttpServerOptions().setHost(config.host()).setPort(config.httpPort()))
        .requestHandler(api.router())
        .listen()
        .map(
            server -> {
              http = server;
              actualHttpPort = server.actualPort();
              return null;
            });
  }

  private Future<Void> submitPush(PushEvent push) {
    return publisher.publish(topics.push(), push.buildId(), push).mapEmpty();
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
              LOG.info(
                  "restored {} builds from {} ({} unreadable records skipped)",
                  result.snapshots().size(),
                  topics.builds(),
                  result.skipped());
              return null;
            });
  }

  /** Re-sends what every restored build is waiting for; see {@link BuildStateMachine#resume}. */
  private Future<Void> resumeAll() {
    List<Future<Void>> resumed = new ArrayList<>();
    for (BuildSnapshot snapshot : builds.all()) {
      Decision decision =
          machine.resume(
              snapshot, builds.previousPython(snapshot.push().tenant(), snapshot.push().app()));
      if (decision.ignoredBecause().isEmpty()) {
        LOG.info("resuming build {} ({})", snapshot.buildId(), snapshot.state());
        resumed.add(carryOut(decision));
      }
    }
    return Future.all(resumed).mapEmpty();
  }

  private Future<Void> subscribe() {
    Map<String, String> props = new HashMap<>();
    props.put("bootstrap.servers", config.bootstrapServers());
    props.put("group.id", config.consumerGroup());
    props.put("client.id", config.instanceId());
    props.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    props.put("value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
    // Offsets are committed per record, after its effects are acknowledged (at-least-once).
    props.put("enable.auto.commit", "false");
    // A new group must see pushes sent before it first started, not only later ones.
    props.put("auto.offset.reset", "earliest");
    props.put("max.poll.records", "100");
    consumer = KafkaConsumer.create(vertx, config.kafkaClient().applyTo(props));
    lanes = new PartitionLanes(vertx, consumer, this::process, PAUSE_PARTITION_AT);
    consumer.partitionsAssignedHandler(
        p -> LOG.info("coordinator {} now owns {} partitions", config.instanceId(), p.size()));
    consumer.partitionsRevokedHandler(
        p -> {
          LOG.info("coordinator {} gives up {} partitions", config.instanceId(), p.size());
          lanes.revoked(p);
        });
    consumer.exceptionHandler(e -> LOG.error("Kafka consumer error: {}", e.toString()));
    consumer.handler(lanes::accept);
    return consumer.subscribe(Set.of(topics.push(), topics.results()));
  }

  private Future<Void> process(KafkaConsumerRecord<String, byte[]> record) {
    return deadLetters
        .decode(record)
        .compose(
            decoded -> {
              if (decoded.isEmpty()) {
                return Future.succeededFuture();
              }
              Decision decision;
              try {
                decision = decide(record.topic(), decoded.get());
              } catch (InvalidEventException e) {
                return deadLetters.reject(record, e);
              } catch (RuntimeException e) {
                LOG.error(
                    "could not apply {}-{}@{}",
                    record.topic(),
                    record.partition(),
                    record.offset(),
                    e);
                return deadLetters.reject(
                    record,
                    new InvalidEventException(
                        "record", "the coordinator could not apply it: " + e, e));
              }
              return carryOut(decision)
                  .recover(
                      e -> {
                        if (!cannotEverBeWritten(e)) {
                          return Future.failedFuture(e); // retried: the broker may come back
                        }
                        return deadLetters.reject(
                            record,
                            new InvalidEventException(
                                "record",
                                "its effects cannot be written to Kafka ("
                                    + e.getMessage()
                                    + "); nothing was"
                                    + " changed. Send a smaller push (appSpec, buildEnv) or raise the topics'"
                                    + " max.message.bytes",
                                e));
                      });
            });
  }

  /** Failures a retry cannot cure; retrying them would block the partition forever. */
  private static boolean cannotEverBeWritten(Throwable e) {
    return e instanceof RecordTooLargeException || e instanceof RecordBatchTooLargeException;
  }

  private Decision decide(String topic, EventCodec.Decoded decoded) throws InvalidEventException {
    if (topic.equals(topics.push())) {
      PushEvent push = decoded.body(PushEvent.class);
      return machine.onPush(
          push,
          builds.get(push.buildId()).orElse(null),
          builds.previousPython(push.tenant(), push.app()));
    }
    if (topic.equals(topics.results())) {
      TaskResult result = decoded.body(TaskResult.class);
      return machine.onResult(result, builds.get(result.buildId()).orElse(null));
    }
    throw new IllegalStateException("the coordinator does not consume " + topic);
  }

  /**
   * Makes a decision durable: the in-memory state moves at once (so a duplicate arriving meanwhile
   * is recognised) and moves back if an action fails, in which case the record is retried.
   */
  private Future<Void> carryOut(Decision planned) {
    Optional<String> ignored = planned.ignoredBecause();
    if (ignored.isPresent()) {
      LOG.info("ignored: {}", ignored.get());
      return Future.succeededFuture();
    }
    return withActionCache(planned)
        .compose(
            decision -> {
              String buildId = decision.next().buildId();
              BuildSnapshot previous = builds.get(buildId).orElse(null);
              builds.put(decision.next());
              return perform(decision.actions())
                  .recover(
                      e -> {
                        builds.restore(buildId, previous);
                        return Future.failedFuture(e);
                      });
            });
  }

  /** Skips INSTALL when the cache-service already has the dependency layer. */
  private Future<Decision> withActionCache(Decision planned) {
    Optional<BuildTask> install = planned.installTask();
    if (actionCache == null || install.isEmpty()) {
      return Future.succeededFuture(planned);
    }
    return actionCache
        .find(install.get().dependencyKey())
        .map(layer -> layer.map(l -> machine.reuseLayer(planned, l)).orElse(planned));
  }

  private Future<Void> perform(List<Action> actions) {
    Future<Void> chain = Future.succeededFuture();
    for (Action action : actions) {
      chain = chain.compose(v -> perform(action));
    }
    return chain;
  }

  private Future<Void> perform(Action action) {
    EventCodec codec = publisher.codec();
    if (action instanceof Action.WriteSnapshot write) {
      BuildSnapshot s = write.snapshot();
      return publisher.publish(topics.builds(), s.buildId(), s).mapEmpty();
    }
    if (action instanceof Action.PublishTask publish) {
      BuildTask task = publish.task();
      // The task id is the CloudEvent id: a re-sent task is recognisably the same task.
      return publisher
          .publish(
              topics.tasks(),
              task.partitionKey(),
              codec.toCloudEvent(task, task.buildId(), task.taskId()))
          .mapEmpty();
    }
    if (action instanceof Action.PublishImageReady publish) {
      ImageReady event = publish.event();
      return publisher
          .publish(
              topics.imageReady(),
              event.tenant() + "/" + event.app(),
              codec.toCloudEvent(event, event.buildId(), event.buildId() + ":image-ready"))
          .mapEmpty();
    }
    if (action instanceof Action.PublishBuildFailed publish) {
      BuildFailed event = publish.event();
      return publisher
          .publish(
              topics.buildFailed(),
              event.tenant() + "/" + event.app(),
              codec.toCloudEvent(event, event.buildId(), event.buildId() + ":build-failed"))
          .mapEmpty();
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
      return publisher.publish(topics.logs(), log.buildId(), line).mapEmpty();
    }
    return Future.succeededFuture();
  }
}
