package dev.kiln.worker.sandbox;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Per-run control groups that hold a sandboxed command to its memory, CPU and process limits. The
 * worker (root) creates one group per run under its own group, puts the sandbox launcher in it
 * before bubblewrap starts (so everything the command starts is inside), and removes it afterwards.
 * Works with the cgroup v1 hierarchies (separate {@code memory}, {@code cpu}, {@code pids} mounts)
 * and with the unified v2 hierarchy.
 */
final class Cgroups {
  private static final Path ROOT = Path.of("/sys/fs/cgroup");
  private static final long CPU_PERIOD_MICROS = 100_000;
  private static final List<String> V1_CONTROLLERS = List.of("memory", "cpu", "pids");

  private final boolean unified;

  /** v1: controller → the worker's own group in that hierarchy; v2: "" → Kiln's parent group. */
  private final Map<String, Path> parents;

  private Cgroups(boolean unified, Map<String, Path> parents) {
    this.unified = unified;
    this.parents = parents;
  }

  /**
   * The cgroups this process can create groups in, or empty when it cannot (not root, a read-only
   * {@code /sys/fs/cgroup}, a controller missing); the sandbox then falls back to prlimit.
   */
  static Optional<Cgroups> detect() {
    try {
      if (!Sandbox.runningAsRoot() || !Files.isDirectory(ROOT)) {
        return Optional.empty();
      }
      if (Files.isRegularFile(ROOT.resolve("cgroup.controllers"))) {
        return unified();
      }
      Map<String, String> ownGroups = ownV1Groups();
      Map<String, Path> parents = new TreeMap<>();
      for (String controller : V1_CONTROLLERS) {
        Path mount = ROOT.resolve(controller);
        String own = ownGroups.get(controller);
        if (own == null || !Files.isDirectory(mount)) {
          return Optional.empty();
        }
        Path parent = mount.resolve(own.substring(1));
        if (!Files.isDirectory(parent) || !Files.isWritable(parent)) {
          parent = mount;
        }
        if (!Files.isWritable(parent)) {
          return Optional.empty();
        }
        parents.put(controller, parent);
      }
      return Optional.of(new Cgroups(false, parents));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  private static Optional<Cgroups> unified() throws IOException {
    String available = Files.readString(ROOT.resolve("cgroup.controllers"));
    for (String controller : V1_CONTROLLERS) {
      if (!available.contains(controller)) {
        return Optional.empty();
      }
    }
    // v2 forbids processes in a group whose controllers are delegated to children, so Kiln's runs
    // live in a subtree of their own below the root, which is exempt from that rule.
    Path kiln = ROOT.resolve("kiln-sandbox");
    Files.createDirectories(kiln);
    write(ROOT.resolve("cgroup.subtree_control"), "+memory +cpu +pids");
    write(kiln.resolve("cgroup.subtree_control"), "+memory +cpu +pids");
    return Optional.of(new Cgroups(true, Map.of("", kiln)));
  }

  /** controller → path of this process's group, from {@code /proc/self/cgroup}. */
  private static Map<String, String> ownV1Groups() throws IOException {
    Map<String, String> groups = new TreeMap<>();
    for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
      String[] fields = line.split(":", 3);
      if (fields.length == 3) {
        for (String controller : fields[1].split(",")) {
          groups.put(controller, fields[2]);
        }
      }
    }
    return groups;
  }

  String describe() {
    return unified ? "cgroup v2" : "cgroup v1";
  }

  /** Creates the groups of one run with its limits applied. */
  Group create(String name, SandboxLimits limits) throws IOException {
    List<Path> created = new ArrayList<>();
    try {
      if (unified) {
        Path group = Files.createDirectory(parents.get("").resolve(name));
        created.add(group);
        write(group.resolve("memory.max"), Long.toString(limits.memoryBytes()));
        writeIfPresent(group.resolve("memory.swap.max"), "0");
        write(group.resolve("cpu.max"), quota(limits) + " " + CPU_PERIOD_MICROS);
        write(group.resolve("pids.max"), Integer.toString(limits.maxProcesses()));
      } else {
        Path memory = Files.createDirectory(parents.get("memory").resolve(name));
        created.add(memory);
        write(memory.resolve("memory.limit_in_bytes"), Long.toString(limits.memoryBytes()));
        // Without swap accounting the limit would only push memory to swap.
        writeIfPresent(
            memory.resolve("memory.memsw.limit_in_bytes"), Long.toString(limits.memoryBytes()));
        Path cpu = Files.createDirectory(parents.get("cpu").resolve(name));
        created.add(cpu);
        write(cpu.resolve("cpu.cfs_period_us"), Long.toString(CPU_PERIOD_MICROS));
        write(cpu.resolve("cpu.cfs_quota_us"), Long.toString(quota(limits)));
        Path pids = Files.createDirectory(parents.get("pids").resolve(name));
        created.add(pids);
        write(pids.resolve("pids.max"), Integer.toString(limits.maxProcesses()));
      }
      return new Group(unified, created);
    } catch (IOException | RuntimeException e) {
      new Group(unified, created).remove();
      throw e;
    }
  }

  private static long quota(SandboxLimits limits) {
    return Math.max(1000, Math.round(limits.cpus() * CPU_PERIOD_MICROS));
  }

  private static void write(Path file, String value) throws IOException {
    Files.writeString(file, value, StandardCharsets.US_ASCII);
  }

  private static void writeIfPresent(Path file, String value) throws IOException {
    if (Files.exists(file)) {
      write(file, value);
    }
  }

  /** The groups of one run. */
  static final class Group {
    private final boolean unified;
    private final List<Path> directories;

    private Group(boolean unified, List<Path> directories) {
      this.unified = unified;
      this.directories = List.copyOf(directories);
    }

    /**
     * The {@code cgroup.procs} files the launcher writes its pid to before it starts the command.
     */
    List<Path> procsFiles() {
      return directories.stream().map(d -> d.resolve("cgroup.procs")).toList();
    }

    /** Whether the kernel's out-of-memory killer killed anything in this group. */
    boolean outOfMemory() {
      try {
        Path memory = directories.get(0);
        Path events = memory.resolve(unified ? "memory.events" : "memory.oom_control");
        for (String line : Files.readAllLines(events)) {
          if (line.startsWith("oom_kill ") && !line.equals("oom_kill 0")) {
            return true;
          }
        }
      } catch (IOException | RuntimeException e) {
        // Not knowing is reported as an ordinary exit.
      }
      return false;
    }

    /** Kills every process still in the group. */
    void killAll() {
      for (int round = 0; round < 5; round++) {
        List<Long> pids = pids();
        if (pids.isEmpty()) {
          return;
        }
        pids.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
        pause();
      }
    }

    private List<Long> pids() {
      List<Long> pids = new ArrayList<>();
      for (Path procs : procsFiles()) {
        try {
          for (String line : Files.readAllLines(procs)) {
            if (!line.isBlank()) {
              pids.add(Long.parseLong(line.strip()));
            }
          }
        } catch (IOException | NumberFormatException e) {
          // A group that is already gone has nobody left to kill.
        }
      }
      return pids;
    }

    /** Removes the groups once their processes are gone (killing stragglers first). */
    void remove() {
      killAll();
      for (int i = directories.size() - 1; i >= 0; i--) {
        Path directory = directories.get(i);
        for (int attempt = 0; attempt < 20; attempt++) {
          try {
            Files.deleteIfExists(directory);
            break;
          } catch (IOException busy) {
            pause();
          }
        }
      }
    }

    private static void pause() {
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
