package dev.kiln.worker.sandbox;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The one place a build runs the app's own code (and the runtime's Python): bubblewrap around an
 * unpacked runtime root file system.
 *
 * <p>What a sandboxed command gets: the runtime's root file system read-only as {@code /}, the
 * mounts of its {@link SandboxSpec} (the app read-write at {@code /app}, the dependency tree
 * read-only at {@code /opt/kiln/deps}), a private {@code /tmp}, {@code /proc} and a minimal {@code
 * /dev}; uid/gid 1000 ({@code app}) inside a user namespace that maps to an unprivileged host user
 * ({@link Settings#sandboxUid()}) when the worker runs as root; new PID, IPC, UTS, cgroup and
 * network namespaces (only its own loopback; the package index through {@link IndexRelay} when the
 * spec asks for it); no capabilities, {@code no_new_privs}, no further user namespaces; exactly the
 * environment of the spec; memory, CPU and process limits through a cgroup (or prlimit) and a wall
 * clock limit after which the whole process tree is killed.
 *
 * <p>Blocking: run it on a worker thread.
 */
public final class Sandbox {
  /** Directories the root file system must have, because the sandbox mounts over them. */
  public static final List<String> MOUNT_POINTS =
      List.of("/app", "/tmp", "/opt/kiln/deps", "/opt/kiln/run");

  /** The loopback port inside the sandbox where the package index answers. */
  public static final int INDEX_PORT = 3141;

  /** {@code PIP_INDEX_URL} for a step that may use the index. */
  public static final String INDEX_URL = "http://127.0.0.1:" + INDEX_PORT + "/simple/";

  static final String RUN_DIRECTORY = "/opt/kiln/run";
  private static final int TAIL_LINES = 60;
  private static final Duration KILL_GRACE = Duration.ofSeconds(10);

  /**
   * A fresh procfs over {@code /proc}, in the run's private mount namespace only. bubblewrap, in
   * its own user namespace, may mount the sandbox's {@code /proc} only if a procfs with nothing
   * mounted over its files is already visible (the kernel's mount_too_revealing rule), and it needs
   * {@code /proc/sys} writable for {@code --disable-userns}. Inside a container Docker and
   * Kubernetes mask {@code /proc} (files covered, {@code /proc/sys} read-only), so without this a
   * containerised worker would need {@code systempaths=unconfined} or {@code procMount: Unmasked}.
   * The mount never reaches the sandbox (bubblewrap pivots to its own root) or the worker (the
   * namespace dies with the run); where it is refused, bubblewrap says why.
   */
  private static final String FRESH_PROC =
      "mount -t proc -o nosuid,nodev,noexec proc /proc 2>/dev/null;";

  /**
   * How this worker sandboxes.
   *
   * @param bubblewrap the {@code bwrap} binary
   * @param setpriv the {@code setpriv} binary (drops to the sandbox user when the worker is root)
   * @param prlimit the {@code prlimit} binary (limits when no cgroup can be made)
   * @param unshare the {@code unshare} binary (a private mount namespace for staging mounts)
   * @param sandboxUid the unprivileged host uid (and gid) sandboxed commands run as when the worker
   *     is root; files they write belong to it
   * @param runDirectoryRoot where per-run directories (the relay's Unix socket) are made; keep the
   *     path short, a socket path may have at most 107 bytes
   * @param useCgroups false forces the prlimit fallback
   */
  public record Settings(
      Path bubblewrap,
      Path setpriv,
      Path prlimit,
      Path unshare,
      int sandboxUid,
      Path runDirectoryRoot,
      boolean useCgroups) {
    public Settings {
      Objects.requireNonNull(bubblewrap, "bubblewrap");
      Objects.requireNonNull(setpriv, "setpriv");
      Objects.requireNonNull(prlimit, "prlimit");
      Objects.requireNonNull(unshare, "unshare");
      Objects.requireNonNull(runDirectoryRoot, "runDirectoryRoot");
      if (sandboxUid <= 0) {
        throw new IllegalArgumentException(
            "the sandbox uid must be an unprivileged user id, not " + sandboxUid);
      }
    }

    /**
     * {@code bwrap}, {@code setpriv} and {@code prlimit} from the system path, uid 65534 ({@code
     * nobody}), run directories under {@code /tmp}, cgroups when the worker may make them.
     */
    public static Settings defaults() {
      return new Settings(
          onPath("bwrap"),
          onPath("setpriv"),
          onPath("prlimit"),
          onPath("unshare"),
          65534,
          Path.of("/tmp"),
          true);
    }

    public Settings withSandboxUid(int uid) {
      return new Settings(bubblewrap, setpriv, prlimit, unshare, uid, runDirectoryRoot, useCgroups);
    }

    public Settings withoutCgroups() {
      return new Settings(
          bubblewrap, setpriv, prlimit, unshare, sandboxUid, runDirectoryRoot, false);
    }
  }

  private final Settings settings;
  private final Optional<Cgroups> cgroups;
  private final boolean root;

  private volatile Consumer<SandboxOutcome> observer = outcome -> {};

  /** Called with every run's outcome (its time, how it ended): the worker node counts them. */
  public void observeRuns(Consumer<SandboxOutcome> observer) {
    this.observer = java.util.Objects.requireNonNull(observer, "observer");
  }

  public Sandbox(Settings settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.root = runningAsRoot();
    this.cgroups = settings.useCgroups() ? Cgroups.detect() : Optional.empty();
  }

  /** How limits are enforced here, for the log: {@code cgroup v1}, {@code cgroup v2} or prlimit. */
  public String limitsEnforcedBy() {
    return cgroups.map(Cgroups::describe).orElse("prlimit");
  }

  /**
   * Checks that bubblewrap is installed and can make its namespaces here; the message says how to
   * fix it when not.
   */
  public void check() throws SandboxException {
    if (!Files.isExecutable(settings.bubblewrap())) {
      throw new SandboxException(
          "bubblewrap is not installed (no executable "
              + settings.bubblewrap()
              + "); the build sandbox needs it. Install it with: apt-get install -y bubblewrap");
    }
  }

  /**
   * Runs the command to its end, passing each output line (stdout and stderr merged) to {@code
   * output} as it comes.
   *
   * @throws SandboxException when the sandbox could not be set up; the command did not run
   * @throws InterruptedException when the worker stops; the command is killed first
   */
  public SandboxOutcome run(SandboxSpec spec, Consumer<String> output)
      throws SandboxException, InterruptedException {
    check();
    for (String mountPoint : MOUNT_POINTS) {
      if (!Files.isDirectory(
          spec.rootfs().resolve(mountPoint.substring(1)), LinkOption.NOFOLLOW_LINKS)) {
        throw new SandboxException(
            "the runtime root file system "
                + spec.rootfs()
                + " has no directory "
                + mountPoint
                + " to mount over; unpack it again (delete the directory) so Kiln adds it");
      }
    }
    String id = "kiln-" + UUID.randomUUID();
    Path runDirectory = null;
    Path statusDirectory = null;
    Path stage = null;
    IndexRelay relay = null;
    Cgroups.Group group = null;
    try {
      runDirectory = Files.createDirectory(settings.runDirectoryRoot().resolve(id));
      Files.setPosixFilePermissions(runDirectory, PosixFilePermissions.fromString("rwxr-xr-x"));
      statusDirectory = Files.createDirectory(settings.runDirectoryRoot().resolve(id + "-status"));
      Files.setPosixFilePermissions(statusDirectory, PosixFilePermissions.fromString("rwx------"));
      stage = Files.createDirectory(settings.runDirectoryRoot().resolve(id + "-mnt"));
      Files.setPosixFilePermissions(stage, PosixFilePermissions.fromString("rwxr-xr-x"));
      copyResource("enter.sh", runDirectory);
      copyResource("relay.py", runDirectory);
      Map<String, String> environment = new HashMap<>(spec.environment());
      if (spec.index() != null) {
        relay = IndexRelay.start(runDirectory.resolve("index.sock"), spec.index(), output);
        environment.put("KILN_SANDBOX_RELAY_PORT", Integer.toString(INDEX_PORT));
      }
      for (SandboxSpec.Mount mount : spec.mounts()) {
        if (!Files.isDirectory(mount.source())) {
          throw new SandboxException(
              "cannot mount " + mount.source() + " at " + mount.target() + ": not a directory");
        }
        if (mount.writable() && root) {
          chownTree(mount.source(), settings.sandboxUid());
        }
      }
      if (cgroups.isPresent()) {
        group = cgroups.get().create(id, spec.limits());
      }
      Path status = statusDirectory.resolve("status.json");
      List<String> command = commandLine(spec, runDirectory, stage, status, group);
      return execute(spec, command, environment, status, group, output);
    } catch (IOException e) {
      throw new SandboxException(
          "could not prepare the build sandbox: "
              + e.getMessage()
              + "; check free space and permissions of "
              + settings.runDirectoryRoot(),
          e);
    } finally {
      if (relay != null) {
        relay.close();
      }
      if (group != null) {
        group.remove();
      }
      deleteQuietly(runDirectory);
      deleteQuietly(statusDirectory);
      // Only empty staging points are left: the mounts on them lived in the run's namespace.
      deleteQuietly(stage);
    }
  }

  /**
   * The command line: a small launcher on the host, then bubblewrap. The launcher joins the run's
   * cgroups (so everything started later is inside them), opens the status file bubblewrap reports
   * to, and, when the worker is root, bind-mounts every directory the sandbox gets onto staging
   * points in a private mount namespace: the sandbox user could not reach them where they are (a
   * work directory under {@code /root} is mode 0700), and the staging mounts are invisible outside
   * this run. Then it drops to the sandbox user and becomes bubblewrap.
   */
  private List<String> commandLine(
      SandboxSpec spec, Path runDirectory, Path stage, Path status, Cgroups.Group group)
      throws IOException {
    List<String> command = new ArrayList<>();
    if (root) {
      command.addAll(
          List.of(settings.unshare().toString(), "--mount", "--propagation", "private", "--"));
    }
    command.add("/bin/sh");
    command.add("-c");
    command.add(
        (root ? FRESH_PROC : "")
            + "status=$1; shift;"
            + " while [ \"$1\" != -- ]; do echo $$ > \"$1\" || exit 125; shift; done; shift;"
            + " while [ \"$1\" != -- ]; do mount --bind -- \"$1\" \"$2\" || exit 125; shift 2;"
            + " done; shift;"
            + " exec 3>\"$status\" && exec \"$@\"");
    command.add("kiln-sandbox");
    command.add(status.toString());
    if (group != null) {
      group.procsFiles().forEach(file -> command.add(file.toString()));
    }
    command.add("--");
    Map<Path, Path> sources = new java.util.LinkedHashMap<>();
    sources.put(spec.rootfs(), null);
    sources.put(runDirectory, null);
    spec.mounts().forEach(mount -> sources.put(mount.source(), null));
    int next = 0;
    for (Map.Entry<Path, Path> source : sources.entrySet()) {
      if (root) {
        Path point = Files.createDirectory(stage.resolve(Integer.toString(next++)));
        command.add(source.getKey().toString());
        command.add(point.toString());
        source.setValue(point);
      } else {
        source.setValue(source.getKey());
      }
    }
    command.add("--");
    if (group == null) {
      SandboxLimits limits = spec.limits();
      command.add(settings.prlimit().toString());
      command.add("--as=" + limits.memoryBytes());
      command.add("--nproc=" + limits.maxProcesses());
      command.add("--cpu=" + Math.max(1, limits.time().toSeconds()));
    }
    if (root) {
      String uid = Integer.toString(settings.sandboxUid());
      command.addAll(
          List.of(
              settings.setpriv().toString(),
              "--reuid=" + uid,
              "--regid=" + uid,
              "--clear-groups",
              "--no-new-privs",
              "--"));
    }
    command.addAll(
        List.of(
            settings.bubblewrap().toString(),
            "--unshare-all",
            "--unshare-user",
            "--disable-userns",
            "--die-with-parent",
            "--new-session",
            "--hostname",
            "kiln-build",
            "--uid",
            "1000",
            "--gid",
            "1000",
            "--ro-bind",
            sources.get(spec.rootfs()).toString(),
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--tmpfs",
            "/tmp",
            "--ro-bind",
            sources.get(runDirectory).toString(),
            RUN_DIRECTORY));
    for (SandboxSpec.Mount mount : spec.mounts()) {
      command.add(mount.writable() ? "--bind" : "--ro-bind");
      command.add(sources.get(mount.source()).toString());
      command.add(mount.target());
    }
    command.addAll(
        List.of(
            "--chdir",
            spec.workingDirectory(),
            "--json-status-fd",
            "3",
            "--",
            "/bin/sh",
            RUN_DIRECTORY + "/enter.sh"));
    command.addAll(spec.command());
    return command;
  }

  private SandboxOutcome execute(
      SandboxSpec spec,
      List<String> command,
      Map<String, String> environment,
      Path status,
      Cgroups.Group group,
      Consumer<String> output)
      throws IOException, InterruptedException, SandboxException {
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().clear();
    builder.environment().putAll(environment);
    builder.directory(new File("/"));
    builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    long started = System.nanoTime();
    Process process = builder.start();
    OutputPump pump =
        new OutputPump(process.getInputStream(), output, spec.limits().maxOutputLines());
    Thread reader = new Thread(pump, "kiln-sandbox-output");
    reader.setDaemon(true);
    reader.start();
    boolean finished;
    try {
      finished = process.waitFor(spec.limits().time().toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      kill(process, group);
      throw e;
    }
    if (!finished) {
      kill(process, group);
    }
    // The pipe closes once every process of the sandbox is gone.
    reader.join(KILL_GRACE.toMillis());
    Duration elapsed = Duration.ofNanos(System.nanoTime() - started);
    String statusText = Files.exists(status) ? Files.readString(status) : "";
    // bubblewrap reports the command's exit code only once the command ran; without it, the
    // sandbox itself could not be made (a refused mount, no user namespaces).
    if (finished && !statusText.contains("\"exit-code\"")) {
      throw new SandboxException(
          "the build sandbox could not be set up (exit status "
              + process.exitValue()
              + "): "
              + pump.tailText().strip()
              + ". It needs bubblewrap, user namespaces (sysctl user.max_user_namespaces > 0)"
              + " and, when Kiln runs as root, unshare, mount and setpriv from util-linux.");
    }
    SandboxOutcome.Ending ending;
    if (!finished) {
      ending = SandboxOutcome.Ending.TIMED_OUT;
    } else if (group != null && group.outOfMemory()) {
      ending = SandboxOutcome.Ending.OUT_OF_MEMORY;
    } else {
      ending = SandboxOutcome.Ending.EXITED;
    }
    int exitCode = finished ? process.exitValue() : -1;
    SandboxOutcome outcome =
        new SandboxOutcome(exitCode, ending, elapsed, pump.tail(), pump.hidden());
    observer.accept(outcome);
    return outcome;
  }

  private static void kill(Process process, Cgroups.Group group) {
    // bubblewrap dies, its init in the sandbox gets SIGKILL (--die-with-parent) and the kernel
    // ends every process of the PID namespace with it; the cgroup sweep catches anything else.
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
    if (group != null) {
      group.killAll();
    }
    try {
      process.waitFor(KILL_GRACE.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Streams output lines, passing on at most a limit of them and keeping the last few. */
  private static final class OutputPump implements Runnable {
    private final InputStream in;
    private final Consumer<String> output;
    private final int limit;
    private final Deque<String> tail = new ArrayDeque<>();
    private long lines;

    OutputPump(InputStream in, Consumer<String> output, int limit) {
      this.in = in;
      this.output = output;
      this.limit = limit;
    }

    @Override
    public void run() {
      try (BufferedReader reader =
          new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        for (String line = reader.readLine(); line != null; line = reader.readLine()) {
          synchronized (this) {
            lines++;
            tail.addLast(line.length() > 2000 ? line.substring(0, 2000) + "…" : line);
            if (tail.size() > TAIL_LINES) {
              tail.removeFirst();
            }
          }
          if (lines <= limit) {
            output.accept(line);
          } else if (lines == limit + 1) {
            output.accept("… (more output than the " + limit + " lines the build log shows)");
          }
        }
      } catch (IOException | RuntimeException e) {
        // The process was killed and the pipe closed under us; the outcome says why.
      }
    }

    synchronized List<String> tail() {
      return List.copyOf(tail);
    }

    synchronized String tailText() {
      return String.join("\n", tail);
    }

    synchronized long hidden() {
      return Math.max(0, lines - limit);
    }
  }

  private static void copyResource(String name, Path directory) throws IOException {
    try (InputStream in = Sandbox.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IOException("the resource " + name + " is missing from the worker's jar");
      }
      Path target = directory.resolve(name);
      Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
      Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-r--r--"));
    }
  }

  /** Gives a writable mount to the sandbox user, without following links out of it. */
  private static void chownTree(Path tree, int uid) throws IOException {
    Files.walkFileTree(
        tree,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attributes)
              throws IOException {
            chown(dir, uid);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attributes)
              throws IOException {
            chown(file, uid);
            return FileVisitResult.CONTINUE;
          }
        });
  }

  private static void chown(Path path, int uid) throws IOException {
    Files.setAttribute(path, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
    Files.setAttribute(path, "unix:gid", uid, LinkOption.NOFOLLOW_LINKS);
  }

  private static void deleteQuietly(Path directory) {
    if (directory == null) {
      return;
    }
    try (Stream<Path> paths = Files.walk(directory)) {
      paths.sorted(Comparator.reverseOrder()).forEach(Sandbox::deleteOne);
    } catch (IOException e) {
      // Leftovers in the run directory root hold no secrets and are tiny.
    }
  }

  private static void deleteOne(Path path) {
    try {
      Files.deleteIfExists(path);
    } catch (IOException e) {
      // See deleteQuietly.
    }
  }

  static boolean runningAsRoot() {
    try {
      return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }

  private static Path onPath(String program) {
    List<String> directories = new ArrayList<>();
    String path = System.getenv("PATH");
    if (path != null) {
      directories.addAll(List.of(path.split(File.pathSeparator)));
    }
    directories.addAll(List.of("/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"));
    return directories.stream()
        .filter(directory -> !directory.isEmpty())
        .map(directory -> Path.of(directory, program))
        .filter(Files::isExecutable)
        .findFirst()
        .orElse(Path.of("/usr/bin", program));
  }
}
