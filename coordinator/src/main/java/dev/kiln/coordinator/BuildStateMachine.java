package dev.kiln.coordinator;

import dev.kiln.events.BuildCancelled;
import dev.kiln.events.BuildFailed;
import dev.kiln.events.BuildLogLine.Level;
import dev.kiln.events.BuildPlanSummary;
import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildState;
import dev.kiln.events.BuildTask;
import dev.kiln.events.CodedMessage;
import dev.kiln.events.DependencyLayer;
import dev.kiln.events.Digest;
import dev.kiln.events.ImageReady;
import dev.kiln.events.IndexRef;
import dev.kiln.events.PushEvent;
import dev.kiln.events.StepTiming;
import dev.kiln.events.TaskHeartbeat;
import dev.kiln.events.TaskKind;
import dev.kiln.events.TaskResult;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * The build as a state machine: {@code DETECTING → INSTALLING → ASSEMBLING → SUCCEEDED}, any step →
 * {@code FAILED}. It only decides; carrying the decision out (Kafka, HTTP) is someone else's job,
 * so every rule here is tested without a broker.
 *
 * <p>Delivery is at-least-once, so every input may arrive twice or late: a push for a build that
 * exists, a result for a task that is no longer current and anything for a finished build are
 * ignored with the reason.
 */
final class BuildStateMachine {
  /** The {@link BuildPlanSummary#strategy()} of an app that has a Dockerfile. */
  static final String DOCKERFILE_STRATEGY = "dockerfile";

  static final String MISSING_DEPENDENCY_KEY = "detect::missing-dependency-key";
  static final String MISSING_LAYER = "install::missing-layer";

  /** Every attempt of a step lost its worker: none renewed the task's lease. */
  static final String WORKER_LOST = "worker::lost";

  private static final int FIRST_ATTEMPT = 1;

  private final Clock clock;
  private final Function<String, List<IndexRef>> indexesOf;
  private final java.util.function.BiFunction<String, String, Integer> buildpackLevelOf;
  private final Duration lease;
  private final int maxAttempts;

  BuildStateMachine(Clock clock) {
    this(clock, tenant -> List.of());
  }

  BuildStateMachine(Clock clock, Function<String, List<IndexRef>> indexesOf) {
    this(
        clock,
        indexesOf,
        CoordinatorConfig.DEFAULT_TASK_LEASE,
        CoordinatorConfig.DEFAULT_MAX_TASK_ATTEMPTS);
  }

  /**
   * @param indexesOf a tenant's configured indexes, which every task of its builds carries
   * @param lease how long a task may go without a sign of life from its worker
   * @param maxAttempts how many times one step is issued before the build fails {@value
   *     #WORKER_LOST}
   */
  BuildStateMachine(
      Clock clock, Function<String, List<IndexRef>> indexesOf, Duration lease, int maxAttempts) {
    this(clock, indexesOf, (tenant, app) -> null, lease, maxAttempts);
  }

  /**
   * @param buildpackLevelOf the buildpack level a tenant chose for an app (null: the farm's own
   *     rules), which its DETECT tasks carry; read when DETECT is issued, so a level changed while
   *     a build waits applies to it
   */
  BuildStateMachine(
      Clock clock,
      Function<String, List<IndexRef>> indexesOf,
      java.util.function.BiFunction<String, String, Integer> buildpackLevelOf,
      Duration lease,
      int maxAttempts) {
    this.clock = clock;
    this.indexesOf = indexesOf;
    this.buildpackLevelOf = buildpackLevelOf;
    this.lease = lease;
    this.maxAttempts = maxAttempts;
  }

  /** The lease every task is issued with. */
  Duration lease() {
    return lease;
  }

  /**
   * A push: a new build starts with DETECT; a known one (same tenant, app and commit) is left
   * alone.
   *
   * @param current the build's snapshot, or null when the coordinator has never seen it
   * @param previousPython the Python version of the app's last successful build, or null
   */
  Decision onPush(PushEvent push, BuildSnapshot current, String previousPython) {
    String buildId = push.buildId();
    if (current != null) {
      return Decision.ignore(
          "build "
              + buildId
              + " for "
              + push.tenant()
              + "/"
              + push.app()
              + "@"
              + shortCommit(push.commit())
              + " is already known ("
              + current.state()
              + "); a commit builds once");
    }
    return start(newSnapshot(push).build(), previousPython, "queued");
  }

