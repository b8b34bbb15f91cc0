package dev.kiln.worker.install;

import dev.kiln.installer.wheel.PlatformTags;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The machine the image runs on, as pip needs it to choose wheels for an interpreter other than its
 * own. Part of the dependency-set key: a layer for one platform is never reused for another.
 *
 * @param id a stable name, e.g. {@code linux/amd64 glibc 2.36}
 * @param implementation the {@code --implementation} tag ({@code cp} for CPython)
 * @param pipPlatforms the {@code --platform} tags, best first; pip accepts a wheel tagged with any
 *     of them and with nothing else (it does not widen {@code manylinux_2_X} to older baselines, so
 *     every one is listed)
 */
public record TargetPlatform(String id, String implementation, List<String> pipPlatforms) {
  private static final Pattern GLIBC = Pattern.compile("2\\.(\\d{1,3})");

  /** The oldest glibc a manylinux tag names ({@code manylinux1} is glibc 2.5). */
  private static final int OLDEST_MANYLINUX_MINOR = 5;

  /**
   * The manylinux2014 baseline (glibc 2.17), for a runtime whose glibc nobody stated: every image
   * Kiln runs on has at least that.
   */
  public static final TargetPlatform LINUX_X86_64 = linuxX86_64("2.17");

  public TargetPlatform {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(implementation, "implementation");
    pipPlatforms = List.copyOf(pipPlatforms);
  }

  /**
   * CPython on x86-64 Linux with the given glibc ({@code 2.36}): {@code manylinux_2_N_x86_64} for
   * every N from the runtime's glibc down to 5, the legacy aliases next to the baseline they stand
   * for ({@code manylinux2014} = 2.17, {@code manylinux2010} = 2.12, {@code manylinux1} = 2.5), and
   * {@code linux_x86_64} for wheels built on Linux without a manylinux tag (private indexes).
   * Listing only the old baselines would make pip silently pick an older release of a project that
   * has stopped publishing them (numpy 2.3 ships only {@code manylinux_2_27}/{@code _2_28} wheels).
   * The list is the install engine's ({@link PlatformTags}), so pip and the engine accept the same
   * wheels.
   *
   * @throws IllegalArgumentException when {@code glibc} is not a version such as {@code 2.36}
   */
  public static TargetPlatform linuxX86_64(String glibc) {
    Matcher version = glibc == null ? null : GLIBC.matcher(glibc.strip());
    if (version == null || !version.matches()) {
      throw new IllegalArgumentException(
          "the runtime's glibc '" + glibc + "' is not a version such as 2.36");
    }
    int newest = Math.max(Integer.parseInt(version.group(1)), OLDEST_MANYLINUX_MINOR);
    List<String> tags = PlatformTags.linux("2." + newest, "x86_64");
    return new TargetPlatform("linux/amd64 glibc 2." + newest, "cp", tags);
  }

  /** The platform of a plan's runtime; the baseline when the plan does not name a glibc. */
  public static TargetPlatform forRuntimeGlibc(String glibc) {
    return glibc == null || glibc.isBlank() ? LINUX_X86_64 : linuxX86_64(glibc);
  }
}
