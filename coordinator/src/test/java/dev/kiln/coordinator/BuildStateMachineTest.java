package dev.kiln.coordinator;

import static dev.kiln.coordinator.Fixtures.DEPENDENCY_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.events.BuildFailed;
import dev.kiln.events.BuildIds;
import dev.kiln.events.BuildLogLine;
import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildState;
import dev.kiln.events.BuildTask;
import dev.kiln.events.DependencyLayer;
import dev.kiln.events.ImageReady;
import dev.kiln.events.PushEvent;
import dev.kiln.events.StepTiming;
import dev.kiln.events.TaskKind;
import dev.kiln.events.TaskResult;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class BuildStateMachineTest {
  private final BuildStateMachine machine = new BuildStateMachine(new SteppingClock());
  private final PushEvent push = Fixtures.push();
  private final String buildId = BuildIds.of("acme", "web", Fixtures.COMMIT);

  @Test
  void newPushWritesTheSnapshotFirstThenSendsDetectWithThePushFields() {
    Decision d = machine.onPush(push, null, "3.11.9");

    BuildSnapshot s = d.next();
    assertThat(s.buildId()).isEqualTo(buildId);
    assertThat(s.state()).isEqualTo(BuildState.DETECTING);
    assertThat(s.attempt()).isEqualTo(1);
    assertThat(s.currentTaskId()).matches(buildId + "/detect/1/[0-9a-f]{16}");
    assertThat(s.outcomePublished()).isFalse();
    assertThat(d.actions().get(0)).isEqualTo(new Action.WriteSnapshot(s));

    BuildTask task = single(d.tasks());
    assertThat(task.kind()).isEqualTo(TaskKind.DETECT);
    assertThat(task.taskId()).isEqualTo(s.currentTaskId());
    assertThat(task.repoUrl()).isEqualTo(push.repoUrl());
    assertThat(task.commit()).isEqualTo(push.commit());
    assertThat(task.appSpec()).isEqualTo(push.appSpec());
    assertThat(task.buildEnv()).isEqualTo(push.buildEnv());
    assertThat(task.previousPython()).isEqualTo("3.11.9");
    assertThat(task.partitionKey()).isEqualTo(buildId);
    assertValid(task);
    assertThat(d.logs())
        .extracting(Action.Log::text)
        .containsExactly("-----> Build " + buildId + " queued for acme/web@0123456789ab");
  }

  @Test
  void aPushForAKnownBuildIsIgnoredWhateverItsState() {
    BuildSnapshot detecting = machine.onPush(push, null, null).next();
    BuildSnapshot failed =
        machine.onResult(Fixtures.failed(task(detecting), "x::y", "broken"), detecting).next();

    for (BuildSnapshot known : List.of(detecting, failed)) {
      Decision again = machine.onPush(push, known, null);
      assertThat(again.snapshot()).isEmpty();
      assertThat(again.tasks()).isEmpty();
      assertThat(again.ignoredBecause())
          .hasValueSatisfying(
              reason -> assertThat(reason).contains(buildId).contains("already known"));
    }
  }

  @Test
  void detectWithAPackageManagerSendsInstallKeyedByTheDependencySet() {
    BuildSnapshot detecting = machine.onPush(push, null, null).next();

    Decision d =
        machine.onResult(
            Fixtures.detected(task(detecting), Fixtures.plan("pip"), DEPENDENCY_KEY), detecting);

    BuildSnapshot installing = d.next();
    assertThat(installing.state()).isEqualTo(BuildState.INSTALLING);
    assertThat(installing.plan()).isEqualTo(Fixtures.plan("pip"));
    assertThat(installing.dependencyKey()).isEqualTo(DEPENDENCY_KEY);
    assertThat(installing.createdAt()).isEqualTo(detecting.createdAt());
    assertThat(installing.updatedAt()).isAfter(detecting.updatedAt());
    assertThat(d.actions().get(0)).isEqualTo(new Action.WriteSnapshot(installing));
    BuildTask install = single(d.tasks());
    assertThat(install.kind()).isEqualTo(TaskKind.INSTALL);
    assertThat(install.taskId()).matches(buildId + "/install/1/[0-9a-f]{16}");
    assertThat(install.partitionKey()).isEqualTo(DEPENDENCY_KEY);
    assertThat(install.plan()).isEqualTo(Fixtures.plan("pip"));
    assertThat(install.previousPython()).isNull();
    assertThat(d.installTask()).contains(install);
    assertValid(install);
  }

  @Test
  void aPlanWithoutAPackageManagerSkipsInstallAndAssemblesWithoutALayer() {
    BuildSnapshot detecting = machine.onPush(push, null, null).next();

    Decision d =
        machine.onResult(Fixtures.detected(task(detecting), Fixtures.plan(null), null), detecting);

    assertThat(d.next().state()).isEqualTo(BuildState.ASSEMBLING);
    BuildTask assemble = single(d.tasks());
    assertThat(assemble.kind()).isEqualTo(TaskKind.ASSEMBLE);
    assertThat(assemble.layer()).isNull();
    assertThat(assemble.partitionKey()).isEqualTo(buildId);
    assertThat(d.installTask()).isEmpty();
    assertValid(assemble);
    assertThat(d.logs())
        .extracting(Action.Log::text)
        .anyMatch(t -> t.contains("skipping the dependency install"));
  }

  @Test
  void aDockerfilePlanSkipsInstallAndAssemblesWithoutALayer() {
    BuildSnapshot detecting = machine.onPush(push, null, null).next();

    Decision d =
        machine.onResult(
            Fixtures.detected(task(detecting), Fixtures.dockerfilePlan(), null), detecting);

    assertThat(d.buildFailed()).isEmpty();
    assertThat(d.next().state()).isEqualTo(BuildState.ASSEMBLING);
    BuildTask assemble = single(d.tasks());
    assertThat(assemble.kind()).isEqualTo(TaskKind.ASSEMBLE);
    assertThat(assemble.layer()).isNull();
    assertThat(assemble.plan()).isEqualTo(Fixtures.dockerfilePlan());
    assertThat(d.installTask()).isEmpty();
    assertThat(d.next().steps())
        .anyMatch(step -> step.kind() == TaskKind.INSTALL && step.skipped());
    assertValid(assemble);
    assertThat(d.logs())
        .extracting(Action.Log::text)
        .anyMatch(t -> t.contains("Dockerfile build; skipping the dependency install"));
  }

  @Test
  void aPackageManagerWithoutADependencyKeyFailsNamingTheWorkerBug() {
    BuildSnapshot detecting = machine.onPush(push, null, null).next();

    Decision d =
        machine.onResult(Fixtures.detected(task(detecting), Fixtures.plan("pip"), null), detecting);

    assertThat(d.buildFailed().orElseThrow().code())
        .isEqualTo(BuildStateMachine.MISSING_DEPENDENCY_KEY);
    assertThat(d.buildFailed().orElseThrow().message()).contains("dependencyKey").contains("pip");
  }

  @Test
  void installSuccessSendsAssembleWithTheInstalledLayer() {
    BuildSnapshot installing = installing();
    DependencyLayer layer = Fixtures.layer(DEPENDENCY_KEY);

    Decision d = machine.onResult(Fixtures.installed(task(installing), layer), installing);

    assertThat(d.next().state()).isEqualTo(BuildState.ASSEMBLING);
    assertThat(d.next().layer()).isEqualTo(layer);
    BuildTask assemble = single(d.tasks());
    assertThat(assemble.kind()).isEqualTo(TaskKind.ASSEMBLE);
    assertThat(assemble.taskId()).matches(buildId + "/assemble/1/[0-9a-f]{16}");
    assertThat(assemble.layer()).isEqualTo(layer);
    assertThat(assemble.dependencyKey()).isEqualTo(DEPENDENCY_KEY);
    assertThat(assemble.plan()).isEqualTo(Fixtures.plan("pip"));
    assertValid(assemble);
  }

  @Test
  void assembleSuccessPublishesImageReadyAndThenMarksTheOutcomePublished() {
    BuildSnapshot assembling = assembling();

    Decision d =
        machine.onResult(
            Fixtures.assembled(
                task(assembling), "registry.local/acme/web:abc", Fixtures.digest('d')),
            assembling);

    List<Action> actions = d.actions();
    assertThat(actions).hasSize(4);
    BuildSnapshot first = ((Action.WriteSnapshot) actions.get(0)).snapshot();
    assertThat(first.state()).isEqualTo(BuildState.SUCCEEDED);
    assertThat(first.outcomePublished()).isFalse();
    assertThat(actions.get(1)).isInstanceOf(Action.Log.class);
    ImageReady ready = ((Action.PublishImageReady) actions.get(2)).event();
    BuildSnapshot last = ((Action.WriteSnapshot) actions.get(3)).snapshot();
    assertThat(last.outcomePublished()).isTrue();
    assertThat(d.next()).isEqualTo(last);

    assertThat(ready.buildId()).isEqualTo(buildId);
    assertThat(ready.tenant()).isEqualTo("acme");
    assertThat(ready.app()).isEqualTo("web");
    assertThat(ready.commit()).isEqualTo(Fixtures.COMMIT);
    assertThat(ready.ref()).isEqualTo("refs/heads/main");
    assertThat(ready.image()).isEqualTo("registry.local/acme/web:abc");
    assertThat(ready.digest()).isEqualTo(Fixtures.digest('d'));
    assertThat(ready.pythonVersion()).isEqualTo("3.12.7");
    assertThat(ready.runCommand()).isEqualTo("gunicorn app:app");
    assertThat(ready.warnings())
        .extracting(w -> w.code())
        .containsExactly("runtime-txt::deprecated");
    assertThatCode(ready::validate).doesNotThrowAnyException();
    assertThat(d.tasks()).isEmpty();
  }

  @ParameterizedTest
  @EnumSource(TaskKind.class)
  void aFailedResultAtAnyStageGivesBuildFailedWithStageCodeAndMessage(TaskKind stage) {
    BuildSnapshot current =
        switch (stage) {
          case DETECT -> machine.onPush(push, null, null).next();
          case INSTALL -> installing();
          case ASSEMBLE -> assembling();
        };

    Decision d =
        machine.onResult(
            Fixtures.failed(
                task(current), "pip::not-found", "No distribution found for flsak==1.0"),
            current);

    BuildFailed failed = d.buildFailed().orElseThrow();
    assertThat(failed.stage()).isEqualTo(stage);
    assertThat(failed.code()).isEqualTo("pip::not-found");
    assertThat(failed.message()).isEqualTo("No distribution found for flsak==1.0");
    assertThat(failed.commit()).isEqualTo(Fixtures.COMMIT);
    assertThatCode(failed::validate).doesNotThrowAnyException();
    assertThat(d.next().state()).isEqualTo(BuildState.FAILED);
    assertThat(d.next().failedStage()).isEqualTo(stage);
    assertThat(d.next().outcomePublished()).isTrue();
    assertThat(d.snapshotWrites())
        .extracting(BuildSnapshot::outcomePublished)
        .containsExactly(false, true);
    assertThat(d.logs())
        .singleElement()
        .satisfies(
            l -> {
              assertThat(l.level()).isEqualTo(BuildLogLine.Level.ERROR);
              assertThat(l.text()).contains("pip::not-found");
            });
    assertThat(d.tasks()).isEmpty();
  }

  @Test
  void aResultForATaskThatIsNoLongerCurrentIsIgnored() {
    BuildSnapshot detecting = machine.onPush(push, null, null).next();
    TaskResult detected = Fixtures.detected(task(detecting), Fixtures.plan("pip"), DEPENDENCY_KEY);
    BuildSnapshot installing = machine.onResult(detected, detecting).next();

    Decision redelivered = machine.onResult(detected, installing);

    assertThat(redelivered.snapshot()).isEmpty();
    assertThat(redelivered.tasks()).isEmpty();
    assertThat(redelivered.ignoredBecause())
        .hasValueSatisfying(
            r -> assertThat(r).contains("not build").contains(installing.currentTaskId()));
  }

  @Test
  void aResultFromAnotherAttemptIsIgnored() {
    BuildSnapshot detecting = machine.onPush(push, null, null).next();
    BuildTask other = task(detecting);
    TaskResult fromAttempt2 =
        new TaskResult(
            buildId,
            BuildTask.taskId(buildId, TaskKind.DETECT, 2),
            TaskKind.DETECT,
            2,
            TaskResult.Outcome.SUCCEEDED,
            null,
            Fixtures.plan(null),
            null,
            null,
            null,
            null,
            "w",
            1);

    assertThat(machine.onResult(fromAttempt2, detecting).ignoredBecause()).isPresent();
    assertThat(other.attempt()).isEqualTo(1);
  }

  @Test
  void aResultForAFinishedBuildIsIgnored() {
    BuildSnapshot assembling = assembling();
    TaskResult assembled = Fixtures.assembled(task(assembling), "img", Fixtures.digest('d'));
    BuildSnapshot succeeded = machine.onResult(assembled, assembling).next();

    Decision again = machine.onResult(assembled, succeeded);
    Decision lateFailure =
        machine.onResult(Fixtures.failed(task(assembling), "a::b", "late"), succeeded);

    assertThat(again.ignoredBecause()).hasValueSatisfying(r -> assertThat(r).contains("SUCCEEDED"));
    assertThat(again.imageReady()).isEmpty();
    assertThat(lateFailure.ignoredBecause()).isPresent();
    assertThat(lateFailure.buildFailed()).isEmpty();
  }

  @Test
  void aResultForAnUnknownBuildIsIgnored() {
    BuildSnapshot detecting = machine.onPush(push, null, null).next();

    Decision d =
        machine.onResult(Fixtures.detected(task(detecting), Fixtures.plan(null), null), null);

    assertThat(d.ignoredBecause()).hasValueSatisfying(r -> assertThat(r).contains("does not know"));
  }

  @Test
  void aCachedLayerReplacesTheInstallWithAssembleAndIsMarkedReused() {
    BuildSnapshot detecting = machine.onPush(push, null, null).next();
    Decision planned =
        machine.onResult(
            Fixtures.detected(task(detecting), Fixtures.plan("pip"), DEPENDENCY_KEY), detecting);

    Decision d = machine.reuseLayer(planned, Fixtures.layer(DEPENDENCY_KEY));

    assertThat(d.installTask()).isEmpty();
    assertThat(d.next().state()).isEqualTo(BuildState.ASSEMBLING);
    assertThat(d.next().layer().reused()).isTrue();
    assertThat(d.actions().get(0)).isEqualTo(new Action.WriteSnapshot(d.next()));
    assertThat(d.snapshotWrites()).hasSize(1);
    BuildTask assemble = single(d.tasks());
    assertThat(assemble.kind()).isEqualTo(TaskKind.ASSEMBLE);
    assertThat(assemble.layer().reused()).isTrue();
    assertThat(assemble.layer().blob()).isEqualTo(Fixtures.layer(DEPENDENCY_KEY).blob());
    assertValid(assemble);
    assertThat(d.logs())
        .extracting(Action.Log::text)
        .anyMatch(t -> t.startsWith("-----> Reused dependency layer aaaaaaaaaaaaaaaa"));
  }

  @Test
  void aCachedLayerOnlyReplacesAnInstallOfTheSameDependencySet() {
    BuildSnapshot detecting = machine.onPush(push, null, null).next();
    Decision planned =
        machine.onResult(
            Fixtures.detected(task(detecting), Fixtures.plan("pip"), DEPENDENCY_KEY), detecting);
    Decision noInstall = machine.onPush(Fixtures.push("acme", "api", Fixtures.COMMIT), null, null);

    assertThatThrownBy(() -> machine.reuseLayer(planned, Fixtures.layer("b".repeat(64))))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> machine.reuseLayer(noInstall, Fixtures.layer(DEPENDENCY_KEY)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void resumingAnUnfinishedBuildResendsExactlyTheTaskItWaitsFor() {
    Decision started = machine.onPush(push, null, "3.11.9");
    BuildSnapshot detecting = started.next();
    Decision toInstall =
        machine.onResult(
            Fixtures.detected(task(detecting), Fixtures.plan("pip"), DEPENDENCY_KEY), detecting);
    BuildSnapshot installing = toInstall.next();
    Decision toAssemble =
        machine.onResult(
            Fixtures.installed(task(installing), Fixtures.layer(DEPENDENCY_KEY)), installing);

    assertThat(machine.resume(detecting, "3.11.9").tasks()).isEqualTo(started.tasks());
    assertThat(machine.resume(installing, null).tasks()).isEqualTo(toInstall.tasks());
    assertThat(machine.resume(toAssemble.next(), null).tasks()).isEqualTo(toAssemble.tasks());
    Decision resumed = machine.resume(installing, null);
    assertThat(resumed.next()).isEqualTo(installing);
    assertThat(resumed.snapshotWrites()).isEmpty();
    assertThat(resumed.installTask()).isPresent();
  }

  @Test
  void aResumedInstallCanStillBeReplacedByACachedLayer() {
    BuildSnapshot installing = installing();

    Decision d =
        machine.reuseLayer(machine.resume(installing, null), Fixtures.layer(DEPENDENCY_KEY));

    assertThat(d.next().state()).isEqualTo(BuildState.ASSEMBLING);
    assertThat(single(d.tasks()).kind()).isEqualTo(TaskKind.ASSEMBLE);
    assertThat(d.logs())
        .extracting(Action.Log::text)
        .anyMatch(t -> t.startsWith("-----> Resuming build"))
        .anyMatch(t -> t.startsWith("-----> Reused dependency layer"));
  }

  @Test
  void resumingAFinishedBuildPublishesAnUnacknowledgedOutcomeOnlyOnce() {
    BuildSnapshot assembling = assembling();
    Decision done =
        machine.onResult(
            Fixtures.assembled(task(assembling), "img", Fixtures.digest('d')), assembling);
    BuildSnapshot unpublished = done.snapshotWrites().get(0);

    Decision resumed = machine.resume(unpublished, null);

    assertThat(resumed.imageReady())
        .hasValueSatisfying(e -> assertThat(e.buildId()).isEqualTo(buildId));
    assertThat(resumed.actions().get(resumed.actions().size() - 1))
        .isInstanceOfSatisfying(
            Action.WriteSnapshot.class, w -> assertThat(w.snapshot().outcomePublished()).isTrue());
    assertThat(resumed.tasks()).isEmpty();
    assertThat(machine.resume(resumed.next(), null).ignoredBecause()).isPresent();
    assertThat(machine.resume(done.next(), null).imageReady()).isEmpty();
  }

  @Test
  void aFullBuildDeliveredTwiceAtEveryStepProducesOneImageReady() {
    int imageReady = 0;
    int tasks = 0;
    BuildSnapshot state = null;
    for (int delivery = 0; delivery < 2; delivery++) {
      Decision d = machine.onPush(push, state, null);
      tasks += d.tasks().size();
      state = d.snapshot().orElse(state);
    }
    List<java.util.function.Function<BuildTask, TaskResult>> workers =
        List.of(
            t -> Fixtures.detected(t, Fixtures.plan("pip"), DEPENDENCY_KEY),
            t -> Fixtures.installed(t, Fixtures.layer(DEPENDENCY_KEY)),
            t -> Fixtures.assembled(t, "img", Fixtures.digest('d')));
    for (var worker : workers) {
      TaskResult result = worker.apply(task(state));
      for (int delivery = 0; delivery < 2; delivery++) {
        Decision d = machine.onResult(result, state);
        tasks += d.tasks().size();
        imageReady += d.imageReady().isPresent() ? 1 : 0;
        state = d.snapshot().orElse(state);
      }
    }
    assertThat(state.state()).isEqualTo(BuildState.SUCCEEDED);
    assertThat(imageReady).isEqualTo(1);
    assertThat(tasks).isEqualTo(3);
  }

  @Test
  void aFullBuildRecordsTheWorkerAndDurationOfEveryStepInOrder() {
    BuildSnapshot detecting = machine.onPush(push, null, null).next();
    assertThat(detecting.steps()).isEmpty();
    BuildSnapshot installing =
        machine
            .onResult(
                ranOn(
                    "worker-2",
                    64,
                    Fixtures.detected(task(detecting), Fixtures.plan("pip"), DEPENDENCY_KEY)),
                detecting)
            .next();
    BuildSnapshot assembling =
        machine
            .onResult(
                ranOn(
                    "worker-1",
                    1320,
                    Fixtures.installed(task(installing), Fixtures.layer(DEPENDENCY_KEY))),
                installing)
            .next();

    Decision done =
        machine.onResult(
            ranOn(
                "worker-2", 547, Fixtures.assembled(task(assembling), "img", Fixtures.digest('d'))),
            assembling);

    List<StepTiming> expected =
        List.of(
            new StepTiming(TaskKind.DETECT, buildId + "/detect/1", "worker-2", 64, false),
            new StepTiming(TaskKind.INSTALL, buildId + "/install/1", "worker-1", 1320, false),
            new StepTiming(TaskKind.ASSEMBLE, buildId + "/assemble/1", "worker-2", 547, false));
    assertThat(stripped(installing.steps())).isEqualTo(expected.subList(0, 1));
    assertThat(stripped(assembling.steps())).isEqualTo(expected.subList(0, 2));
    assertThat(done.snapshotWrites())
        .allSatisfy(written -> assertThat(stripped(written.steps())).isEqualTo(expected));
    assertThat(stripped(done.next().steps())).isEqualTo(expected);
  }

  @Test
  void anInstallAnsweredByTheActionCacheIsRecordedAsSkippedWithoutWorkerOrDuration() {
    BuildSnapshot detecting = machine.onPush(push, null, null).next();
    Decision planned =
        machine.onResult(
            ranOn(
                "worker-2",
                64,
                Fixtures.detected(task(detecting), Fixtures.plan("pip"), DEPENDENCY_KEY)),
            detecting);

    BuildSnapshot assembling = machine.reuseLayer(planned, Fixtures.layer(DEPENDENCY_KEY)).next();

    assertThat(stripped(assembling.steps()))
        .containsExactly(
            new StepTiming(TaskKind.DETECT, buildId + "/detect/1", "worker-2", 64, false),
            new StepTiming(TaskKind.INSTALL, buildId + "/install/1", null, 0, true));
  }

  @Test
  void aPlanWithoutAPackageManagerRecordsTheInstallAsSkipped() {
    BuildSnapshot detecting = machine.onPush(push, null, null).next();

    BuildSnapshot assembling =
        machine
            .onResult(
                ranOn(
                    "worker-2", 64, Fixtures.detected(task(detecting), Fixtures.plan(null), null)),
                detecting)
            .next();

    assertThat(stripped(assembling.steps()))
        .containsExactly(
            new StepTiming(TaskKind.DETECT, buildId + "/detect/1", "worker-2", 64, false),
            StepTiming.skipped(TaskKind.INSTALL, buildId + "/install/1"));
  }

  @Test
  void aFailedResultRecordsTheTimingOfTheStepThatFailed() {
    BuildSnapshot detecting = machine.onPush(push, null, null).next();

    Decision d =
        machine.onResult(
            ranOn("worker-3", 25, Fixtures.failed(task(detecting), "pip::not-found", "nope")),
            detecting);

    assertThat(stripped(d.next().steps()))
        .containsExactly(
            new StepTiming(TaskKind.DETECT, buildId + "/detect/1", "worker-3", 25, false));
    assertThat(d.snapshotWrites()).allSatisfy(w -> assertThat(w.steps()).hasSize(1));
  }

  @Test
  void aDuplicateOrLateResultAddsNoStepTiming() {
    BuildSnapshot detecting = machine.onPush(push, null, null).next();
    TaskResult detected = Fixtures.detected(task(detecting), Fixtures.plan("pip"), DEPENDENCY_KEY);
    BuildSnapshot installing = machine.onResult(detected, detecting).next();
    BuildSnapshot assembling =
        machine
            .onResult(
                Fixtures.installed(task(installing), Fixtures.layer(DEPENDENCY_KEY)), installing)
            .next();
    TaskResult assembled = Fixtures.assembled(task(assembling), "img", Fixtures.digest('d'));
    BuildSnapshot succeeded = machine.onResult(assembled, assembling).next();

    Decision duplicate = machine.onResult(detected, installing);
    Decision late = machine.onResult(assembled, succeeded);

    assertThat(duplicate.snapshot()).isEmpty();
    assertThat(late.snapshot()).isEmpty();
    assertThat(installing.steps()).extracting(StepTiming::kind).containsExactly(TaskKind.DETECT);
    assertThat(succeeded.steps())
        .extracting(StepTiming::kind)
        .containsExactly(TaskKind.DETECT, TaskKind.INSTALL, TaskKind.ASSEMBLE);
  }

  private BuildSnapshot installing() {
    BuildSnapshot detecting = machine.onPush(push, null, null).next();
    return machine
        .onResult(
            Fixtures.detected(task(detecting), Fixtures.plan("pip"), DEPENDENCY_KEY), detecting)
        .next();
  }

  private BuildSnapshot assembling() {
    BuildSnapshot installing = installing();
    return machine
        .onResult(Fixtures.installed(task(installing), Fixtures.layer(DEPENDENCY_KEY)), installing)
        .next();
  }

  /** The same result as reported by another worker after another time. */
  private static TaskResult ranOn(String worker, long millis, TaskResult r) {
    return new TaskResult(
        r.buildId(),
        r.taskId(),
        r.kind(),
        r.attempt(),
        r.outcome(),
        r.failure(),
        r.plan(),
        r.dependencyKey(),
        r.layer(),
        r.image(),
        r.imageDigest(),
        worker,
        millis);
  }

  private static BuildTask task(BuildSnapshot s) {
    return BuildStateMachine.currentTask(s, null);
  }

  private static BuildTask single(List<BuildTask> tasks) {
    assertThat(tasks).hasSize(1);
    return tasks.get(0);
  }

  private static void assertValid(BuildTask task) {
    assertThatCode(task::validate).doesNotThrowAnyException();
  }

  /** Each reading is one second after the previous one, so transitions have distinct times. */
  static final class SteppingClock extends Clock {
    private Instant now = Instant.parse("2025-01-01T00:00:00Z");

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public synchronized Instant instant() {
      now = now.plusSeconds(1);
      return now;
    }
  }

  /** Step timings with the random part of their task ids cut off, to compare with fixed ids. */
  private static List<StepTiming> stripped(List<StepTiming> steps) {
    return steps.stream()
        .map(
            t ->
                new StepTiming(
                    t.kind(),
                    t.taskId().replaceFirst("/[0-9a-f]{16}$", ""),
                    t.worker(),
                    t.durationMillis(),
                    t.skipped()))
        .toList();
  }
}
