package dev.kiln.worker.install;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.cache.client.CacheServiceClient;
import dev.kiln.cache.client.CacheServiceClientException;
import dev.kiln.events.BuildPlanSummary;
import dev.kiln.events.BuildTask;
import dev.kiln.events.DependencyLayer;
import dev.kiln.events.Digest;
import dev.kiln.events.EventCodec;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.LockedSet;
import dev.kiln.installer.ResolvedSet;
import dev.kiln.installer.TargetEnvironment;
import dev.kiln.installer.lock.Locks;
import dev.kiln.worker.buildsteps.BuildStepRunner;
import dev.kiln.worker.fs.BackgroundDeleter;
import dev.kiln.worker.fs.ScratchSlots;
import dev.kiln.worker.runtime.RuntimeStore;
import dev.kiln.worker.sandbox.SandboxException;
import dev.kiln.worker.sandbox.SandboxOutcome;
import dev.kiln.worker.steps.BuildStep;
import dev.kiln.worker.steps.LogSink;
import dev.kiln.worker.steps.StepContext;
import dev.kiln.worker.steps.StepFailure;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * INSTALL: the build's dependencies as one reproducible, uncompressed layer tar in the
 * cache-service, built by Kiln itself rather than by a package manager (docs/worker.md, "The
 * install engine").
 *
 * <ol>
 *   <li>The action cache is asked for the build's install key: inputs seen before (by any app for a
 *       lock, by this app for unpinned requirements) cost one lookup.
 *   <li>The inputs become a locked set: a lock ({@code uv.lock}, {@code poetry.lock}, {@code
 *       Pipfile.lock}, {@code pylock.toml}, hashed requirements) is read for the target, stale
 *       locks failing as the package managers fail; unpinned inputs are resolved by pip under the
 *       target's Python in the build sandbox, and that resolution is remembered for this app.
 *   <li>A file is chosen per distribution for the target's tags and checked against the index; the
 *       resolved set's digest is looked up, so different locks of the same set share a layer.
 *   <li>Otherwise the layer is built from stored wheel fragments ({@link LayerBuilder}).
 * </ol>
 *
 * The action entries are written last, so an entry always names complete blobs. Local projects are
 * recorded in the layer and built into the app layer at ASSEMBLE.
 */
public final class InstallStep implements BuildStep<DependencyLayer> {
  public static final String PACKAGE_NOT_FOUND = "install::package-not-found";
  public static final String FAILED = "install::failed";
  public static final String CACHE_UNAVAILABLE = "install::cache-unavailable";

  private static final Pattern KEY = Pattern.compile("[0-9a-f]{64}");

  /**
   * How INSTALL runs on this worker. The target is not a setting: it comes from the plan's runtime
   * (its Python and glibc), so the wheels match the image they go into.
   *
   * @param python the worker's python3, which runs pip only for builds with {@code
   *     PIP_EXTRA_INDEX_URL}
   */
  public record Settings(Path workDir, String python, Duration pipTimeout) {
    public Settings {
      Objects.requireNonNull(workDir, "workDir");
      Objects.requireNonNull(python, "python");
      Objects.requireNonNull(pipTimeout, "pipTimeout");
    }

    public static Settings defaults(Path workDir) {
      return new Settings(workDir, "python3", Duration.ofMinutes(30));
    }
  }

  /**
   * What INSTALL needs of the build sandbox: the runtimes (their root file systems), pip in the
   * sandbox and where pip comes from. Without it, locked sets of wheels still install; resolutions
   * and sdist builds fail with {@code sandbox::unavailable}.
   */
  public record Sandboxed(RuntimeStore runtimes, SandboxPip pip, PipTool pipTool) {
    public Sandboxed {
      Objects.requireNonNull(runtimes, "runtimes");
      Objects.requireNonNull(pip, "pip");
      Objects.requireNonNull(pipTool, "pipTool");
    }
  }

  private final CacheServiceClient cache;
  private final Settings settings;
  private final ScratchSlots slots;
  private final Sandboxed sandboxed;
  private final FileChoice fileChoice;
  private final LayerBuilder layers;
  private final Resolution resolution;

  /** INSTALL without a build sandbox: locked sets of wheels only. */
  public InstallStep(CacheServiceClient cache, Settings settings, BackgroundDeleter deleter) {
    this(cache, settings, deleter, null);
  }

