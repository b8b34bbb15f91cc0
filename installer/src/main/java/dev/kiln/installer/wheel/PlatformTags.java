package dev.kiln.installer.wheel;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The platform tags a glibc Linux machine accepts, best first, as {@code packaging.tags} lists them
 * for that machine: {@code manylinux_2_G_<arch>} for the runtime's glibc 2.G down to the oldest
 * baseline of the architecture (2.5 on x86-64 and i686, 2.17 elsewhere), each legacy alias right
 * after the baseline it stands for ({@code manylinux2014} = 2.17, {@code manylinux2010} = 2.12,
 * {@code manylinux1} = 2.5), then {@code linux_<arch>}. No musllinux: the runtime uses glibc.
 *
 * <p>The one home of this list: the install engine ranks wheels by it and the pip-based install
 * path passes it as {@code --platform}.
 */
public final class PlatformTags {
  private static final Pattern GLIBC = Pattern.compile("2\\.([0-9]{1,3})");
  private static final Pattern MANYLINUX =
      Pattern.compile(
          "manylinux_([0-9]+)_([0-9]+)_([a-z0-9_]+)|manylinux(1|2010|2014)_([a-z0-9_]+)");
  private static final Map<Integer, String> LEGACY =
      Map.of(17, "manylinux2014", 12, "manylinux2010", 5, "manylinux1");
  private static final Map<String, Integer> LEGACY_GLIBC = Map.of("2014", 17, "2010", 12, "1", 5);

  private PlatformTags() {}

  /**
   * Every platform tag a Linux machine with {@code glibc} ({@code 2.36}) and {@code machine}
   * ({@code x86_64}) accepts, best first.
   *
   * @throws IllegalArgumentException when {@code glibc} is not a version such as 2.36 or {@code
   *     machine} is blank
   */
  public static List<String> linux(String glibc, String machine) {
    List<String> tags = new ArrayList<>(manylinux(glibc, machine));
    tags.add("linux_" + arch(machine));
    return List.copyOf(tags);
  }

  /** The manylinux tags alone (without {@code linux_<arch>}), best first. */
  public static List<String> manylinux(String glibc, String machine) {
    int newest = glibcMinor(glibc);
    String arch = arch(machine);
    List<String> tags = new ArrayList<>();
    for (int minor = newest; minor >= oldestMinor(arch); minor--) {
      tags.add("manylinux_2_" + minor + "_" + arch);
      if (LEGACY.containsKey(minor)) {
        tags.add(LEGACY.get(minor) + "_" + arch);
      }
    }
    return List.copyOf(tags);
  }

  /** The oldest glibc minor a manylinux tag names for {@code arch}. */
  static int oldestMinor(String arch) {
    return arch.equals("x86_64") || arch.equals("i686") ? 5 : 17;
  }

  /** The architecture as tags spell it: lowercase, {@code -} and {@code .} as {@code _}. */
  public static String arch(String machine) {
    Objects.requireNonNull(machine, "machine");
    String arch = machine.strip().toLowerCase(Locale.ROOT).replace('-', '_').replace('.', '_');
    if (arch.isEmpty() || !arch.matches("[a-z0-9_]+")) {
      throw new IllegalArgumentException(
          "'" + machine + "' is not a machine architecture such as x86_64 or aarch64");
    }
    return arch;
  }

  private static int glibcMinor(String glibc) {
    Matcher m = glibc == null ? null : GLIBC.matcher(glibc.strip());
    if (m == null || !m.matches()) {
      throw new IllegalArgumentException("glibc '" + glibc + "' is not a version such as 2.36");
    }
    return Integer.parseInt(m.group(1));
  }

  /** What a manylinux platform tag requires: its glibc 2.N minor and architecture. */
  record Manylinux(int glibcMinor, String arch) {}

  /** Reads {@code manylinux_2_28_x86_64} or a legacy alias; empty for any other platform. */
  static Optional<Manylinux> readManylinux(String platform) {
    Matcher m = MANYLINUX.matcher(platform);
    if (!m.matches()) {
      return Optional.empty();
    }
    if (m.group(1) != null) {
      return m.group(1).equals("2")
          ? Optional.of(new Manylinux(Integer.parseInt(m.group(2)), m.group(3)))
          : Optional.empty();
    }
    return Optional.of(new Manylinux(LEGACY_GLIBC.get(m.group(4)), m.group(5)));
  }

  /** The glibc minor of a {@code 2.N} version, if it is one. */
  static OptionalInt minorOf(String glibc) {
    Matcher m = glibc == null ? null : GLIBC.matcher(glibc.strip());
    return m != null && m.matches()
        ? OptionalInt.of(Integer.parseInt(m.group(1)))
        : OptionalInt.empty();
  }
}
