package dev.kiln.deploy;

import dev.kiln.events.ImageReady;
import dev.kiln.events.InvalidEventException;
import dev.kiln.events.Topics;
import dev.kiln.messaging.DeadLetterRouter;
import dev.kiln.messaging.EventPublisher;
import dev.kiln.messaging.KafkaClientSettings;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.kafka.client.common.TopicPartition;
import io.vertx.kafka.client.consumer.KafkaConsumer;
import io.vertx.kafka.client.consumer.KafkaConsumerRecord;
import io.vertx.kafka.client.consumer.OffsetAndMetadata;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reference deployer: consumes {@code kiln.image-ready}, drops redelivered copies by CloudEvent
 * id (the coordinator derives it from the build), hands each new image to a listener on a worker
 * thread, and commits only after the listener returned.
 *
 * <p>A listener that throws has not deployed: the image is not remembered as done, and nothing is
 * committed past it. It is tried again after a growing backoff ({@link Retries}); once the attempts
 * are used up the record goes to the dead-letter topic with the last error as its reason, and only
 * then is it committed, so the consumer carries on with the next image.
 */
public final class ReferenceDeployerVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(ReferenceDeployerVerticle.class);
  private static final int REMEMBERED_IDS = 10_000;

  /**
   * How often a failing deploy is tried before it is dead-lettered.
   *
   * @param maxAttempts calls of the listener for one image, at least 1
   * @param firstBackoff the wait before the second attempt; it doubles after each failure
   * @param maxBackoff the longest wait between two attempts (also between tries to publish a dead
   *     letter while the broker refuses it)
   */
  public record Retries(int maxAttempts, Duration firstBackoff, Duration maxBackoff) {
    public Retries {
      if (maxAttempts < 1) {
        throw new IllegalArgumentException("maxAttempts must be at least 1, not " + maxAttempts);
      }
      Objects.requireNonNull(firstBackoff, "firstBackoff");
      Objects.requireNonNull(maxBackoff, "maxBackoff");
      if (firstBackoff.isNegative() || maxBackoff.compareTo(firstBackoff) < 0) {
        throw new IllegalArgumentException(
            "backoff must be 0 <= firstBackoff <= maxBackoff, not "
                + firstBackoff
                + " and "
                + maxBackoff);
      }
    }

    /** 5 attempts, waiting 1 s, 2 s, 4 s, 8 s in between (at most 30 s). */
    public static Retries defaults() {
      return new Retries(5, Duration.ofSeconds(1), Duration.ofSeconds(30));
    }

    /** The wait after failed attempt {@code attempt} (1-based). */
    Duration backoffAfter(int attempt) {
      Duration wait = firstBackoff;
      for (int i = 1; i < attempt && wait.compareTo(maxBackoff) < 0; i++) {
        wait = wait.multipliedBy(2);
      }
      return wait.compareTo(maxBackoff) > 0 ? maxBackoff : wait;
    }
  }

  private final String bootstrapServers;
  private final KafkaClientSettings clientSettings;
  private final Topics topics;
  private final String consumerGroup;
  private final ImageReadyListener listener;
  private final Retries retries;
  private final Set<String> seen =
      Collections.newSetFromMap(
          new LinkedHashMap<>() {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
              return size() > REMEMBERED_IDS;
            }
          });

  private KafkaConsumer<String, byte[]> consumer;
  private EventPublisher publisher;
  private DeadLetterRouter deadLetters;
  private Future<Void> chain = Future.succeededFuture();
  private volatile boolean stopped;

  public ReferenceDeployerVerticle(
      String bootstrapServers, Topics topics, String consumerGroup, ImageReadyListener listener) {
    this(bootstrapServers, KafkaClientSettings.none(), topics, consumerGroup, listener);
  }

  /**
   * A deployer whose consumer and dead-letter producer also get the operator's Kafka client
   * settings (it logs in as the {@code deployer} principal; its group must start with {@code
   * kiln-deployer} for the ACLs in docs/operations.md).
   */
  public ReferenceDeployerVerticle(
      String bootstrapServers,
      KafkaClientSettings clientSettings,
      Topics topics,
      String consumerGroup,
      ImageReadyListener listener) {
    this(bootstrapServers, clientSettings, topics, consumerGroup, listener, Retries.defaults());
  }

  /** A deployer retrying a failing deploy as {@code retries} says before dead-lettering it. */
  public ReferenceDeployerVerticle(
      String bootstrapServers,
      KafkaClientSettings clientSettings,
      Topics topics,
      String consumerGroup,
      ImageReadyListener listener,
      Retries retries) {
    this.retries = Objects.requireNonNull(retries, "retries");
    this.clientSettings = clientSettings;
    this.bootstrapServers = bootstrapServers;
    this.topics = topics;
    this.consumerGroup = consumerGroup;
    this.listener = listener;
  }

  @Override
  public Future<?> start() {
    publisher =
        new EventPublisher(
            vertx, bootstrapServers, clientSettings, "/kiln/deployer/" + consumerGroup);
    deadLetters = new DeadLetterRouter(publisher, topics.deadLetters(), consumerGroup);
    consumer =
        KafkaConsumer.create(
            vertx,
            clientSettings.applyTo(
                Map.of(
                    "bootstrap.servers", bootstrapServers,
                    "group.id", consumerGroup,
                    "key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer",
                    "value.deserializer",
                        "org.apache.kafka.common.serialization.ByteArrayDeserializer",
                    "enable.auto.commit", "false",
                    "auto.offset.reset", "earliest",
                    // Outcomes are written in the coordinator's transactions: deploy only
                    // committed ones (an aborted image-ready is published again, once).
                    "isolation.level", "read_committed")));
    // Records are handled strictly one after another so commits never overtake a deploy.
    consumer.handler(record -> chain = chain.transform(ignored -> handle(record)));
    return consumer.subscribe(topics.imageReady());
  }

  private Future<Void> handle(KafkaConsumerRecord<String, byte[]> record) {
    return untilDone(() -> deadLetters.decode(record), "dead-letter a malformed record", 1)
        .compose(
            decoded -> {
              if (decoded.isEmpty()) {
                return Future.<Void>succeededFuture();
              }
              ImageReady image;
              try {
                image = decoded.get().body(ImageReady.class);
              } catch (InvalidEventException e) {
                return untilDone(
                    () -> deadLetters.reject(record, e), "dead-letter a rejected record", 1);
              }
              String id = decoded.get().cloudEvent().getId();
              if (seen.contains(id)) {
                return Future.<Void>succeededFuture();
              }
              if (image.isCi()) {
                // A CI build's image holds the test dependencies; it is there to run tests in,
                // never to replace what the app serves.
                LOG.info(
                    "skipping {}/{}@{}: the image of a CI build is not deployed",
                    image.tenant(),
                    image.app(),
                    image.commit());
                return Future.<Void>succeededFuture();
              }
              return deploy(record, id, image, 1);
            })
        .compose(ignored -> commit(record))
        // Only when stopping (or a failed commit, which a later commit or a redelivery covers):
        // not committed, so it is redelivered after a restart.
        .recover(failure -> Future.succeededFuture());
  }

  /**
   * Calls the listener until it returns; completes once the image is deployed or, after the last
   * attempt, dead-lettered. Fails only when the verticle stops meanwhile.
   */
  private Future<Void> deploy(
      KafkaConsumerRecord<String, byte[]> record, String id, ImageReady image, int attempt) {
    return vertx
        .<Void>executeBlocking(
            () -> {
              listener.imageReady(id, image);
              return null;
            },
            true)
        .transform(
            done -> {
              if (done.succeeded()) {
                seen.add(id); // only a deploy that happened is done
                return Future.<Void>succeededFuture();
              }
              Throwable cause = done.cause();
              if (stopped) {
                return Future.<Void>failedFuture(cause);
              }
              if (attempt >= retries.maxAttempts()) {
                String reason =
                    "deploy of "
                        + id
                        + " ("
                        + image.image()
                        + ") failed "
                        + attempt
                        + (attempt == 1 ? " time" : " times")
                        + "; last error: "
                        + cause;
                LOG.error("giving up: {}", reason, cause);
                return untilDone(
                    () -> deadLetters.giveUp(record, "deploy", reason),
                    "dead-letter a failed deploy",
                    1);
              }
              Duration wait = retries.backoffAfter(attempt);
              LOG.warn(
                  "deploy of {} failed (attempt {} of {}), trying again in {} ms: {}",
                  id,
                  attempt,
                  retries.maxAttempts(),
                  wait.toMillis(),
                  cause.toString());
              return delay(wait).compose(ignored -> deploy(record, id, image, attempt + 1));
            });
  }

  /**
   * {@code step} again and again (with the retry backoff) until it succeeds: publishing a dead
   * letter must not be skipped, or the commit after it would lose the record. Fails only when the
   * verticle stops meanwhile.
   */
  private <T> Future<T> untilDone(Supplier<Future<T>> step, String what, int attempt) {
    return step.get()
        .recover(
            failure -> {
              if (stopped) {
                return Future.failedFuture(failure);
              }
              Duration wait = retries.backoffAfter(attempt);
              LOG.warn(
                  "could not {} (attempt {}), trying again in {} ms: {}",
                  what,
                  attempt,
                  wait.toMillis(),
                  failure.toString());
              return delay(wait).compose(ignored -> untilDone(step, what, attempt + 1));
            });
  }

  private Future<Void> delay(Duration wait) {
    Promise<Void> promise = Promise.promise();
    vertx.setTimer(
        Math.max(1, wait.toMillis()),
        ignored -> {
          if (stopped) {
            promise.fail("the deployer is stopping");
          } else {
            promise.complete();
          }
        });
    return promise.future();
  }

  private Future<Void> commit(KafkaConsumerRecord<String, byte[]> record) {
    return consumer
        .commit(
            Map.of(
                new TopicPartition(record.topic(), record.partition()),
                new OffsetAndMetadata(record.offset() + 1, "")))
        .mapEmpty();
  }

  @Override
  public Future<?> stop() {
    stopped = true;
    return consumer.close().compose(ignored -> publisher.close());
  }
}