  /**
   * A new build that must wait: its tenant already runs as many builds as its quota allows. No task
   * is sent; {@link #startQueued} starts it when a slot frees.
   */
  Decision queue(PushEvent push, String reason) {
    BuildSnapshot queued =
        newSnapshot(push)
            .state(BuildState.QUEUED)
            .currentTaskId(null)
            .leaseExpiresAt(null)
            .queuedReason(reason)
            .build();
    return new Decision(
        queued,
        List.of(
            new Action.WriteSnapshot(queued),
            log(
                queued,
                Level.INFO,
                "-----> Build "
                    + queued.buildId()
                    + " for "
                    + push.tenant()
                    + "/"
                    + push.app()
                    + "@"
                    + shortCommit(push.commit())
                    + " waits: "
                    + reason)));
  }

  /** A waiting build's turn: it starts with DETECT like a new one. */
  Decision startQueued(BuildSnapshot queued, String previousPython) {
    if (queued.state() != BuildState.QUEUED) {
      return Decision.ignore(
          "build " + queued.buildId() + " is " + queued.state() + ", not QUEUED");
    }
    return start(
        queued.toBuilder().queuedReason(null).updatedAt(clock.instant()).build(),
        previousPython,
        "started after waiting");
  }

  /**
   * A push that may not build at all (unknown tenant, repository not allowed, queue full): the
   * build exists only to say so, failed at DETECT before any task was sent.
   */
  Decision reject(PushEvent push, BuildSnapshot current, CodedMessage why) {
    if (current != null) {
      return Decision.ignore(
          "build " + push.buildId() + " is already known (" + current.state() + ")");
    }
    BuildSnapshot refused =
        newSnapshot(push).state(BuildState.DETECTING).currentTaskId(null).build();
    return fail(refused, TaskKind.DETECT, why);
  }

  /** An unfinished build that will never go on (see {@link #repartitioned}). */
  Decision abandon(BuildSnapshot current, CodedMessage why) {
    TaskKind stage = currentKind(current);
    return fail(
        current.toBuilder().queuedReason(null).build(),
        stage == null ? TaskKind.DETECT : stage,
        why);
  }

  /** Why a build written before per-app partitioning, owned by another coordinator, failed. */
  static CodedMessage repartitioned(BuildSnapshot build) {
    return new CodedMessage(
        "coordinator::repartitioned",
        "Build "
            + build.buildId()
            + " was in flight while the farm moved to partitioning builds by app, and another"
            + " coordinator owns its app now; push the commit again to build it.");
  }

  /** A waiting build that may no longer start (its tenant was deleted or its source refused). */
  Decision failQueued(BuildSnapshot queued, CodedMessage why) {
    return fail(queued.toBuilder().queuedReason(null).build(), TaskKind.DETECT, why);
  }

  private BuildSnapshot.Builder newSnapshot(PushEvent push) {
    Instant now = clock.instant();
    return BuildSnapshot.builder()
        .buildId(push.buildId())
        .state(BuildState.DETECTING)
        .push(push.withoutIndexCredentials())
        .attempt(FIRST_ATTEMPT)
        .createdAt(now)
        .updatedAt(now);
  }

  private Decision start(BuildSnapshot from, String previousPython, String what) {
    PushEvent push = from.push();
    String buildId = from.buildId();
    BuildSnapshot detecting =
        from.toBuilder()
            .state(BuildState.DETECTING)
            .attempt(FIRST_ATTEMPT)
            .currentTaskId(BuildTask.taskId(buildId, TaskKind.DETECT, FIRST_ATTEMPT))
            .leaseExpiresAt(null)
            .build();
    return new Decision(
        detecting,
        List.of(
            new Action.WriteSnapshot(detecting),
            log(
                detecting,
                Level.INFO,
                "-----> Build "
                    + buildId
                    + " "
                    + what
                    + " for "
                    + push.tenant()
                    + "/"
                    + push.app()
                    + "@"
                    + shortCommit(push.commit())),
            new Action.PublishTask(taskFor(detecting, previousPython))));
  }

