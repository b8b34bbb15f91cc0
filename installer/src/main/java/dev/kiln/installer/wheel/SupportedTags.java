package dev.kiln.installer.wheel;

import java.util.ArrayList;
import java.util.List;

/**
 * The wheel tags a CPython interpreter accepts, best first, in the order {@code
 * packaging.tags.sys_tags()} gives them for that interpreter: its own ABI on every platform, then
 * {@code abi3}, then {@code none}; {@code abi3} wheels of every older CPython 3 down to 3.2; {@code
 * pyXY} and {@code pyX} wheels for every platform; and last the pure {@code any} wheels.
 */
public final class SupportedTags {
  private SupportedTags() {}

  /**
   * For CPython {@code major.minor} (a regular, not free-threaded or debug, build) on {@code
   * platforms}, best first.
   */
  public static List<WheelTag> cpython(int major, int minor, List<String> platforms) {
    if (major < 3 || minor < 0) {
      throw new IllegalArgumentException(
          "CPython " + major + "." + minor + " is not a Python 3 version");
    }
    String interpreter = "cp" + major + minor;
    List<WheelTag> tags = new ArrayList<>();
    for (String abi : List.of(interpreter, "abi3", "none")) {
      boolean abi3 = abi.equals("abi3");
      if (abi3 && minor < 2) {
        continue; // the stable ABI starts with CPython 3.2
      }
      for (String platform : platforms) {
        tags.add(new WheelTag(interpreter, abi, platform));
      }
    }
    for (int older = minor - 1; older >= 2; older--) {
      for (String platform : platforms) {
        tags.add(new WheelTag("cp" + major + older, "abi3", platform));
      }
    }
    List<String> pythons = pythonRange(major, minor);
    for (String python : pythons) {
      for (String platform : platforms) {
        tags.add(new WheelTag(python, "none", platform));
      }
    }
    tags.add(new WheelTag(interpreter, "none", "any"));
    for (String python : pythons) {
      tags.add(new WheelTag(python, "none", "any"));
    }
    return List.copyOf(tags);
  }

  /** {@code py312}, {@code py3}, then {@code py311} down to {@code py30}. */
  private static List<String> pythonRange(int major, int minor) {
    List<String> range = new ArrayList<>();
    range.add("py" + major + minor);
    range.add("py" + major);
    for (int older = minor - 1; older >= 0; older--) {
      range.add("py" + major + older);
    }
    return range;
  }
}