  public InstallStep(
      CacheServiceClient cache, Settings settings, BackgroundDeleter deleter, Sandboxed sandboxed) {
    this.cache = Objects.requireNonNull(cache, "cache");
    this.settings = Objects.requireNonNull(settings, "settings");
    this.slots = new ScratchSlots(settings.workDir().resolve("scratch"), deleter);
    this.sandboxed = sandboxed;
    this.fileChoice = new FileChoice(cache);
    this.layers = new LayerBuilder(cache, settings.workDir());
    this.resolution = sandboxed == null ? null : new Resolution(cache, sandboxed.pip());
  }

  @Override
  public DependencyLayer run(StepContext ctx) throws StepFailure {
    BuildTask task = ctx.task();
    BuildPlanSummary plan = task.plan();
    String key = task.dependencyKey();
    if (plan == null || key == null || !KEY.matcher(key).matches()) {
      throw new IllegalArgumentException(
          "an INSTALL task needs the DETECT plan and a 64-hex dependency key; got plan="
              + plan
              + " key="
              + key);
    }
    LogSink log = ctx.log();
    Path checkout = ctx.sourceDir();
    Map<String, byte[]> files = InstallInputs.read(checkout, plan);
    Optional<PrivateIndex> privateIndex = PrivateIndex.of(task, files);
    Optional<DependencyLayer> cached = lookUp(key, log);
    if (cached.isPresent()) {
      DependencyLayer layer = cached.get();
      log.info(
          "-----> Reusing the installed dependencies ("
              + layer.distributions().size()
              + " packages, installed earlier for the same inputs)");
      return layer;
    }
    privateIndex.ifPresent(
        index ->
            log.info(
                "-----> PIP_EXTRA_INDEX_URL names the private index "
                    + index.shownAs()
                    + ": pip reads it through Kiln's cache-service, for this tenant only"));
    TargetEnvironment target = InstallInputs.target(plan);
    Path sourceRoot = InstallInputs.sourceRoot(checkout, plan);
    String manager = plan.packageManager() == null ? "" : plan.packageManager();
    boolean ci = task.isCi();
    Source source = Source.of(manager, files, ci);
    try (ScratchSlots.Slot slot = slots.acquire()) {
      Path scratch = slot.fresh("install");
      LockedSet locked =
          lockedSet(
              key,
              manager,
              files,
              source,
              target,
              sourceRoot,
              privateIndex.orElse(null),
              ci,
              scratch,
              log);
      ResolvedSet set = fileChoice.choose(locked, target, source.shownAs(), source.fix());
      // A worker with the sandbox compiles bytecode into the fragments; one without cannot, and
      // its layers are other layers.
      CacheServiceClient.Scope scope = LayerBuilder.scopeOf(set);
      String setKey =
          setKey(
              set.digest(target.pythonMinor(), LayerBuilder.layoutVersion(sandboxed != null)),
              scope,
              task.tenant());
      Optional<DependencyLayer> sameSet = lookUp(setKey, log);
      if (sameSet.isPresent()) {
        DependencyLayer layer =
            sameSet
                .get()
                .withKey(key)
                .withLocalProjects(
                    set.localProjects().stream()
                        .map(p -> new DependencyLayer.LocalProject(p.path(), p.editable()))
                        .toList());
        remember(layer, scope);
        log.info(
            "       Reusing the dependency layer of the same "
                + set.distributions().size()
                + " distributions, installed earlier from other inputs");
        return layer;
      }
      log.info(
          "-----> Installing "
              + set.distributions().size()
              + " distributions without a package manager");
      LayerBuilder.Built built =
          layers.build(
              key,
              set,
              target,
              sourceRoot,
              sdistBuilder(plan, target),
              bytecode(target),
              scratch,
              log);
      DependencyLayer layer = built.layer();
      remember(layer.withKey(setKey), scope);
      remember(layer, scope);
      LayerBuilder.Counts counts = built.counts();
      log.info(
          "       "
              + counts.fetched()
              + " wheels fetched, "
              + counts.unpacked()
              + " unpacked fresh"
              + (counts.bytecode() && counts.unpacked() > 0 ? " (bytecode compiled)" : "")
              + ", "
              + counts.reused()
              + " reused"
              + (counts.builtFromSource() > 0
                  ? ", " + counts.builtFromSource() + " built from sdists"
                  : ""));
      log.info("       Installed: " + String.join(", ", layer.distributions()));
      if (!layer.localProjects().isEmpty()) {
        log.info(
            "       Local projects (built into the app layer): "
                + String.join(
                    ", ",
                    layer.localProjects().stream()
                        .map(p -> (p.editable() ? "-e " : "") + p.path())
                        .toList()));
      }
      log.info(
          "       Dependency layer "
              + layer.blob()
              + " ("
              + layer.size()
              + " bytes) stored for reuse");
      return layer;
    } catch (IOException e) {
      throw new StepFailure(
          FAILED,
          "the worker could not prepare a scratch directory: "
              + e.getMessage()
              + "; check free space and permissions of "
              + settings.workDir(),
          e);
    }
  }

