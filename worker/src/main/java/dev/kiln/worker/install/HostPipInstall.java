package dev.kiln.worker.install;

import dev.kiln.cache.client.CacheServiceClient;
import dev.kiln.cache.client.CacheServiceClientException;
import dev.kiln.events.BuildPlanSummary;
import dev.kiln.events.BuildTask;
import dev.kiln.events.DependencyLayer;
import dev.kiln.events.Digest;
import dev.kiln.worker.fs.BackgroundDeleter;
import dev.kiln.worker.fs.ScratchSlots;
import dev.kiln.worker.process.ExternalProcess;
import dev.kiln.worker.steps.BuildStep;
import dev.kiln.worker.steps.LogSink;
import dev.kiln.worker.steps.StepContext;
import dev.kiln.worker.steps.StepFailure;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The install of a build whose app sets {@code PIP_EXTRA_INDEX_URL}: pip on the worker, for the
 * image's Python and platform, reaching that index directly. Kiln's own engine reaches only Kiln's
 * index (the build sandbox has no other network), and proxying a tenant's private index through the
 * cache-service is the tenants issue's work; until then these builds keep the pip install they had,
 * and everything else installs without pip.
 *
 * <p>pip installs the set into a scratch directory; console-script shebangs are made portable, the
 * installed distributions are listed, the tree is written as a tar (paths relative to the
 * dependency root, which ASSEMBLE places at {@code /opt/kiln/deps}), stored in the CAS, and the
 * action entry is written last, so an entry always names a complete blob.
 */
final class HostPipInstall implements BuildStep<DependencyLayer> {
  private static final String PACKAGE_NOT_FOUND = InstallStep.PACKAGE_NOT_FOUND;
  private static final String FAILED = InstallStep.FAILED;
  private static final String PACKAGE_MANAGER_UNSUPPORTED = InstallStep.PACKAGE_MANAGER_UNSUPPORTED;
  private static final String CACHE_UNAVAILABLE = InstallStep.CACHE_UNAVAILABLE;

  private static final Pattern KEY = Pattern.compile("[0-9a-f]{64}");
  private static final int PIP_TAIL_LINES = 200;

  private final CacheServiceClient cache;
  private final InstallStep.Settings settings;
  private final ScratchSlots slots;

  HostPipInstall(
      CacheServiceClient cache, InstallStep.Settings settings, BackgroundDeleter deleter) {
    this.cache = Objects.requireNonNull(cache, "cache");
    this.settings = Objects.requireNonNull(settings, "settings");
    this.slots = new ScratchSlots(settings.workDir().resolve("scratch"), deleter);
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
    Path sourceRoot = InstallInputs.sourceRoot(checkout, plan);
    try (ScratchSlots.Slot slot = slots.acquire()) {
      Path deps = slot.fresh("deps");
      Path wheels = slot.fresh("wheels");
      Path tmp = slot.fresh("tmp");
      Requirements requirements = requirements(plan, checkout, sourceRoot, slot);
      log.info("-----> Installing dependencies with " + requirements.describedAs());
      runPip(ctx, plan, sourceRoot, deps, wheels, tmp, requirements);

      DistInfoCleanup.removeDirectUrls(deps);
      int scripts = ConsoleScripts.rewriteShebangs(deps.resolve("bin"));
      List<String> distributions = InstalledDistributions.list(deps);
      Path tar = slot.dir().resolve("layer.tar");
      LayerTar.Written written = LayerTar.write(deps, tar);
      Digest blob = store(tar, written);
      Files.deleteIfExists(tar);
      DependencyLayer layer = new DependencyLayer(key, blob, written.size(), distributions, false);
      InstallStep.remember(cache, layer, CacheServiceClient.Scope.TENANT);
      log.info(
          "       Installed "
              + distributions.size()
              + " packages: "
              + String.join(", ", distributions));
      if (scripts > 0) {
        log.info("       Pointed " + scripts + " console script(s) at the image's python3");
      }
      log.info(
          "       Dependency layer "
              + blob
              + " ("
              + written.size()
              + " bytes, "
              + written.entries()
              + " entries) stored for reuse");
      return layer;
    } catch (IOException e) {
      throw new StepFailure(
          FAILED,
          "the worker could not prepare or package the dependencies: "
              + e.getMessage()
              + "; check free space and permissions of "
              + settings.workDir(),
          e);
    }
  }

  private Digest store(Path tar, LayerTar.Written written) throws StepFailure {
    try {
      Digest stored = cache.putBlob(tar, CacheServiceClient.Scope.TENANT);
      if (!stored.equals(written.sha256())) {
        throw new StepFailure(
            FAILED,
            "the dependency layer changed while it was uploaded ("
                + written.sha256()
                + " became "
                + stored
                + "); nothing else may write to "
                + tar.getParent());
      }
      return stored;
    } catch (CacheServiceClientException e) {
      throw InstallStep.cacheUnavailable(e);
    }
  }

  /** What pip reads: the app's requirements file, or one written from a lockfile. */
  private record Requirements(Path file, String shownName, boolean locked, String describedAs) {}

