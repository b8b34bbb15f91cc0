package dev.kiln.worker.install;

import java.util.List;
import java.util.Objects;

/**
 * The machine the image runs on, as pip needs it to choose wheels for an interpreter other than its
 * own. Part of the dependency-set key: a layer for one platform is never reused for another.
 *
 * @param id a stable name, e.g. {@code linux/amd64}
 * @param implementation the {@code --implementation} tag ({@code cp} for CPython)
 * @param pipPlatforms the {@code --platform} tags, best first; pip accepts a wheel tagged with any
 *     of them (and, for {@code manylinux_2_X}, any older glibc baseline)
 */
public record TargetPlatform(String id, String implementation, List<String> pipPlatforms) {

  /**
   * CPython on x86-64 glibc Linux. The runtime images are Debian bookworm (glibc 2.36), so every
   * wheel up to the manylinux_2_17 (= manylinux2014) baseline runs there; {@code linux_x86_64}
   * admits wheels built on a Linux machine without a manylinux tag (e.g. a tenant's private index).
   */
  public static final TargetPlatform LINUX_X86_64 =
      new TargetPlatform(
          "linux/amd64",
          "cp",
          List.of("manylinux2014_x86_64", "manylinux_2_17_x86_64", "linux_x86_64"));

  public TargetPlatform {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(implementation, "implementation");
    pipPlatforms = List.copyOf(pipPlatforms);
  }
}