  /** Where the set comes from, as messages name it. */
  private record Source(String shownAs, String fix) {
    static Source of(String manager, Map<String, byte[]> files, boolean ci) {
      return switch (manager) {
        case Locks.UV -> new Source("uv.lock", "uv lock");
        case Locks.POETRY -> new Source("poetry.lock", "poetry lock");
        case Locks.PIPENV ->
            files.containsKey("Pipfile.lock")
                ? new Source("Pipfile.lock", "pipenv lock")
                : new Source("Pipfile", null);
        case Locks.PYLOCK ->
            new Source(
                files.keySet().stream()
                    .filter(f -> f.startsWith("pylock."))
                    .findFirst()
                    .orElse("pylock.toml"),
                null);
        default -> {
          String shownAs = files.containsKey("requirements.txt") ? "requirements.txt" : "setup.py";
          yield new Source(
              testRequirements(manager, files, ci)
                  ? shownAs + " and " + Locks.REQUIREMENTS_TEST
                  : shownAs,
              null);
        }
      };
    }
  }

  private LockedSet lockedSet(
      String key,
      String manager,
      Map<String, byte[]> files,
      Source source,
      TargetEnvironment target,
      Path sourceRoot,
      PrivateIndex privateIndex,
      boolean ci,
      Path scratch,
      LogSink log)
      throws StepFailure {
    Optional<LockedSet> locked;
    try {
      // With a private index pip resolves even a locked set: only it can say which of the names
      // the private index serves (pip still checks every hash the lock pins).
      locked = privateIndex == null ? Locks.read(manager, files, target, ci) : Optional.empty();
    } catch (InstallerException e) {
      throw new StepFailure(e.code(), e.getMessage(), e);
    }
    if (locked.isPresent()) {
      log.info(
          "-----> Reading "
              + source.shownAs()
              + " for Python "
              + target.pythonVersion()
              + ": "
              + locked.get().distributions().size()
              + " distributions");
      return locked.get();
    }
    if (resolution == null) {
      throw new StepFailure(
          BuildStepRunner.SANDBOX_UNAVAILABLE,
          source.shownAs()
              + " does not pin every dependency with a hash, so pip must resolve it under the"
              + " image's Python in the build sandbox, and this worker runs none. Start the workers"
              + " with the build sandbox, or commit a lock file.");
    }
    Optional<LockedSet> remembered = resolution.remembered(key);
    if (remembered.isPresent()) {
      log.info(
          "-----> Using this app's earlier resolution of "
              + source.shownAs()
              + " (it has not changed)");
      return remembered.get();
    }
    Resolution.Sandbox sandbox = sandbox(target, log);
    byte[] pipfile = Locks.PIPENV.equals(manager) ? files.get("Pipfile") : null;
    List<String> groups;
    try {
      groups = ci ? Locks.ciDependencyGroups(manager, files.get("pyproject.toml")) : List.of();
    } catch (InstallerException e) {
      throw new StepFailure(e.code(), e.getMessage(), e);
    }
    return resolution.resolve(
        key,
        manager,
        sourceRoot,
        pipfile,
        ci,
        testRequirements(manager, files, ci),
        groups,
        sandbox,
        privateIndex,
        scratch,
        target.pythonVersion(),
        log);
  }

  /**
   * Whether a pip app's {@code requirements-test.txt} is installed: in a CI build, when the plan
   * named it among the inputs (the classic buildpack's {@code bin/test-compile}).
   */
  private static boolean testRequirements(String manager, Map<String, byte[]> files, boolean ci) {
    return ci && Locks.PIP.equals(manager) && files.containsKey(Locks.REQUIREMENTS_TEST);
  }

  private Resolution.Sandbox sandbox(TargetEnvironment target, LogSink log) throws StepFailure {
    RuntimeStore.VerifiedRuntime runtime =
        sandboxed.runtimes().forPython(target.pythonVersion(), log);
    Path rootfs = sandboxed.runtimes().rootfs(runtime, log);
    return new Resolution.Sandbox(rootfs, sandboxed.pipTool().forTarget(target, log));
  }

