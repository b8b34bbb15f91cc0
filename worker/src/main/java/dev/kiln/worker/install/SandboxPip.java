package dev.kiln.worker.install;

import dev.kiln.worker.sandbox.IndexAccess;
import dev.kiln.worker.sandbox.Sandbox;
import dev.kiln.worker.sandbox.SandboxException;
import dev.kiln.worker.sandbox.SandboxLimits;
import dev.kiln.worker.sandbox.SandboxOutcome;
import dev.kiln.worker.sandbox.SandboxSpec;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * pip, run by the target runtime's own Python in the build sandbox: the only places Kiln still runs
 * pip are a resolution of unpinned requirements and a wheel build (an sdist, a local project).
 * Because the interpreter is the image's, pip judges markers, {@code Requires-Python} and wheel
 * tags (glibc included) for the image, not for the worker.
 *
 * <p>pip itself comes from Kiln's index (see {@link PipTool}) and is mounted read-only at {@value
 * #PIP_DIR}; the app's source (a private copy: builds write {@code build/} and {@code *.egg-info}
 * into it) at {@code /app}; results go to {@value #OUT_DIR}. The only network is Kiln's index; no
 * secret and no build variable reaches pip, and {@code SOURCE_DATE_EPOCH} makes built wheels
 * reproducible.
 */
public final class SandboxPip {
  static final String PIP_DIR = "/tmp/kiln/pip";
  static final String OUT_DIR = "/tmp/kiln/out";
  static final String INPUT_DIR = "/tmp/kiln/in";
  static final String SOURCE_DIR = "/app";

  /** 1980-01-01, the earliest time a zip entry can hold. */
  static final String SOURCE_DATE_EPOCH = "315532800";

  /**
   * Where pip runs: the runtime, pip, the directories it reads and writes, and the tenant it works
   * for (whose private indexes it may read; null for the public index only).
   */
  public record Workspace(
      Path rootfs, Path pip, Path source, Path input, Path output, String tenant) {
    public Workspace {
      Objects.requireNonNull(rootfs, "rootfs");
      Objects.requireNonNull(pip, "pip");
      Objects.requireNonNull(output, "output");
    }

    public Workspace(Path rootfs, Path pip, Path source, Path input, Path output) {
      this(rootfs, pip, source, input, output, null);
    }
  }

  private final Sandbox sandbox;
  private final IndexAccess index;
  private final SandboxLimits limits;

  public SandboxPip(Sandbox sandbox, IndexAccess index, SandboxLimits limits) {
    this.sandbox = Objects.requireNonNull(sandbox, "sandbox");
    this.index = Objects.requireNonNull(index, "index");
    this.limits = Objects.requireNonNull(limits, "limits");
  }

  /** pip that reaches a cache-service asking for no credential (tests). */
  public SandboxPip(Sandbox sandbox, URI cacheService, SandboxLimits limits) {
    this(sandbox, IndexAccess.anonymous(cacheService), limits);
  }

  public SandboxLimits limits() {
    return limits;
  }

  /**
   * {@code pip install --dry-run --ignore-installed --report}: resolves {@code requirementArgs}
   * (e.g. {@code -r requirements.txt}, {@code -e .}) from {@code /app} and writes pip's report to
   * {@code report.json} in the workspace's output directory. Nothing is installed.
   */
  public SandboxOutcome resolve(
      Workspace workspace, List<String> requirementArgs, Consumer<String> output)
      throws SandboxException, InterruptedException {
    List<String> command = pip("install");
    command.addAll(
        List.of("--dry-run", "--ignore-installed", "--report", OUT_DIR + "/report.json"));
    command.addAll(requirementArgs);
    return sandbox.run(spec(workspace, command, SOURCE_DIR), output);
  }

  /**
   * {@code pip wheel --no-deps}: builds one wheel from {@code target} (a path inside the sandbox:
   * an sdist under {@value #INPUT_DIR}, or a project directory under {@code /app}) with the build
   * backend it declares, into the workspace's output directory.
   */
  public SandboxOutcome buildWheel(Workspace workspace, String target, Consumer<String> output)
      throws SandboxException, InterruptedException {
    List<String> command = pip("wheel");
    command.addAll(List.of("--no-deps", "--wheel-dir", OUT_DIR, target));
    return sandbox.run(
        spec(workspace, command, workspace.source() == null ? OUT_DIR : SOURCE_DIR), output);
  }

  /** Where {@link #compileAll} mounts the trees it compiles. */
  static final String COMPILE_DIR = "/tmp/kiln/compile";

  /**
   * Compiles every {@code .py} under each top-level directory of {@code trees} to {@code
   * __pycache__/*.pyc} with the runtime's own {@code compileall}: {@code unchecked-hash} pycs (the
   * source's hash, not its mtime), each tree in a fresh interpreter with a fixed hash seed so the
   * same sources give the same bytes, source paths recorded as under {@code /opt/kiln/deps}. A file
   * that does not compile (Python 2 leftovers in some packages) is skipped, as pip skips it. No
   * network.
   */
  public SandboxOutcome compileAll(Path rootfs, Path trees, Consumer<String> output)
      throws SandboxException, InterruptedException {
    String script =
        "set -e\n"
            + "python3 -c 'import compileall'\n"
            + "for tree in "
            + COMPILE_DIR
            + "/*/; do\n"
            + "  PYTHONHASHSEED=0 python3 -m compileall -q --invalidation-mode unchecked-hash"
            + " -s \"$tree\" -p /opt/kiln/deps \"$tree\" >/dev/null 2>&1 || true\n"
            + "done\n";
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
    env.put("HOME", "/tmp");
    env.put("LC_ALL", "C.UTF-8");
    SandboxSpec spec =
        SandboxSpec.of(rootfs, List.of("/bin/sh", "-c", script))
            .withWorkingDirectory(COMPILE_DIR)
            .withEnvironment(env)
            .withLimits(limits)
            .withMount(SandboxSpec.Mount.writable(trees, COMPILE_DIR));
    return sandbox.run(spec, output);
  }

  private static List<String> pip(String subcommand) {
    return new ArrayList<>(
        List.of(
            "python3",
            "-m",
            "pip",
            subcommand,
            "--no-input",
            "--disable-pip-version-check",
            "--no-cache-dir",
            "--progress-bar",
            "off",
            "--index-url",
            Sandbox.INDEX_URL));
  }

  private SandboxSpec spec(Workspace workspace, List<String> command, String workingDirectory) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
    env.put("HOME", "/tmp");
    env.put("TMPDIR", "/tmp");
    env.put("LC_ALL", "C.UTF-8");
    env.put("PYTHONPATH", PIP_DIR);
    env.put("PYTHONDONTWRITEBYTECODE", "1");
    env.put("PYTHONNOUSERSITE", "1");
    env.put("PIP_CONFIG_FILE", "/dev/null");
    env.put("PIP_ROOT_USER_ACTION", "ignore");
    env.put("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH);
    SandboxSpec spec =
        SandboxSpec.of(workspace.rootfs(), command)
            .withWorkingDirectory(workingDirectory)
            .withEnvironment(env)
            .withIndex(index.forTenant(workspace.tenant()))
            .withLimits(limits)
            .withMount(SandboxSpec.Mount.readOnly(workspace.pip(), PIP_DIR))
            .withMount(SandboxSpec.Mount.writable(workspace.output(), OUT_DIR));
    if (workspace.input() != null) {
      spec = spec.withMount(SandboxSpec.Mount.readOnly(workspace.input(), INPUT_DIR));
    }
    if (workspace.source() != null) {
      spec = spec.withMount(SandboxSpec.Mount.writable(workspace.source(), SOURCE_DIR));
    }
    return spec;
  }
}
