package dev.kiln.installer.wheel;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One compatibility tag of a wheel (PEP 425): the Python it needs ({@code cp312}, {@code py3}), the
 * ABI ({@code cp312}, {@code abi3}, {@code none}) and the platform ({@code manylinux_2_17_x86_64},
 * {@code any}). Always lowercase.
 */
public record WheelTag(String python, String abi, String platform) {
  private static final Pattern PYTHON = Pattern.compile("[a-z][a-z0-9_]*");
  private static final Pattern ABI_OR_PLATFORM = Pattern.compile("[a-z0-9_]+");

  public WheelTag {
    python = check(python, PYTHON, "python");
    abi = check(abi, ABI_OR_PLATFORM, "ABI");
    platform = check(platform, ABI_OR_PLATFORM, "platform");
  }

  private static String check(String part, Pattern form, String what) {
    Objects.requireNonNull(part, what);
    String lower = part.toLowerCase(Locale.ROOT);
    if (!form.matcher(lower).matches()) {
      throw new IllegalArgumentException(
          "'" + part + "' is not a " + what + " tag" + (part.isEmpty() ? " (it is empty)" : ""));
    }
    return lower;
  }

  /** Reads one tag ({@code py3-none-any}); a compressed set must go to {@link #expand}. */
  public static WheelTag parse(String text) {
    String[] parts = text.split("-", -1);
    if (parts.length != 3) {
      throw new IllegalArgumentException(
          "'" + text + "' is not a wheel tag such as py3-none-any (python-abi-platform)");
    }
    List<WheelTag> tags = expand(parts[0], parts[1], parts[2]);
    if (tags.size() != 1) {
      throw new IllegalArgumentException("'" + text + "' is a compressed set of tags, not one tag");
    }
    return tags.get(0);
  }

  /**
   * Expands compressed tag sets ({@code py2.py3}, {@code none}, {@code
   * manylinux_2_17_x86_64.manylinux2014_x86_64}) into every combination, in the order written.
   *
   * @throws IllegalArgumentException when a member is empty or not a tag
   */
  public static List<WheelTag> expand(String pythons, String abis, String platforms) {
    Set<WheelTag> tags = new LinkedHashSet<>();
    for (String python : members(pythons, "python")) {
      for (String abi : members(abis, "ABI")) {
        for (String platform : members(platforms, "platform")) {
          tags.add(new WheelTag(python, abi, platform));
        }
      }
    }
    return List.copyOf(new ArrayList<>(tags));
  }

  private static String[] members(String set, String what) {
    String[] members = set.split("\\.", -1);
    for (String member : members) {
      if (member.isEmpty()) {
        throw new IllegalArgumentException(
            "the " + what + " tag set '" + set + "' has an empty member");
      }
    }
    return members;
  }

  @Override
  public String toString() {
    return python + "-" + abi + "-" + platform;
  }
}