  /** Bytecode compiled by the runtime's own Python in the sandbox; none without a sandbox. */
  private LayerBuilder.Bytecode bytecode(TargetEnvironment target) {
    if (sandboxed == null) {
      return null;
    }
    return (trees, log) -> {
      RuntimeStore.VerifiedRuntime runtime =
          sandboxed.runtimes().forPython(target.pythonVersion(), log);
      Path rootfs = sandboxed.runtimes().rootfs(runtime, log);
      SandboxOutcome outcome;
      try {
        outcome = sandboxed.pip().compileAll(rootfs, trees, line -> {});
      } catch (SandboxException e) {
        throw new StepFailure(
            BuildStepRunner.SANDBOX_UNAVAILABLE,
            "The build sandbox could not start to compile bytecode: " + e.getMessage(),
            e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new StepFailure(FAILED, "bytecode compilation was interrupted", e);
      }
      if (!outcome.succeeded()) {
        throw new StepFailure(
            FAILED,
            "the runtime's Python could not compile the dependencies' bytecode (exit status "
                + outcome.exitCode()
                + ", "
                + outcome.ending()
                + "): "
                + outcome.tailText());
      }
    };
  }

  private LayerBuilder.SdistWheels sdistBuilder(BuildPlanSummary plan, TargetEnvironment target) {
    if (sandboxed == null) {
      return null;
    }
    SourceBuilds builds = new SourceBuilds(sandboxed.pip());
    return (sdist, sdistFile, outputDir, log) -> {
      Resolution.Sandbox sandbox = sandbox(target, log);
      return builds.sdist(
          sandbox.rootfs(),
          sandbox.pip(),
          sdistFile.getParent(),
          sdistFile.getFileName().toString(),
          outputDir,
          sdist.name() + " " + sdist.version(),
          log);
    };
  }

  private Optional<DependencyLayer> lookUp(String key, LogSink log) throws StepFailure {
    Optional<String> json;
    try {
      json = cache.getAction(key);
    } catch (CacheServiceClientException e) {
      throw cacheUnavailable(e);
    }
    if (json.isEmpty()) {
      return Optional.empty();
    }
    try {
      DependencyLayer stored =
          EventCodec.mapper()
              .readValue(json.get().getBytes(StandardCharsets.UTF_8), DependencyLayer.class);
      if (!key.equals(stored.key()) || stored.blob() == null) {
        log.warn("       The cached entry for these inputs is not a layer; installing again");
        return Optional.empty();
      }
      return Optional.of(stored.asReused());
    } catch (IOException | IllegalArgumentException e) {
      log.warn(
          "       The cached entry for these inputs is unreadable ("
              + e.getMessage()
              + "); installing again");
      return Optional.empty();
    }
  }

  private void remember(DependencyLayer layer, CacheServiceClient.Scope scope) throws StepFailure {
    remember(cache, layer, scope);
  }

  /**
   * The key a resolved set's layer is filed under. A set with files of the tenant's own (its
   * repository's, its private indexes') is keyed for that tenant too, so no other tenant's set can
   * ever name it, whatever it contains.
   */
  static String setKey(Digest setDigest, CacheServiceClient.Scope scope, String tenant) {
    if (scope == CacheServiceClient.Scope.PUBLIC) {
      return setDigest.hex();
    }
    MessageDigest sha256 = Digest.newSha256();
    for (String field : List.of("kiln-tenant-set-v1", setDigest.hex(), tenant)) {
      byte[] bytes = field.getBytes(StandardCharsets.UTF_8);
      sha256.update(ByteBuffer.allocate(Long.BYTES).putLong(bytes.length).array());
      sha256.update(bytes);
    }
    return Digest.fromSha256(sha256).hex();
  }

  /**
   * Files the layer under its key, naming its blob so the entry lives only as long as it; a {@link
   * CacheServiceClient.Scope#TENANT} entry is the tenant's alone.
   */
  static void remember(
      CacheServiceClient cache, DependencyLayer layer, CacheServiceClient.Scope scope)
      throws StepFailure {
    ObjectNode entry = EventCodec.mapper().valueToTree(layer);
    entry.putArray("blobs").add(layer.blob().toString());
    try {
      cache.putAction(layer.key(), entry.toString(), scope);
    } catch (CacheServiceClientException e) {
      throw cacheUnavailable(e);
    }
  }

  static StepFailure cacheUnavailable(CacheServiceClientException e) {
    return new StepFailure(
        CACHE_UNAVAILABLE,
        "the cache-service did not answer as expected: "
            + e.getMessage()
            + "; the build can be retried once it is reachable again",
        e);
  }
}