  /**
   * A later push to the same tenant, app and branch was admitted as build {@code newer}: a waiting
   * build is cancelled now; a running one is marked and stops at its next step boundary (its
   * current task's result, or its lease running out), so no image of an older commit reaches
   * deployers once a newer push arrived. A build already marked is pointed at the newest.
   */
  Decision supersede(BuildSnapshot older, String newer) {
    if (older.state().isFinal()) {
      return Decision.ignore(
          "build " + older.buildId() + " is already " + older.state() + "; nothing to supersede");
    }
    BuildSnapshot marked =
        older.toBuilder().supersededBy(newer).queuedReason(null).updatedAt(clock.instant()).build();
    if (older.state() == BuildState.QUEUED) {
      return cancel(marked);
    }
    return new Decision(
        marked,
        List.of(
            new Action.WriteSnapshot(marked),
            log(
                marked,
                Level.INFO,
                "-----> Build "
                    + marked.buildId()
                    + " is superseded by build "
                    + newer
                    + ", a later push to "
                    + branch(marked)
                    + ": it stops after its current step")));
  }

  /** A superseded build ends: CANCELLED, naming the build that superseded it. */
  private Decision cancel(BuildSnapshot superseded) {
    BuildSnapshot cancelled =
        superseded.toBuilder()
            .state(BuildState.CANCELLED)
            .currentTaskId(null)
            .image(null)
            .imageDigest(null)
            .failedStage(null)
            .failure(null)
            .outcomePublished(false)
            .leaseExpiresAt(null)
            .updatedAt(clock.instant())
            .build();
    return finish(cancelled, log(cancelled, Level.INFO, "-----> " + cancelledMessage(cancelled)));
  }

  private static String cancelledMessage(BuildSnapshot cancelled) {
    TaskKind stage = lastStage(cancelled);
    return "Build "
        + cancelled.buildId()
        + " cancelled: build "
        + cancelled.supersededBy()
        + " of a later push to "
        + branch(cancelled)
        + " supersedes it"
        + (stage == null ? " (it had not started)" : " (stopped after " + stage + ")");
  }

  private static TaskKind lastStage(BuildSnapshot snapshot) {
    List<StepTiming> steps = snapshot.steps();
    return steps.isEmpty() ? null : steps.get(steps.size() - 1).kind();
  }

  private static String branch(BuildSnapshot snapshot) {
    PushEvent push = snapshot.push();
    return push.tenant() + "/" + push.app() + (push.ref() == null ? "" : " " + push.ref());
  }

  /**
   * A worker's result. Only the result of the build's current task moves the build on; anything
   * else is a redelivery or a leftover and is ignored.
   *
   * @param current the snapshot of {@code result.buildId()}, or null when it is unknown
   */
  Decision onResult(TaskResult result, BuildSnapshot current) {
    if (current == null) {
      return Decision.ignore(
          "result "
              + result.taskId()
              + " is for build "
              + result.buildId()
              + ", which this coordinator does not know");
    }
    if (current.state().isFinal()) {
      return Decision.ignore(
          "result "
              + result.taskId()
              + " arrived after build "
              + current.buildId()
              + " had "
              + current.state()
              + "; duplicate or late delivery");
    }
    if (!result.taskId().equals(current.currentTaskId())
        || result.kind() != currentKind(current)
        || result.attempt() != current.attempt()) {
      // Only the exact id issued (with its random part) counts: a guessed or replayed id is
      // dropped.
      return Decision.ignore(
          "result "
              + result.taskId()
              + " is not build "
              + current.buildId()
              + "'s current task "
              + current.currentTaskId()
              + "; duplicate, stale or forged");
    }
    // Timed before deciding, so that every way the result ends the step (including a failure the
    // coordinator itself finds in it) shows in the report.
    BuildSnapshot timed = withStep(current, StepTiming.ran(result, clock.instant()));
    if (current.supersededBy() != null) {
      return cancel(timed); // a step boundary: whatever the step did, a newer push builds now
    }
    if (!result.succeeded()) {
      return fail(timed, result.kind(), result.failure(), true);
    }
    return switch (result.kind()) {
      case DETECT -> afterDetect(timed, result);
      case INSTALL -> afterInstall(timed, result.layer(), false);
      case ASSEMBLE -> succeed(timed, result.image(), result.imageDigest());
    };
  }

