package dev.kiln.worker.buildsteps;

import dev.kiln.buildpack.BuildStepRules;
import dev.kiln.events.Digest;
import dev.kiln.worker.fetch.SourceSnapshots;
import dev.kiln.worker.fs.AppTree;
import dev.kiln.worker.fs.ScratchSlots;
import dev.kiln.worker.runtime.RuntimeStore;
import dev.kiln.worker.steps.LogSink;
import dev.kiln.worker.steps.StepFailure;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * {@code bin/pre_compile}, which the buildpack runs before it looks at the app's package manager:
 * it runs in the sandbox on a private copy of the repository, DETECT plans on what it left, and the
 * copy is stored as a {@link SourceSnapshots snapshot} that INSTALL and ASSEMBLE build from.
 */
public final class PreCompile {
  private final RuntimeStore runtimes;
  private final BuildStepRunner runner;
  private final SourceSnapshots snapshots;
  private final ScratchSlots slots;

  public PreCompile(
      RuntimeStore runtimes,
      BuildStepRunner runner,
      SourceSnapshots snapshots,
      ScratchSlots slots) {
    this.runtimes = Objects.requireNonNull(runtimes, "runtimes");
    this.runner = Objects.requireNonNull(runner, "runner");
    this.snapshots = Objects.requireNonNull(snapshots, "snapshots");
    this.slots = Objects.requireNonNull(slots, "slots");
  }

  /** The repository after the hook ran; close it once the plan is made from it. */
  public static final class Run implements AutoCloseable {
    private final ScratchSlots.Slot slot;
    private final Path repository;
    private final Digest snapshot;

    private Run(ScratchSlots.Slot slot, Path repository, Digest snapshot) {
      this.slot = slot;
      this.repository = repository;
      this.snapshot = snapshot;
    }

    /** The copy of the repository the hook changed. */
    public Path repository() {
      return repository;
    }

    /** The stored snapshot of {@link #repository()}. */
    public Digest snapshot() {
      return snapshot;
    }

    @Override
    public void close() throws IOException {
      slot.close();
    }
  }

  /**
   * Runs the hook.
   *
   * @param checkout the fetched repository
   * @param sourceDir the app's directory in it ({@code .} for the root)
   * @param pythonVersion the runtime the hook runs on
   * @param buildEnv the app's build-time variables
   * @param tenant the tenant the build is for
   */
  public Run run(
      BuildStepRules.Hook hook,
      Path checkout,
      String sourceDir,
      String pythonVersion,
      Map<String, String> buildEnv,
      String tenant,
      LogSink log)
      throws StepFailure {
    RuntimeStore.VerifiedRuntime runtime = runtimes.forPython(pythonVersion, log);
    Path rootfs = runtimes.rootfs(runtime, log);
    ScratchSlots.Slot slot = null;
    try {
      slot = slots.acquire();
      Path repository = slot.fresh("repository");
      AppTree.copy(checkout, repository);
      Path app =
          sourceDir == null || sourceDir.equals(".") ? repository : repository.resolve(sourceDir);
      runner.runHook(hook, new BuildStepRunner.Workspace(rootfs, app, null, buildEnv, tenant), log);
      Digest snapshot = snapshots.store(repository, slot.dir().resolve("snapshot.tar"));
      Run run = new Run(slot, repository, snapshot);
      slot = null;
      return run;
    } catch (IOException e) {
      throw new StepFailure(
          BuildStepRunner.PRE_COMPILE_FAILED,
          "The worker could not prepare a copy of the app for bin/pre_compile: "
              + e.getMessage()
              + "; check free space and permissions of its work directory.",
          e);
    } finally {
      if (slot != null) {
        try {
          slot.close();
        } catch (IOException e) {
          log.warn("       Could not release a scratch directory: " + e.getMessage());
        }
      }
    }
  }
}
