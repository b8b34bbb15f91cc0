package dev.kiln.deploy;

import dev.kiln.events.ImageReady;
import dev.kiln.events.InvalidEventException;
import dev.kiln.events.Topics;
import dev.kiln.messaging.DeadLetterRouter;
import dev.kiln.messaging.EventPublisher;
import dev.kiln.messaging.KafkaClientSettings;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.kafka.client.common.TopicPartition;
import io.vertx.kafka.client.consumer.KafkaConsumer;
import io.vertx.kafka.client.consumer.KafkaConsumerRecord;
import io.vertx.kafka.client.consumer.OffsetAndMetadata;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The reference deployer: consumes {@code kiln.image-ready}, drops redelivered copies by CloudEvent
 * id (the coordinator derives it from the build), hands each new image to a listener on a worker
 * thread, and commits only after the listener returned.
 */
public final class ReferenceDeployerVerticle extends VerticleBase {
  private static final int REMEMBERED_IDS = 10_000;

  private final String bootstrapServers;
  private final KafkaClientSettings clientSettings;
  private final Topics topics;
  private final String consumerGroup;
  private final ImageReadyListener listener;
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
                    "auto.offset.reset", "earliest")));
    // Records are handled strictly one after another so commits never overtake a deploy.
    consumer.handler(record -> chain = chain.transform(ignored -> handle(record)));
    return consumer.subscribe(topics.imageReady());
  }

  private Future<Void> handle(KafkaConsumerRecord<String, byte[]> record) {
    return deadLetters
        .decode(record)
        .compose(
            decoded -> {
              if (decoded.isEmpty()) {
                return Future.<Void>succeededFuture();
              }
              ImageReady image;
              try {
                image = decoded.get().body(ImageReady.class);
              } catch (InvalidEventException e) {
                return deadLetters.reject(record, e);
              }
              String id = decoded.get().cloudEvent().getId();
              if (!seen.add(id)) {
                return Future.<Void>succeededFuture();
              }
              return vertx.executeBlocking(
                  () -> {
                    listener.imageReady(id, image);
                    return null;
                  },
                  true);
            })
        .compose(ignored -> commit(record))
        .recover(failure -> Future.succeededFuture()); // not committed: redelivered after a restart
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
    return consumer.close().compose(ignored -> publisher.close());
  }
}