  /**
   * Replaces a planned INSTALL with the dependency layer the action cache already has: the build
   * goes straight to ASSEMBLE and no worker installs anything.
   *
   * @param planned a decision whose snapshot is INSTALLING (see {@link Decision#installTask()})
   */
  Decision reuseLayer(Decision planned, DependencyLayer cached) {
    BuildSnapshot installing = planned.next();
    if (installing == null
        || installing.state() != BuildState.INSTALLING
        || planned.installTask().isEmpty()) {
      throw new IllegalArgumentException(
          "only a decision that starts an INSTALL can reuse a layer");
    }
    if (!installing.dependencyKey().equals(cached.key())) {
      throw new IllegalArgumentException(
          "cached layer "
              + cached.key()
              + " is not for dependency set "
              + installing.dependencyKey());
    }
    DependencyLayer reused = cached.asReused();
    List<Action> earlier = new ArrayList<>();
    for (Action action : planned.actions()) {
      if (action instanceof Action.Log) {
        earlier.add(action);
      }
    }
    BuildSnapshot skippedInstall =
        withStep(installing, StepTiming.skipped(TaskKind.INSTALL, installing.currentTaskId()));
    Decision assemble = afterInstall(skippedInstall, reused, true);
    List<Action> actions = new ArrayList<>(assemble.actions());
    actions.addAll(1, earlier);
    return new Decision(assemble.next(), actions);
  }

  /**
   * Replaces a planned INSTALL with waiting for the same dependency set's install that another
   * build of the tenant has in flight: the snapshot is written (INSTALLING, no lease) but no task
   * is sent. The coordinator keeps the build parked in memory and carries it on with {@link
   * #unpark} when that install is over; a coordinator that restarts re-sends its INSTALL at {@link
   * #resume}.
   *
   * @param planned a decision whose snapshot is INSTALLING (see {@link Decision#installTask()})
   * @param installing the build whose INSTALL of the same set is in flight
   */
  Decision park(Decision planned, String installing) {
    BuildSnapshot waiting = planned.next();
    if (waiting == null
        || waiting.state() != BuildState.INSTALLING
        || planned.installTask().isEmpty()) {
      throw new IllegalArgumentException("only a decision that starts an INSTALL can wait for one");
    }
    List<Action> actions = new ArrayList<>();
    for (Action action : planned.actions()) {
      if (action instanceof Action.WriteSnapshot || action instanceof Action.Log) {
        actions.add(action);
      }
    }
    if (actions.stream().noneMatch(Action.WriteSnapshot.class::isInstance)) {
      actions.add(0, new Action.WriteSnapshot(waiting));
    }
    actions.add(
        log(
            waiting,
            Level.INFO,
            "-----> Waiting for build "
                + installing
                + ", which installs the same dependency set "
                + shortKey(waiting.dependencyKey())
                + " right now; its layer is reused once it is installed"));
    return new Decision(waiting, actions);
  }

  /**
   * A parked build's turn (see {@link #park}): the INSTALL it waited with is planned again, for the
   * coordinator to look the layer up first ({@link #reuseLayer} on a hit). A parked build that a
   * newer push superseded ends CANCELLED instead: it has no task whose result would end it.
   *
   * @param why the log line saying why it goes on
   */
  Decision unpark(BuildSnapshot waiting, String why) {
    if (waiting.state() != BuildState.INSTALLING || waiting.leaseExpiresAt() != null) {
      return Decision.ignore(
          "build "
              + waiting.buildId()
              + " no longer waits for an install ("
              + waiting.state()
              + (waiting.leaseExpiresAt() != null ? ", its INSTALL is claimed" : "")
              + ")");
    }
    if (waiting.supersededBy() != null) {
      return cancel(waiting);
    }
    return new Decision(
        waiting,
        List.of(
            log(waiting, Level.INFO, "-----> " + why),
            new Action.PublishTask(taskFor(waiting, null))));
  }

  /**
   * {@link #supersede} of a parked build (see {@link #park}): it ends CANCELLED at once, since no
   * task of it is out whose result would be its step boundary.
   */
  Decision supersedeWaiting(BuildSnapshot waiting, String newer) {
    if (waiting.state() != BuildState.INSTALLING) {
      return supersede(waiting, newer);
    }
    return cancel(
        waiting.toBuilder()
            .supersededBy(newer)
            .queuedReason(null)
            .updatedAt(clock.instant())
            .build());
  }

