package dev.kiln.worker.assemble;

import dev.kiln.buildpack.RuntimeCatalog;
import dev.kiln.events.BuildIds;
import dev.kiln.events.BuildPlanSummary;
import dev.kiln.events.BuildTask;
import dev.kiln.events.DependencyLayer;
import dev.kiln.events.Digest;
import dev.kiln.events.TaskKind;
import dev.kiln.worker.buildsteps.BuildStepRunner;
import dev.kiln.worker.fs.BackgroundDeleter;
import dev.kiln.worker.runtime.RuntimeStore;
import dev.kiln.worker.sandbox.Sandbox;
import dev.kiln.worker.sandbox.SandboxLimits;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;

/** The inputs of an ASSEMBLE test: a source tree, a dependency layer tar and a base image. */
final class AssembleFixture {
  static final String TENANT = "acme";
  static final String APP = "shop";
  static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
  static final String PYTHON = "3.12.7";
  static final String GLIBC = "2.36";
  static final String RUN_COMMAND = "gunicorn app:app --bind 0.0.0.0:$PORT";

  private AssembleFixture() {}

  /** A small app checkout, {@code .git} included. */
  static Path writeSource(Path dir) throws IOException {
    Files.createDirectories(dir.resolve(".git/objects"));
    Files.writeString(dir.resolve(".git/HEAD"), "ref: refs/heads/main\n");
    Files.writeString(
        dir.resolve("app.py"),
        "def app(environ, start_response):\n    start_response('200 OK', [])\n    return [b'hi']\n");
    Files.writeString(dir.resolve("Procfile"), "web: " + RUN_COMMAND + "\n");
    Files.writeString(dir.resolve("requirements.txt"), "gunicorn==23.0.0\n");
    Files.createDirectories(dir.resolve("static"));
    Files.writeString(dir.resolve("static/style.css"), "body { color: black }\n");
    Files.createDirectories(dir.resolve("bin"));
    Path script = dir.resolve("bin/migrate.sh");
    Files.writeString(script, "#!/bin/sh\necho migrated\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    return dir;
  }

  /** A dependency layer as INSTALL stores it: paths relative to {@code /opt/kiln/deps}. */
  static byte[] dependencyLayerTar() throws IOException {
    return new TestTars.Layer()
        .directory("gunicorn")
        .file("gunicorn/__init__.py", "version_info = (23, 0, 0)\n", 0644)
        .directory("gunicorn-23.0.0.dist-info")
        .file("gunicorn-23.0.0.dist-info/METADATA", "Name: gunicorn\nVersion: 23.0.0\n", 0644)
        .directory("bin")
        .file("bin/gunicorn", "#!/usr/bin/env python3\nimport gunicorn\n", 0755)
        .bytes();
  }

  /** A {@code docker save} base image with a couple of plain files and an environment. */
  static Path writeBaseImage(Path dir) throws IOException {
    Path rootfs = dir.resolve("base-rootfs");
    Files.createDirectories(rootfs.resolve("etc"));
    Files.writeString(rootfs.resolve("etc/os-release"), "ID=kiln-test\n");
    Files.createDirectories(rootfs.resolve("usr/local/bin"));
    Path python = rootfs.resolve("usr/local/bin/python3");
    Files.writeString(python, "#!/bin/sh\necho 'Python " + PYTHON + "'\n");
    Files.setPosixFilePermissions(python, PosixFilePermissions.fromString("rwxr-xr-x"));
    return TestTars.dockerSave(
        rootfs,
        "kiln-test/python:" + PYTHON,
        List.of("PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "PYTHON_VERSION=" + PYTHON),
        Map.of("dev.kiln.runtime.python-version", PYTHON, "dev.kiln.runtime.glibc", GLIBC),
        dir.resolve("python-" + PYTHON + ".tar"));
  }

  /**
   * A runtime store whose catalog has exactly {@code images} (Python version → image reference),
   * each on glibc {@value #GLIBC}.
   */
  static RuntimeStore runtimes(Path dir, Map<String, String> images, ExecutorService jib) {
    RuntimeCatalog catalog =
        RuntimeCatalog.of(
            images.entrySet().stream()
                .map(e -> new RuntimeCatalog.Runtime(e.getKey(), e.getValue(), GLIBC))
                .toList());
    return new RuntimeStore(
        RuntimeStore.Settings.in(dir.resolve("runtimes")).withoutMachineCache(),
        catalog,
        new Sandbox(Sandbox.Settings.defaults()),
        jib);
  }

  /** ASSEMBLE with the usual parts around {@code runtimes}. */
  static AssembleStep.Builder step(
      Path workDir,
      RuntimeStore runtimes,
      ImageTarget target,
      LayerBlobSource blobs,
      String cacheServiceUrl,
      BackgroundDeleter deleter,
      ExecutorService jib) {
    return AssembleStep.builder()
        .runtimes(runtimes)
        .target(target)
        .layerBlobs(blobs)
        .buildSteps(
            new BuildStepRunner(
                new Sandbox(Sandbox.Settings.defaults()),
                java.net.URI.create(cacheServiceUrl),
                SandboxLimits.defaults()))
        .deleter(deleter)
        .workDir(workDir)
        .jibExecutor(jib);
  }

  static BuildPlanSummary plan(String packageManager, Map<String, String> runtimeEnv) {
    return plan(PYTHON, packageManager, RUN_COMMAND, runtimeEnv);
  }

  static BuildPlanSummary plan(
      String python, String packageManager, String runCommand, Map<String, String> runtimeEnv) {
    return new BuildPlanSummary(
        "buildpack",
        null,
        python,
        python,
        ".python-version",
        null,
        "2.36",
        packageManager,
        packageManager == null ? List.of() : List.of("requirements.txt"),
        runCommand,
        "Procfile",
        runtimeEnv,
        List.of(),
        null);
  }

  static BuildTask task(BuildPlanSummary plan, Digest layerBlob) {
    return task(plan, layerBlob, TENANT, APP);
  }

  static BuildTask task(BuildPlanSummary plan, Digest layerBlob, String tenant, String app) {
    return task(plan, layerBlob, tenant, app, COMMIT);
  }

  static BuildTask task(
      BuildPlanSummary plan, Digest layerBlob, String tenant, String app, String commit) {
    String buildId = BuildIds.of(tenant, app, commit);
    DependencyLayer layer =
        layerBlob == null
            ? null
            : new DependencyLayer("deps-key", layerBlob, 0, List.of("gunicorn==23.0.0"), false);
    return new BuildTask(
        buildId,
        BuildTask.taskId(buildId, TaskKind.ASSEMBLE, 1),
        TaskKind.ASSEMBLE,
        1,
        tenant,
        app,
        "file:///srv/git/shop",
        commit,
        null,
        Map.of(),
        null,
        plan,
        "deps-key",
        layer);
  }
}