  private Requirements requirements(
      BuildPlanSummary plan, Path checkout, Path sourceRoot, ScratchSlots.Slot slot)
      throws StepFailure, IOException {
    // Files may link anywhere inside the repository (a monorepo's shared requirements), never out.
    String prefix =
        plan.sourceDir() == null || plan.sourceDir().equals(".") ? "" : plan.sourceDir() + "/";
    String manager = plan.packageManager() == null ? "" : plan.packageManager();
    List<String> files = plan.packageManagerFiles();
    switch (manager) {
      case "pip" -> {
        if (files.contains("requirements.txt")
            || Files.isRegularFile(sourceRoot.resolve("requirements.txt"))) {
          return new Requirements(
              InstallInputs.inside(checkout, checkout, prefix + "requirements.txt"),
              "requirements.txt",
              false,
              "pip (requirements.txt)");
        }
        throw new StepFailure(
            PACKAGE_MANAGER_UNSUPPORTED,
            "This app sets PIP_EXTRA_INDEX_URL and has a setup.py but no requirements.txt. Builds"
                + " with an extra index install with pip on the worker, which takes"
                + " requirements.txt or Pipfile.lock only (until the cache-service proxies private"
                + " indexes). Add a requirements.txt listing the app's dependencies.");
      }
      case "pipenv" -> {
        Path lockFile = sourceRoot.resolve("Pipfile.lock");
        if (!Files.isRegularFile(lockFile)) {
          throw new StepFailure(
              PACKAGE_MANAGER_UNSUPPORTED,
              "This app sets PIP_EXTRA_INDEX_URL and has a Pipfile but no Pipfile.lock. Builds"
                  + " with an extra index install Pipenv apps from their lock only: run `pipenv"
                  + " lock` and commit Pipfile.lock.");
        }
        PipfileLockRequirements.Converted converted =
            PipfileLockRequirements.convert(
                Files.readAllBytes(
                    InstallInputs.inside(checkout, checkout, prefix + "Pipfile.lock")));
        Path written = slot.dir().resolve("requirements-from-Pipfile.lock.txt");
        Files.write(
            written,
            (String.join("\n", converted.lines()) + "\n").getBytes(StandardCharsets.UTF_8));
        return new Requirements(
            written,
            "Pipfile.lock",
            true,
            "pip from Pipfile.lock ("
                + converted.lines().size()
                + " pinned packages"
                + (converted.hashed() ? ", hashes checked" : "")
                + ")");
      }
      case "poetry", "uv" ->
          throw new StepFailure(
              PACKAGE_MANAGER_UNSUPPORTED,
              "This app sets PIP_EXTRA_INDEX_URL: builds with an extra index install with pip on"
                  + " the worker (until the cache-service proxies private indexes), which cannot"
                  + " read a "
                  + manager
                  + " lock. Export the locked dependencies to a requirements.txt ("
                  + ("poetry".equals(manager)
                      ? "`poetry export --only main -f requirements.txt -o requirements.txt`"
                      : "`uv export --no-dev --format requirements-txt -o requirements.txt`")
                  + "), commit it and remove "
                  + ("poetry".equals(manager) ? "poetry.lock" : "uv.lock")
                  + " from the repository root, then push again.");
      default ->
          throw new StepFailure(
              PACKAGE_MANAGER_UNSUPPORTED,
              "This app sets PIP_EXTRA_INDEX_URL, so it installs with pip on the worker, which"
                  + " reads requirements.txt or Pipfile.lock, not '"
                  + manager
                  + "'; add a requirements.txt to the app's source directory.");
    }
  }

  private void runPip(
      StepContext ctx,
      BuildPlanSummary plan,
      Path sourceRoot,
      Path deps,
      Path wheels,
      Path tmp,
      Requirements requirements)
      throws StepFailure, IOException {
    Map<String, String> env =
        PipCommand.environment(System.getenv(), ctx.task().buildTimeEnv(), tmp);
    TargetPlatform platform = TargetPlatform.forRuntimeGlibc(plan.glibc());
    ExternalProcess.Outcome download =
        pip(
            ctx,
            sourceRoot,
            env,
            PipCommand.download(
                settings.python(),
                wheels,
                plan.pythonVersion(),
                platform,
                cache.indexUrl(),
                settings.workDir().resolve("pip-cache"),
                requirements.file(),
                requirements.locked()));
    if (!download.succeeded()) {
      throw PipFailures.classify(
          download,
          requirements.shownName(),
          plan.pythonVersion(),
          platform,
          cache.indexUrl(),
          settings.pipTimeout().toMinutes() + " minutes");
    }
    List<Path> resolved;
    try (Stream<Path> files = Files.list(wheels)) {
      resolved = files.filter(f -> f.getFileName().toString().endsWith(".whl")).sorted().toList();
    }
    if (resolved.isEmpty()) {
      ctx.log().info("       No packages to install");
      return;
    }
    ExternalProcess.Outcome install =
        pip(
            ctx,
            sourceRoot,
            env,
            PipCommand.installWheels(
                settings.python(), deps, plan.pythonVersion(), platform, resolved));
    if (!install.succeeded()) {
      throw PipFailures.classify(
          install,
          requirements.shownName(),
          plan.pythonVersion(),
          platform,
          cache.indexUrl(),
          settings.pipTimeout().toMinutes() + " minutes");
    }
  }

  private ExternalProcess.Outcome pip(
      StepContext ctx, Path sourceRoot, Map<String, String> env, List<String> command)
      throws StepFailure {
    try {
      return new ExternalProcess(command, sourceRoot, env, settings.pipTimeout(), PIP_TAIL_LINES)
          .run(line -> ctx.log().info("       " + line));
    } catch (IOException e) {
      throw new StepFailure(
          FAILED,
          "could not start "
              + settings.python()
              + " -m pip ("
              + e.getMessage()
              + "); install Python 3 with pip on the worker",
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StepFailure(
          FAILED, "the install was interrupted because the worker is stopping", e);
    }
  }
}
