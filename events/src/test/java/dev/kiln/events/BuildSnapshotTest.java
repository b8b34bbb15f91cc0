package dev.kiln.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BuildSnapshotTest {
  private static final String COMMIT = "4df320fe4302a3bce758ec7e80d20360dd9d01f0";
  private static final String BUILD_ID = BuildIds.of("acme", "hello", COMMIT);

  /** A snapshot as coordinators wrote it to kiln.builds before step timings existed. */
  private static final String SNAPSHOT_WITHOUT_STEPS =
      """
      {
        "buildId": "%s",
        "state": "INSTALLING",
        "push": {
          "tenant": "acme",
          "app": "hello",
          "repoUrl": "file:///tmp/evhome/repos/acme/hello.git",
          "ref": "HEAD",
          "commit": "%s",
          "appSpec": {"envs": {}},
          "buildEnv": {},
          "pushedAt": "2026-11-21T02:53:10.709051821Z"
        },
        "attempt": 1,
        "currentTaskId": "%s/install/1",
        "dependencyKey": "d3a3013e602cd8dfe89c1a80c0a292c0609099d2a64d3a7c83ea94f1dc54cbcc",
        "outcomePublished": false,
        "createdAt": "2026-11-21T02:53:11.182304422Z",
        "updatedAt": "2026-11-21T02:53:11.301000000Z"
      }
      """
          .formatted(BUILD_ID, COMMIT, BUILD_ID);

  @Test
  void aSnapshotWrittenBeforeStepTimingsExistedStillReadsWithNoSteps() throws Exception {
    BuildSnapshot old =
        EventCodec.fromJson(
            SNAPSHOT_WITHOUT_STEPS.getBytes(StandardCharsets.UTF_8), BuildSnapshot.class);

    assertThat(old.buildId()).isEqualTo(BUILD_ID);
    assertThat(old.state()).isEqualTo(BuildState.INSTALLING);
    assertThat(old.currentTaskId()).isEqualTo(BUILD_ID + "/install/1");
    assertThat(old.steps()).isEmpty();
  }

  @Test
  void stepTimingsRoundTripThroughAKafkaRecord() throws Exception {
    BuildSnapshot snapshot =
        snapshot(
            List.of(
                new StepTiming(TaskKind.DETECT, BUILD_ID + "/detect/1", "worker-2", 64, false),
                StepTiming.skipped(TaskKind.INSTALL, BUILD_ID + "/install/1"),
                new StepTiming(
                    TaskKind.ASSEMBLE, BUILD_ID + "/assemble/1", "worker-2", 547, false)));

    var record = new EventCodec("/kiln/test").toRecord("kiln.builds", BUILD_ID, snapshot);
    BuildSnapshot read =
        EventCodec.decode(record.headers(), record.value()).body(BuildSnapshot.class);

    assertThat(read).isEqualTo(snapshot);
    assertThat(read.steps().get(1).worker()).isNull();
    assertThat(read.steps().get(1).durationMillis()).isZero();
    assertThat(read.steps().get(1).skipped()).isTrue();
  }

  @Test
  void theStepsAreACopyThatCannotChangeAfterwards() {
    List<StepTiming> steps = new ArrayList<>();
    steps.add(StepTiming.skipped(TaskKind.INSTALL, BUILD_ID + "/install/1"));
    BuildSnapshot snapshot = snapshot(steps);

    steps.clear();

    assertThat(snapshot.steps()).hasSize(1);
    assertThatThrownBy(() -> snapshot.steps().clear())
        .isInstanceOf(UnsupportedOperationException.class);
    assertThat(snapshot(null).steps()).isEmpty();
  }

  @Test
  void aStepWithoutAKindIsRejectedNamingItsPosition() {
    BuildSnapshot snapshot =
        snapshot(
            List.of(
                new StepTiming(TaskKind.DETECT, BUILD_ID + "/detect/1", "worker-2", 64, false),
                new StepTiming(null, BUILD_ID + "/install/1", "worker-1", 1320, false)));

    assertThatThrownBy(snapshot::validate)
        .isInstanceOfSatisfying(
            InvalidEventException.class, e -> assertThat(e.field()).isEqualTo("steps[1].kind"));
  }

  private static BuildSnapshot snapshot(List<StepTiming> steps) {
    PushEvent push =
        new PushEvent(
            "acme",
            "hello",
            "file:///tmp/evhome/repos/acme/hello.git",
            "HEAD",
            COMMIT,
            new AppSpec(null, null, null, null, java.util.List.of()),
            Map.of(),
            Instant.parse("2026-11-21T02:53:10Z"));
    return BuildSnapshot.builder()
        .buildId(BUILD_ID)
        .state(BuildState.ASSEMBLING)
        .push(push)
        .attempt(1)
        .currentTaskId(BUILD_ID + "/assemble/1")
        .createdAt(Instant.parse("2026-11-21T02:53:11Z"))
        .updatedAt(Instant.parse("2026-11-21T02:53:12Z"))
        .steps(steps)
        .build();
  }
}