  /**
   * A build this coordinator just took over (read back from {@code kiln.builds}), with its claimed
   * task's lease running at least a whole lease from now. The heartbeats its worker sent while no
   * coordinator owned the partition are still unread on {@code kiln.results}, behind the restore:
   * judged by the old deadline, tasks whose workers are alive and working would be issued again. A
   * worker that did die is found one lease later.
   */
  BuildSnapshot takenOver(BuildSnapshot snapshot) {
    if (snapshot.state().isFinal() || snapshot.leaseExpiresAt() == null) {
      return snapshot;
    }
    Instant fresh = clock.instant().plus(lease);
    return snapshot.leaseExpiresAt().isBefore(fresh)
        ? snapshot.toBuilder().leaseExpiresAt(fresh).build()
        : snapshot;
  }

  /**
   * What a new coordinator does for a build it took over ({@link #takenOver}): re-send the current
   * task of an unfinished build that no worker has claimed yet (workers are idempotent and late
   * results are ignored), leave a claimed task to its worker (its lease says for how long), or
   * publish the outcome of a finished build if that never got acknowledged.
   */
  Decision resume(BuildSnapshot snapshot, String previousPython) {
    if (snapshot.state() == BuildState.QUEUED) {
      return Decision.ignore(
          "build " + snapshot.buildId() + " waits for a slot of its tenant's quota");
    }
    if (!snapshot.state().isFinal()) {
      if (snapshot.leaseExpiresAt() != null) {
        // A worker claimed the task and renews it: it is running, re-sending it would only run
        // it twice. If that worker is gone, the lease runs out and the step is issued again.
        return Decision.ignore(
            "build "
                + snapshot.buildId()
                + "'s task "
                + snapshot.currentTaskId()
                + " is claimed by a worker until "
                + snapshot.leaseExpiresAt());
      }
      List<Action> actions = new ArrayList<>();
      if (!BuildTask.isUnguessable(snapshot.currentTaskId())) {
        // Written by a coordinator whose task ids could be guessed: issue an unguessable one.
        snapshot =
            snapshot.toBuilder()
                .currentTaskId(
                    BuildTask.taskId(snapshot.buildId(), currentKind(snapshot), snapshot.attempt()))
                .build();
        actions.add(new Action.WriteSnapshot(snapshot));
      }
      BuildTask task = taskFor(snapshot, previousPython);
      actions.addAll(
          List.of(
              log(
                  snapshot,
                  Level.INFO,
                  "-----> Resuming build "
                      + snapshot.buildId()
                      + " after a coordinator restart:"
                      + " re-sending "
                      + task.taskId()),
              new Action.PublishTask(task)));
      return new Decision(snapshot, actions);
    }
    if (snapshot.outcomePublished()) {
      return Decision.ignore(
          "build " + snapshot.buildId() + " is finished and its outcome published");
    }
    BuildSnapshot published = withOutcomePublished(snapshot);
    return new Decision(published, List.of(outcome(snapshot), new Action.WriteSnapshot(published)));
  }

  /**
   * A worker's sign of life: the first one claims the build's current task and starts its lease,
   * every later one starts the lease again. A heartbeat of any other task (an earlier attempt, a
   * finished build) renews nothing.
   */
  Decision onHeartbeat(TaskHeartbeat heartbeat, BuildSnapshot current) {
    if (current == null
        || current.state().isFinal()
        || !heartbeat.taskId().equals(current.currentTaskId())
        || heartbeat.attempt() != current.attempt()) {
      return Decision.ignore(
          "heartbeat of "
              + heartbeat.taskId()
              + " from "
              + heartbeat.worker()
              + " is not for build "
              + heartbeat.buildId()
              + "'s current task; it renews nothing");
    }
    BuildSnapshot renewed = current.toBuilder().leaseExpiresAt(clock.instant().plus(lease)).build();
    return new Decision(renewed, List.of(new Action.WriteSnapshot(renewed)));
  }

  /** True when the snapshot's current task has a lease and it has run out. */
  boolean leaseExpired(BuildSnapshot snapshot) {
    return !snapshot.state().isFinal()
        && snapshot.state() != BuildState.QUEUED
        && snapshot.leaseExpiresAt() != null
        && !clock.instant().isBefore(snapshot.leaseExpiresAt());
  }

