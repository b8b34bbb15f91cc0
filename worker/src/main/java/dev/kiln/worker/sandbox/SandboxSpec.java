package dev.kiln.worker.sandbox;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One command to run in the build sandbox.
 *
 * @param rootfs the runtime's unpacked root file system, mounted read-only as {@code /}; it must
 *     already have every mount point (see {@link Sandbox#MOUNT_POINTS})
 * @param mounts host directories bound into the sandbox, in order
 * @param command the program and its arguments, as the sandbox sees them
 * @param workingDirectory where the command starts, inside the sandbox
 * @param environment exactly the variables the command gets; nothing is inherited from the worker
 * @param index the cache-service whose package index ({@code /simple/}, {@code /files/}, {@code
 *     /nltk/}) the command may reach, or null for no network at all
 * @param limits time, memory, CPU, processes, output
 */
public record SandboxSpec(
    Path rootfs,
    List<Mount> mounts,
    List<String> command,
    String workingDirectory,
    Map<String, String> environment,
    IndexAccess index,
    SandboxLimits limits) {

  private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

  /**
   * A host directory at {@code target} inside the sandbox; read-only unless {@code writable}. A
   * writable directory is handed to the sandbox user (its files change owner).
   */
  public record Mount(Path source, String target, boolean writable) {
    public Mount {
      Objects.requireNonNull(source, "source");
      Objects.requireNonNull(target, "target");
      if (!target.startsWith("/") || target.contains("..")) {
        throw new IllegalArgumentException(
            "a mount target must be an absolute path without '..', got '" + target + "'");
      }
    }

    public static Mount readOnly(Path source, String target) {
      return new Mount(source, target, false);
    }

    public static Mount writable(Path source, String target) {
      return new Mount(source, target, true);
    }
  }

  public SandboxSpec {
    Objects.requireNonNull(rootfs, "rootfs");
    mounts = List.copyOf(mounts);
    command = List.copyOf(command);
    if (command.isEmpty()) {
      throw new IllegalArgumentException("the sandbox needs a command to run");
    }
    Objects.requireNonNull(workingDirectory, "workingDirectory");
    environment = Map.copyOf(environment);
    for (String name : environment.keySet()) {
      if (!NAME.matcher(name).matches()) {
        throw new IllegalArgumentException(
            "'" + name + "' is not a valid environment variable name");
      }
      if (name.startsWith("KILN_SANDBOX_")) {
        throw new IllegalArgumentException(name + " is reserved for the sandbox itself");
      }
    }
    Objects.requireNonNull(limits, "limits");
  }

  /** A command in {@code /app} with no mounts, no environment, no network and default limits. */
  public static SandboxSpec of(Path rootfs, List<String> command) {
    return new SandboxSpec(rootfs, List.of(), command, "/app", Map.of(), null, defaults());
  }

  private static SandboxLimits defaults() {
    return SandboxLimits.defaults();
  }

  public SandboxSpec withMount(Mount mount) {
    List<Mount> more = new ArrayList<>(mounts);
    more.add(mount);
    return new SandboxSpec(rootfs, more, command, workingDirectory, environment, index, limits);
  }

  public SandboxSpec withEnvironment(Map<String, String> variables) {
    Map<String, String> merged = new LinkedHashMap<>(environment);
    merged.putAll(variables);
    return new SandboxSpec(rootfs, mounts, command, workingDirectory, merged, index, limits);
  }

  public SandboxSpec withWorkingDirectory(String directory) {
    return new SandboxSpec(rootfs, mounts, command, directory, environment, index, limits);
  }

  /** Lets the command reach this cache-service's package index, and nothing else. */
  public SandboxSpec withIndex(IndexAccess access) {
    return new SandboxSpec(rootfs, mounts, command, workingDirectory, environment, access, limits);
  }

  public SandboxSpec withLimits(SandboxLimits newLimits) {
    return new SandboxSpec(
        rootfs, mounts, command, workingDirectory, environment, index, newLimits);
  }
}
