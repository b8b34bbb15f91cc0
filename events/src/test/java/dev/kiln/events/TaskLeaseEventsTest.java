package dev.kiln.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The lease fields of tasks and snapshots, and the heartbeat that renews a lease. */
class TaskLeaseEventsTest {
  private static final String BUILD = "b-0123456789abcdef0123";
  private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
  private final EventCodec codec = new EventCodec("/kiln/test");

  private static BuildTask detect(long leaseMillis) {
    return new BuildTask(
            BUILD,
            BuildTask.taskId(BUILD, TaskKind.DETECT, 2),
            TaskKind.DETECT,
            2,
            "acme",
            "shop",
            "file:///srv/git/acme/shop.git",
            COMMIT,
            null,
            Map.of(),
            null,
            null,
            null,
            null)
        .withLeaseMillis(leaseMillis);
  }

  @Test
  void aHeartbeatRoundTripsAsItsOwnEventType() throws Exception {
    TaskHeartbeat beat =
        TaskHeartbeat.of(detect(30_000), "worker-1", Instant.parse("2026-11-30T11:00:00Z"));
    var record = codec.toRecord("kiln.results", BUILD, beat);

    EventCodec.Decoded decoded = EventCodec.decode(record.headers(), record.value());

    assertThat(decoded.type()).isEqualTo(EventType.TASK_HEARTBEAT);
    assertThat(decoded.cloudEvent().getType()).isEqualTo("dev.kiln.task-heartbeat.v1");
    assertThat(decoded.body(TaskHeartbeat.class)).isEqualTo(beat);
  }

  @Test
  void aHeartbeatWithoutAWorkerIsRejectedNamingTheField() {
    String json =
        "{\"buildId\":\""
            + BUILD
            + "\",\"taskId\":\"x\",\"kind\":\"DETECT\",\"attempt\":1,\"at\":\"2026-11-30T11:00:00Z\"}";
    assertThatThrownBy(
            () -> EventCodec.fromJson(json.getBytes(StandardCharsets.UTF_8), TaskHeartbeat.class))
        .isInstanceOf(InvalidEventException.class)
        .hasMessageStartingWith("worker:");
  }

  @Test
  void aTaskStatesItsLeaseAndTheWorkerRenewsAtAThirdOfIt() throws Exception {
    BuildTask task = detect(30_000);
    BuildTask read = EventCodec.fromJson(EventCodec.toJson(task), BuildTask.class);
    assertThat(read.leaseMillis()).isEqualTo(30_000L);
    assertThat(read.renewEveryMillis()).isEqualTo(10_000);
  }

  @Test
  void aTaskOfAnEarlierCoordinatorWithoutALeaseReadsAndRenewsAtTheDefault() throws Exception {
    String json =
        new String(EventCodec.toJson(detect(0)), StandardCharsets.UTF_8)
            .replace(",\"leaseMillis\":0", "");
    assertThat(json).doesNotContain("leaseMillis");
    BuildTask read = EventCodec.fromJson(json.getBytes(StandardCharsets.UTF_8), BuildTask.class);
    assertThat(read.leaseMillis()).isZero();
    assertThat(read.renewEveryMillis()).isEqualTo(BuildTask.DEFAULT_RENEW_MILLIS);
  }

  @Test
  void aSnapshotKeepsItsLeaseDeadlineAndOneWrittenBeforeLeasesReadsWithout() throws Exception {
    Instant deadline = Instant.parse("2026-11-30T11:01:00Z");
    BuildSnapshot snapshot =
        BuildSnapshot.builder()
            .buildId(BUILD)
            .state(BuildState.DETECTING)
            .push(
                new PushEvent(
                    "acme",
                    "shop",
                    "file:///srv/git/acme/shop.git",
                    "HEAD",
                    COMMIT,
                    null,
                    Map.of(),
                    Instant.parse("2026-11-30T11:00:00Z")))
            .attempt(1)
            .currentTaskId(BuildTask.taskId(BUILD, TaskKind.DETECT, 1))
            .leaseExpiresAt(deadline)
            .build();
    String json = new String(EventCodec.toJson(snapshot), StandardCharsets.UTF_8);
    assertThat(EventCodec.fromJson(json.getBytes(StandardCharsets.UTF_8), BuildSnapshot.class))
        .isEqualTo(snapshot);

    String older = json.replaceAll(",\"leaseExpiresAt\":\"[^\"]*\"", "");
    assertThat(older).doesNotContain("leaseExpiresAt");
    assertThat(
            EventCodec.fromJson(older.getBytes(StandardCharsets.UTF_8), BuildSnapshot.class)
                .leaseExpiresAt())
        .isNull();
  }
}
