package dev.kiln.coordinator;

import static dev.kiln.coordinator.CoordinatorKafkaTest.awaitExactlyOne;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildState;
import dev.kiln.events.BuildTask;
import dev.kiln.events.ImageReady;
import dev.kiln.events.PushEvent;
import dev.kiln.events.TaskKind;
import dev.kiln.events.Topics;
import java.time.Instant;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * One app's records live in one partition: pushes keyed otherwise are forwarded there, and builds
 * written by versions that partitioned by build id are moved there and finish.
 */
@ExtendWith(SharedKafka.class)
class AppPartitioningKafkaTest {
  private static final int PARTITIONS = 6;
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
  void aPushKeyedByBuildIdOnAnotherPartitionIsForwardedToItsAppsAndBuildsOnce() {
    farm.workers(ScriptedWorkers::succeedEverything);
    farm.deploy(new CoordinatorVerticle(farm.config()));
    PushEvent push = pushWhoseBuildIdHashesElsewhere();

    Awaits.await(farm.publisher.publish(farm.topics.push(), push.buildId(), push));

    awaitExactlyOne(farm.imageReady, ImageReady.class);
    assertThat(farm.imageReady.bodies(ImageReady.class).get(0).buildId()).isEqualTo(push.buildId());
  }

  @Test
  void aBuildInFlightFromBeforePerAppPartitioningIsMovedToItsAppsPartitionAndFinishesOnce() {
    PushEvent push = pushWhoseBuildIdHashesElsewhere();
    // What an earlier version left: DETECTING, its task sent, in the build id's partition.
    BuildSnapshot legacy =
        BuildSnapshot.builder()
            .buildId(push.buildId())
            .state(BuildState.DETECTING)
            .push(push)
            .attempt(1)
            .currentTaskId(BuildTask.taskId(push.buildId(), TaskKind.DETECT, 1))
            .createdAt(Instant.parse("2026-11-30T10:00:00Z"))
            .updatedAt(Instant.parse("2026-11-30T10:00:00Z"))
            .build();
    ProducerRecord<String, byte[]> keyed =
        farm.publisher.codec().toRecord(farm.topics.builds(), legacy.buildId(), legacy);
    Awaits.await(
        farm.publisher.send(
            new ProducerRecord<>(
                keyed.topic(),
                legacyPartition(push.buildId()),
                keyed.key(),
                keyed.value(),
                keyed.headers())));
    farm.workers(ScriptedWorkers::succeedEverything);

    farm.deploy(new CoordinatorVerticle(farm.config()));

    awaitExactlyOne(farm.imageReady, ImageReady.class);
    assertThat(farm.imageReady.bodies(ImageReady.class).get(0).buildId()).isEqualTo(push.buildId());
  }

  /** A push of an app whose build id's partition is not the app's. */
  private static PushEvent pushWhoseBuildIdHashesElsewhere() {
    for (int i = 1; ; i++) {
      PushEvent push = Fixtures.push("acme", "web", String.format("%040x", i));
      if (legacyPartition(push.buildId())
          != Topics.appPartition(push.tenant(), push.app(), PARTITIONS)) {
        return push;
      }
    }
  }

  private static int legacyPartition(String buildId) {
    return Utils.toPositive(
            Utils.murmur2(buildId.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
        % PARTITIONS;
  }
}