  /**
   * The current task's lease ran out: its worker stopped, crashed or lost Kafka. The step is issued
   * again with the next attempt (a new task id, so a late result of the lost attempt moves
   * nothing), or, after {@code maxAttempts}, the build fails {@value #WORKER_LOST}.
   */
  Decision onLeaseExpired(BuildSnapshot current, String previousPython) {
    if (!leaseExpired(current)) {
      return Decision.ignore(
          "build "
              + current.buildId()
              + " has no task whose lease ran out ("
              + current.state()
              + ")");
    }
    if (current.supersededBy() != null) {
      return cancel(current); // no need to run again what a newer push replaces
    }
    TaskKind kind = currentKind(current);
    String lost = current.currentTaskId();
    if (current.attempt() >= maxAttempts) {
      return fail(current, kind, workerLost(current, kind));
    }
    int next = current.attempt() + 1;
    Instant now = clock.instant();
    BuildSnapshot retried =
        current.toBuilder()
            .attempt(next)
            .currentTaskId(BuildTask.taskId(current.buildId(), kind, next))
            .leaseExpiresAt(null)
            .updatedAt(now)
            .build();
    return new Decision(
        retried,
        List.of(
            new Action.WriteSnapshot(retried),
            log(
                retried,
                Level.WARNING,
                "-----> No sign of life from the worker running "
                    + lost
                    + " for "
                    + describe(lease)
                    + " (it stopped, crashed or lost its connection to Kafka); running "
                    + kind
                    + " again, attempt "
                    + next
                    + " of "
                    + maxAttempts),
            new Action.PublishTask(taskFor(retried, previousPython))));
  }

  private CodedMessage workerLost(BuildSnapshot current, TaskKind kind) {
    return new CodedMessage(
        WORKER_LOST,
        "No worker finished the "
            + kind
            + " step: each of its "
            + maxAttempts
            + " attempts went "
            + describe(lease)
            + " without a sign of life from the worker running it (the last was "
            + current.currentTaskId()
            + "). Workers stop renewing a task when they crash, are killed (out of memory, a"
            + " container limit), or lose their connection to Kafka. Check the workers' logs and"
            + " memory limits around this build, and that they reach the broker; when the"
            + " workers are healthy, push a new commit of the app to build it again. If the step"
            + " itself makes workers crash, the build log shows where it stopped.");
  }

  private static String describe(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
  }

  /** The task a non-final snapshot waits for, with the tenant's indexes and the lease. */
  BuildTask taskFor(BuildSnapshot snapshot, String previousPython) {
    BuildTask task =
        currentTask(snapshot, previousPython, indexesOf.apply(snapshot.push().tenant()))
            .withLeaseMillis(lease.toMillis());
    return task.kind() == TaskKind.DETECT
        ? task.withBuildpackLevel(
            buildpackLevelOf.apply(snapshot.push().tenant(), snapshot.push().app()))
        : task;
  }

  /** The task a non-final snapshot is waiting for, rebuilt from the snapshot alone. */
  static BuildTask currentTask(BuildSnapshot snapshot, String previousPython) {
    return currentTask(snapshot, previousPython, List.of());
  }

  static BuildTask currentTask(
      BuildSnapshot snapshot, String previousPython, List<IndexRef> indexes) {
    PushEvent push = snapshot.push();
    TaskKind kind = currentKind(snapshot);
    if (kind == null) {
      throw new IllegalArgumentException(
          "build " + snapshot.buildId() + " is " + snapshot.state() + " and waits for no task");
    }
    return new BuildTask(
            snapshot.buildId(),
            snapshot.currentTaskId(),
            kind,
            snapshot.attempt(),
            push.tenant(),
            push.app(),
            push.repoUrl(),
            push.commit(),
            push.appSpec(),
            push.buildEnv(),
            kind == TaskKind.DETECT ? previousPython : null,
            kind == TaskKind.DETECT ? null : snapshot.plan(),
            kind == TaskKind.DETECT ? null : snapshot.dependencyKey(),
            kind == TaskKind.ASSEMBLE ? snapshot.layer() : null,
            indexes)
        .withCi(push.isCi());
  }

  private static TaskKind currentKind(BuildSnapshot snapshot) {
    return switch (snapshot.state()) {
      case QUEUED -> null;
      case DETECTING -> TaskKind.DETECT;
      case INSTALLING -> TaskKind.INSTALL;
      case ASSEMBLING -> TaskKind.ASSEMBLE;
      case SUCCEEDED, FAILED, CANCELLED -> null;
    };
  }

