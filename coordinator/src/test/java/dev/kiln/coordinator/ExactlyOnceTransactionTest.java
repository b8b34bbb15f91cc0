package dev.kiln.coordinator;

import static dev.kiln.coordinator.CoordinatorKafkaTest.BUILD_TIMEOUT;
import static dev.kiln.coordinator.CoordinatorKafkaTest.awaitExactlyOne;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildState;
import dev.kiln.events.ImageReady;
import dev.kiln.events.PushEvent;
import dev.kiln.events.TaskKind;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Snapshot, tasks, outcome and consumed offset are one Kafka transaction: a coordinator failing
 * after it wrote a build's outcome but before it committed publishes nothing, and the record read
 * again publishes the outcome exactly once.
 */
@ExtendWith(SharedKafka.class)
class ExactlyOnceTransactionTest {
  private Harness farm;

  @BeforeEach
  void start() throws Exception {
    farm = new Harness();
  }

  @AfterEach
  void stop() {
    farm.close();
  }

  @Test
  void aTransactionAbortedBetweenProduceAndCommitPublishesNoOutcomeAndTheRetryPublishesItOnce() {
    // Sees records of aborted transactions too: proves the aborted outcome really was written.
    TopicRecorder uncommitted =
        TopicRecorder.start(
            farm.vertx, farm.bootstrapServers, farm.topics.imageReady(), "read_uncommitted");
    farm.workers(ScriptedWorkers::succeedEverything);
    CoordinatorVerticle coordinator = new CoordinatorVerticle(farm.config());
    AtomicInteger outcomeTransactions = new AtomicInteger();
    coordinator.beforeCommit(
        sent -> {
          boolean outcome = sent.stream().anyMatch(r -> r.topic().equals(farm.topics.imageReady()));
          if (outcome && outcomeTransactions.getAndIncrement() == 0) {
            throw new IllegalStateException(
                "injected: the coordinator fails between producing the outcome and committing");
          }
        });
    farm.deploy(coordinator);

    PushEvent push = Fixtures.push();
    Awaits.await(farm.publisher.publish(farm.topics.push(), push.buildId(), push));

    awaitExactlyOne(farm.imageReady, ImageReady.class);
    assertThat(farm.imageReady.bodies(ImageReady.class).get(0).buildId()).isEqualTo(push.buildId());
    // The aborted copy is in the log, invisible to read_committed readers; the retry wrote one
    // more.
    await().atMost(BUILD_TIMEOUT).until(() -> uncommitted.records().size() == 2);
    assertThat(outcomeTransactions.get()).isEqualTo(2);
    // The ASSEMBLE result was read again, not re-run: one ASSEMBLE task; the aborted snapshots
    // are invisible, so the build is recorded as succeeded-and-announced once.
    assertThat(farm.tasksSeen(TaskKind.ASSEMBLE)).hasSize(1);
    assertThat(farm.builds.bodies(BuildSnapshot.class))
        .filteredOn(s -> s.buildId().equals(push.buildId()) && s.state() == BuildState.SUCCEEDED)
        .filteredOn(BuildSnapshot::outcomePublished)
        .hasSize(1);
    assertThat(farm.buildFailed.records()).isEmpty();
  }

  @Test
  void aRestartedCoordinatorFencesItsPreviousIncarnationAndFinishesTheBuildOnce() {
    // Workers that detect, then go quiet: the build waits in INSTALL while the coordinator stops.
    ScriptedWorkers workers =
        farm.workers(
            task ->
                task.kind() == TaskKind.DETECT ? ScriptedWorkers.succeedEverything(task) : null);
    CoordinatorVerticle first = new CoordinatorVerticle(farm.config());
    String firstId = farm.deploy(first);
    PushEvent push = Fixtures.push();
    Awaits.await(farm.publisher.publish(farm.topics.push(), push.buildId(), push));
    await().atMost(BUILD_TIMEOUT).until(() -> farm.tasksSeen(TaskKind.INSTALL).size() == 1);
    farm.undeploy(firstId);

    // Same instance id, same transactional id: the new incarnation's initTransactions fences the
    // old one, then it restores from what was committed.
    workers.script(ScriptedWorkers::succeedEverything);
    CoordinatorVerticle second = new CoordinatorVerticle(farm.config());
    assertThat(second.transactionalId()).isEqualTo(first.transactionalId());
    farm.deploy(second); // re-sends the pending INSTALL, which the workers now answer

    awaitExactlyOne(farm.imageReady, ImageReady.class);
    assertThat(farm.tasksSeen(TaskKind.ASSEMBLE)).hasSize(1);
  }

  @Test
  void aCoordinatorFencedByAnotherProcessWithItsInstanceIdGoesDownInsteadOfServingFrozenState()
      throws Exception {
    CoordinatorVerticle first = new CoordinatorVerticle(farm.config());
    farm.deploy(first);
    // Another process started with the same instance id (a misconfigured replica, or this one's
    // restart while it still runs): its initTransactions fences the first one's producer.
    TransactionalLoop impostor =
        new TransactionalLoop(
            farm.config().bootstrapServers(),
            farm.config().kafkaClient(),
            farm.config().consumerGroup(),
            "impostor",
            first.transactionalId(),
            java.util.Set.of(),
            record ->
                java.util.concurrent.CompletableFuture.completedFuture(
                    TransactionalLoop.Effects.none()));
    try {
      impostor.start().get(60, java.util.concurrent.TimeUnit.SECONDS);

      PushEvent push = Fixtures.push();
      Awaits.await(farm.publisher.publish(farm.topics.push(), push.buildId(), push));

      String reason = Awaits.await(first.halted());
      assertThat(reason).contains("ProducerFenced");
      HttpJson.Response health = new HttpJson(first.actualHttpPort()).get("/health");
      assertThat(health.status()).isEqualTo(503);
      assertThat(health.json().get("status").asText()).isEqualTo("DOWN");
    } finally {
      impostor.stop().get(60, java.util.concurrent.TimeUnit.SECONDS);
    }
  }
}
