package dev.kiln.worker;

import dev.kiln.events.BuildTask;
import dev.kiln.events.CodedMessage;
import dev.kiln.events.InvalidEventException;
import dev.kiln.events.TaskResult;
import dev.kiln.worker.fetch.SourceFetcher;
import dev.kiln.worker.fetch.SourceSnapshots;
import dev.kiln.worker.steps.BuildStep;
import dev.kiln.worker.steps.LogSink;
import dev.kiln.worker.steps.StepContext;
import dev.kiln.worker.steps.StepFailure;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one task to its result: fetch the commit, run the task kind's step, and turn whatever
 * happens into a {@link TaskResult}. Never throws: a step's {@link StepFailure} becomes a FAILED
 * result with its code, and anything unexpected becomes {@value #INTERNAL_ERROR}, so no task is
 * ever dropped silently. Blocking; runs on a worker thread.
 */
public final class TaskRunner {
  public static final String INTERNAL_ERROR = "worker::internal-error";
  public static final String UNSUPPORTED_TASK = "worker::unsupported-task";

  private static final Logger LOG = LoggerFactory.getLogger(TaskRunner.class);
  // Event text fields hold at most 4096 characters (see the events contract).
  private static final int MAX_MESSAGE_CHARS = 4000;

  private final String workerId;
  private final SourceFetcher fetcher;
  private final Function<String, SourceSnapshots> snapshots;
  private final Function<String, TaskSteps> steps;

  /**
   * @param snapshots where a build whose plan names a source snapshot (the app's files as {@code
   *     bin/pre_compile} left them) takes them from, instead of the commit
   */
  public TaskRunner(
      String workerId, SourceFetcher fetcher, SourceSnapshots snapshots, TaskSteps steps) {
    this(workerId, fetcher, tenant -> snapshots, tenant -> steps);
  }

  /**
   * A runner whose snapshots and steps act for each task's tenant: what they store in and read from
   * the cache-service is stored and read on behalf of that tenant, so one tenant's build can never
   * be handed another tenant's private blobs.
   */
  public TaskRunner(
      String workerId,
      SourceFetcher fetcher,
      Function<String, SourceSnapshots> snapshotsForTenant,
      Function<String, TaskSteps> stepsForTenant) {
    this.workerId = Objects.requireNonNull(workerId, "workerId");
    this.fetcher = Objects.requireNonNull(fetcher, "fetcher");
    this.snapshots = Objects.requireNonNull(snapshotsForTenant, "snapshotsForTenant");
    this.steps = Objects.requireNonNull(stepsForTenant, "stepsForTenant");
  }

  public TaskResult run(BuildTask task, LogSink log) {
    long started = System.nanoTime();
    try {
      Optional<BuildStep<TaskOutput>> step = steps.apply(task.tenant()).step(task.kind());
      if (step.isEmpty()) {
        return failed(
            task,
            new CodedMessage(
                UNSUPPORTED_TASK,
                "worker "
                    + workerId
                    + " cannot run "
                    + task.kind()
                    + " tasks: it was started without"
                    + " a "
                    + task.kind().name().toLowerCase(java.util.Locale.ROOT)
                    + " step. Start"
                    + " the workers with one configured; the task will be delivered again after a"
                    + " retry."),
            log,
            started);
      }
      Path source =
          task.plan() != null && task.plan().sourceSnapshot() != null
              ? snapshots.apply(task.tenant()).materialize(task.plan().sourceSnapshot(), log)
              : fetcher.fetch(task.tenant(), task.repoUrl(), task.commit(), log);
      TaskOutput output = step.get().run(new StepContext(task, source, log));
      TaskResult result =
          new TaskResult(
              task.buildId(),
              task.taskId(),
              task.kind(),
              task.attempt(),
              TaskResult.Outcome.SUCCEEDED,
              null,
              output.plan(),
              output.dependencyKey(),
              output.layer(),
              output.image(),
              output.imageDigest(),
              workerId,
              millisSince(started));
      result.validate();
      return result;
    } catch (StepFailure failure) {
      CodedMessage coded = new CodedMessage(failure.code(), fit(failure.getMessage()));
      if (failure.shownInLog()) {
        return TaskResult.failed(task, coded, workerId, millisSince(started));
      }
      return failed(task, coded, log, started);
    } catch (InvalidEventException e) {
      LOG.error("{} step of {} produced an invalid result", task.kind(), task.taskId(), e);
      return failed(
          task,
          internalError(task, "its result was incomplete (" + e.getMessage() + ")"),
          log,
          started);
    } catch (RuntimeException | Error e) {
      if (e instanceof VirtualMachineError && !(e instanceof StackOverflowError)) {
        throw (VirtualMachineError) e;
      }
      LOG.error("{} step of {} failed unexpectedly", task.kind(), task.taskId(), e);
      return failed(task, internalError(task, e.toString()), log, started);
    }
  }

  private CodedMessage internalError(BuildTask task, String what) {
    return new CodedMessage(
        INTERNAL_ERROR,
        fit(
            "worker "
                + workerId
                + " hit an internal error in the "
                + task.kind()
                + " step: "
                + what
                + ". This is a bug in Kiln, not in the app; push again to retry, and report it with"
                + " the build id "
                + task.buildId()
                + " if it happens again."));
  }

  private TaskResult failed(BuildTask task, CodedMessage failure, LogSink log, long started) {
    log.error(" !     Error: " + failure.code());
    for (String line : failure.message().split("\n")) {
      log.error(" !     " + line);
    }
    return TaskResult.failed(task, failure, workerId, millisSince(started));
  }

  static String fit(String message) {
    String text = message == null || message.isBlank() ? "(no message)" : message;
    return text.length() <= MAX_MESSAGE_CHARS
        ? text
        : text.substring(0, MAX_MESSAGE_CHARS - 1) + "…";
  }

  private static long millisSince(long startedNanos) {
    return (System.nanoTime() - startedNanos) / 1_000_000;
  }
}
