package dev.kiln.installer;

import dev.kiln.installer.wheel.PlatformTags;
import dev.kiln.installer.wheel.SupportedTags;
import dev.kiln.installer.wheel.WheelTag;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The interpreter and machine an install is for: the runtime image's Python, not the worker's.
 * Markers are evaluated and wheels chosen for it.
 *
 * @param pythonVersion the exact version ({@code 3.12.7})
 * @param glibc the runtime's glibc ({@code 2.36})
 * @param machine the CPU architecture as {@code platform.machine()} says it ({@code x86_64})
 */
public record TargetEnvironment(String pythonVersion, String glibc, String machine) {
  private static final Pattern VERSION = Pattern.compile("3\\.\\d{1,3}\\.\\d{1,3}");
  private static final Pattern GLIBC = Pattern.compile("2\\.\\d{1,3}");

  public TargetEnvironment {
    Objects.requireNonNull(pythonVersion, "pythonVersion");
    Objects.requireNonNull(glibc, "glibc");
    Objects.requireNonNull(machine, "machine");
    if (!VERSION.matcher(pythonVersion).matches()) {
      throw new IllegalArgumentException(
          "'" + pythonVersion + "' is not an exact CPython 3 version such as 3.12.7");
    }
    if (!GLIBC.matcher(glibc).matches()) {
      throw new IllegalArgumentException("'" + glibc + "' is not a glibc version such as 2.36");
    }
  }

  /** CPython on x86-64 Linux. */
  public static TargetEnvironment linuxX86_64(String pythonVersion, String glibc) {
    return new TargetEnvironment(pythonVersion, glibc, "x86_64");
  }

  /** {@code 3.12}. */
  public String pythonMinor() {
    int second = pythonVersion.indexOf('.', 2);
    return pythonVersion.substring(0, second);
  }

  /** {@code 312}, as in the {@code cp312} tag. */
  public String pythonTagDigits() {
    return pythonMinor().replace(".", "");
  }

  /**
   * The platform tags this machine accepts, best first: {@code manylinux_2_G_<arch>} for this glibc
   * down to the architecture's oldest baseline, with the legacy aliases in their places, then
   * {@code linux_<arch>} (see {@link PlatformTags}).
   */
  public List<String> platformTags() {
    return PlatformTags.linux(glibc, machine);
  }

  /**
   * Every wheel tag this interpreter accepts, best first, in the order {@code
   * packaging.tags.sys_tags()} gives them for CPython X.Y on this glibc and machine: {@code
   * cpXY-cpXY-*}, {@code cpXY-abi3-*}, {@code cpXY-none-*}, the {@code abi3} tags of older CPython
   * 3 releases, {@code pyXY-none-*} and {@code py3-none-*}, then the pure {@code any} tags (see
   * {@link SupportedTags}).
   */
  public List<WheelTag> supportedTags() {
    int minor = Integer.parseInt(pythonMinor().substring(2));
    return SupportedTags.cpython(3, minor, platformTags());
  }
}