  private Decision afterDetect(BuildSnapshot detecting, TaskResult result) {
    BuildPlanSummary plan = result.plan();
    boolean dockerfile =
        DOCKERFILE_STRATEGY.equals(
            plan.strategy() == null ? null : plan.strategy().toLowerCase(Locale.ROOT));
    Instant now = clock.instant();
    // A Dockerfile build installs nothing: the ASSEMBLE worker's Dockerfile builder does it all
    // (a worker without one fails the ASSEMBLE with dockerfile::no-builder).
    if (dockerfile || plan.packageManager() == null) {
      BuildSnapshot skippedInstall =
          withStep(
              detecting,
              StepTiming.skipped(
                  TaskKind.INSTALL,
                  BuildTask.taskId(detecting.buildId(), TaskKind.INSTALL, FIRST_ATTEMPT)));
      BuildSnapshot assembling =
          transition(
              skippedInstall, BuildState.ASSEMBLING, TaskKind.ASSEMBLE, plan, null, null, now);
      return new Decision(
          assembling,
          List.of(
              new Action.WriteSnapshot(assembling),
              log(
                  assembling,
                  Level.INFO,
                  dockerfile
                      ? "-----> Dockerfile build; skipping the dependency install"
                      : "-----> No package manager in the build plan; skipping the dependency"
                          + " install"),
              new Action.PublishTask(taskFor(assembling, null))));
    }
    String dependencyKey = result.dependencyKey();
    if (dependencyKey == null || dependencyKey.isBlank()) {
      return fail(
          detecting,
          TaskKind.DETECT,
          new CodedMessage(
              MISSING_DEPENDENCY_KEY,
              "The DETECT result chose package manager "
                  + plan.packageManager()
                  + " but carries no"
                  + " dependencyKey, so the coordinator cannot schedule the install. This is a worker"
                  + " bug: run workers that send the dependency-set digest with every DETECT result,"
                  + " then push again."));
    }
    BuildSnapshot installing =
        transition(
            detecting, BuildState.INSTALLING, TaskKind.INSTALL, plan, dependencyKey, null, now);
    return new Decision(
        installing,
        List.of(
            new Action.WriteSnapshot(installing),
            new Action.PublishTask(taskFor(installing, null))));
  }

  private Decision afterInstall(
      BuildSnapshot installing, DependencyLayer layer, boolean fromCache) {
    if (layer == null) {
      return fail(
          installing,
          TaskKind.INSTALL,
          new CodedMessage(
              MISSING_LAYER,
              "The INSTALL result succeeded but names no dependency layer. This is a worker bug:"
                  + " run workers that report the layer they installed, then push again."));
    }
    BuildSnapshot assembling =
        transition(
            installing,
            BuildState.ASSEMBLING,
            TaskKind.ASSEMBLE,
            installing.plan(),
            installing.dependencyKey(),
            layer,
            clock.instant());
    List<Action> actions = new ArrayList<>();
    actions.add(new Action.WriteSnapshot(assembling));
    if (fromCache) {
      actions.add(
          log(
              assembling,
              Level.INFO,
              "-----> Reused dependency layer "
                  + shortKey(layer.key())
                  + " ("
                  + layer.distributions().size()
                  + " distributions, "
                  + layer.blob()
                  + ") from the action cache; skipping the install"));
    }
    actions.add(new Action.PublishTask(taskFor(assembling, null)));
    return new Decision(assembling, actions);
  }

  private Decision succeed(BuildSnapshot assembling, String image, Digest digest) {
    BuildSnapshot succeeded =
        assembling.toBuilder()
            .state(BuildState.SUCCEEDED)
            .image(image)
            .imageDigest(digest)
            .failedStage(null)
            .failure(null)
            .outcomePublished(false)
            .leaseExpiresAt(null)
            .updatedAt(clock.instant())
            .build();
    return finish(
        succeeded,
        log(
            succeeded,
            Level.INFO,
            "-----> Build " + succeeded.buildId() + " succeeded: " + image + "@" + digest));
  }

  private Decision fail(BuildSnapshot current, TaskKind stage, CodedMessage failure) {
    return fail(current, stage, failure, false);
  }

  /**
   * @param shownByWorker the worker already wrote the failure's framed block (code and message) to
   *     the build's log: it is shown once, so the last line only names the stage and code
   */
  private Decision fail(
      BuildSnapshot current, TaskKind stage, CodedMessage failure, boolean shownByWorker) {
    BuildSnapshot failed =
        current.toBuilder()
            .state(BuildState.FAILED)
            .image(null)
            .imageDigest(null)
            .failedStage(stage)
            .failure(failure)
            .outcomePublished(false)
            .leaseExpiresAt(null)
            .updatedAt(clock.instant())
            .build();
    return finish(
        failed,
        log(
            failed,
            Level.ERROR,
            (shownByWorker ? "" : framed(failure))
                + " !     Build "
                + failed.buildId()
                + " failed at "
                + stage
                + " ["
                + failure.code()
                + "]"));
  }

