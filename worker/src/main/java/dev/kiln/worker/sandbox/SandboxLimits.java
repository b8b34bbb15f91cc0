package dev.kiln.worker.sandbox;

import java.time.Duration;
import java.util.Objects;

/**
 * What one sandboxed command may use. The time limit is enforced by the worker (the whole process
 * tree is killed); memory, CPU and process count by a cgroup where the worker can create one, and
 * by resource limits ({@code prlimit}) where it cannot.
 *
 * @param time the longest the command may run, wall clock
 * @param memoryBytes the most memory (resident, in a cgroup; address space with prlimit)
 * @param cpus how many CPUs' worth of time it may use (1.5 = one and a half cores)
 * @param maxProcesses the most processes and threads at once (fork bombs stop here)
 * @param maxOutputLines output lines passed on to the build log; the rest is counted, not shown
 */
public record SandboxLimits(
    Duration time, long memoryBytes, double cpus, int maxProcesses, int maxOutputLines) {

  public SandboxLimits {
    Objects.requireNonNull(time, "time");
    if (time.isNegative() || time.isZero()) {
      throw new IllegalArgumentException("the time limit must be positive, got " + time);
    }
    if (memoryBytes < 16L * 1024 * 1024) {
      throw new IllegalArgumentException(
          "a memory limit below 16 MiB leaves no room for Python; got " + memoryBytes + " bytes");
    }
    if (!(cpus > 0)) {
      throw new IllegalArgumentException("cpus must be more than 0, got " + cpus);
    }
    if (maxProcesses < 8) {
      throw new IllegalArgumentException("maxProcesses must be at least 8, got " + maxProcesses);
    }
    if (maxOutputLines < 1) {
      throw new IllegalArgumentException("maxOutputLines must be positive");
    }
  }

  /** 15 minutes, 2 GiB, 1 CPU, 512 processes, 20,000 lines of output. */
  public static SandboxLimits defaults() {
    return new SandboxLimits(Duration.ofMinutes(15), 2L << 30, 1.0, 512, 20_000);
  }

  public SandboxLimits withTime(Duration newTime) {
    return new SandboxLimits(newTime, memoryBytes, cpus, maxProcesses, maxOutputLines);
  }

  public SandboxLimits withMemoryBytes(long bytes) {
    return new SandboxLimits(time, bytes, cpus, maxProcesses, maxOutputLines);
  }

  public SandboxLimits withCpus(double newCpus) {
    return new SandboxLimits(time, memoryBytes, newCpus, maxProcesses, maxOutputLines);
  }
}