  /** A failure as the build log frames it (the worker's own failures look the same). */
  private static String framed(CodedMessage failure) {
    StringBuilder block = new StringBuilder(" !     Error: ").append(failure.code()).append('\n');
    for (String line : failure.message().split("\n")) {
      block.append(" !     ").append(line).append('\n');
    }
    return block.toString();
  }

  /**
   * A final snapshot, then the log line and the outcome event, then the same snapshot marked
   * published: after a crash between the two writes, resume publishes the outcome again.
   */
  private Decision finish(BuildSnapshot finished, Action logLine) {
    BuildSnapshot published = withOutcomePublished(finished);
    return new Decision(
        published,
        List.of(
            new Action.WriteSnapshot(finished),
            logLine,
            outcome(finished),
            new Action.WriteSnapshot(published)));
  }

  /** The image-ready or build-failed event of a final snapshot. */
  private Action outcome(BuildSnapshot finished) {
    PushEvent push = finished.push();
    Instant at = finished.updatedAt();
    if (finished.state() == BuildState.SUCCEEDED) {
      BuildPlanSummary plan = finished.plan();
      return new Action.PublishImageReady(
          new ImageReady(
              finished.buildId(),
              push.tenant(),
              push.app(),
              push.commit(),
              push.ref(),
              finished.image(),
              finished.imageDigest(),
              plan == null ? null : plan.pythonVersion(),
              plan == null ? null : plan.runCommand(),
              plan == null ? List.of() : plan.warnings(),
              at,
              push.isCi(),
              plan == null ? java.util.Map.of() : plan.processes()));
    }
    if (finished.state() == BuildState.CANCELLED) {
      return new Action.PublishBuildCancelled(
          new BuildCancelled(
              finished.buildId(),
              push.tenant(),
              push.app(),
              push.commit(),
              push.ref(),
              finished.supersededBy(),
              lastStage(finished),
              cancelledMessage(finished),
              at));
    }
    CodedMessage failure = finished.failure();
    return new Action.PublishBuildFailed(
        new BuildFailed(
            finished.buildId(),
            push.tenant(),
            push.app(),
            push.commit(),
            finished.failedStage(),
            failure.code(),
            failure.message(),
            at));
  }

  private BuildSnapshot withOutcomePublished(BuildSnapshot s) {
    return s.toBuilder().outcomePublished(true).updatedAt(clock.instant()).build();
  }

  /** The snapshot with one more step timing and otherwise unchanged. */
  private static BuildSnapshot withStep(BuildSnapshot s, StepTiming step) {
    List<StepTiming> steps = new ArrayList<>(s.steps());
    steps.add(step);
    return s.toBuilder().steps(steps).build();
  }

  private BuildSnapshot transition(
      BuildSnapshot from,
      BuildState state,
      TaskKind nextTask,
      BuildPlanSummary plan,
      String dependencyKey,
      DependencyLayer layer,
      Instant now) {
    // Every step starts at attempt 1: attempts count how often one step was issued.
    return from.toBuilder()
        .state(state)
        .attempt(FIRST_ATTEMPT)
        .currentTaskId(BuildTask.taskId(from.buildId(), nextTask, FIRST_ATTEMPT))
        .plan(plan)
        .dependencyKey(dependencyKey)
        .layer(layer)
        .image(null)
        .imageDigest(null)
        .failedStage(null)
        .failure(null)
        .outcomePublished(false)
        .leaseExpiresAt(null)
        .updatedAt(now)
        .build();
  }

  private static Action.Log log(BuildSnapshot snapshot, Level level, String text) {
    TaskKind stage = currentKind(snapshot);
    if (stage == null) {
      stage = snapshot.failedStage() != null ? snapshot.failedStage() : TaskKind.ASSEMBLE;
    }
    return new Action.Log(snapshot.buildId(), snapshot.currentTaskId(), stage, level, text);
  }

  private static String shortCommit(String commit) {
    return commit.length() > 12 ? commit.substring(0, 12) : commit;
  }

  private static String shortKey(String key) {
    return key.length() > 16 ? key.substring(0, 16) + "…" : key;
  }
}
