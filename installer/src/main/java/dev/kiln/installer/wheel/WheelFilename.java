package dev.kiln.installer.wheel;

import dev.kiln.installer.pep.Pep440Version;
import dev.kiln.installer.pep.ProjectName;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A wheel's file name, {@code {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl}
 * (PEP 427, PEP 491), with its compressed tag sets expanded.
 *
 * @param filename the name as given
 * @param distribution the distribution part as written ({@code some_PACKAGE})
 * @param version its version
 * @param build the optional build tag, which breaks ties between otherwise equal wheels
 * @param tags every tag the name's tag sets expand to, in the order written
 */
public record WheelFilename(
    String filename,
    String distribution,
    Pep440Version version,
    Optional<BuildTag> build,
    List<WheelTag> tags) {

  /** A build tag: a number, then optional text; compared by number, then text. */
  public record BuildTag(long number, String suffix) implements Comparable<BuildTag> {
    private static final Pattern FORM = Pattern.compile("([0-9]{1,18})([A-Za-z0-9_.]*)");

    public BuildTag {
      Objects.requireNonNull(suffix, "suffix");
    }

    static BuildTag parse(String text) {
      Matcher m = FORM.matcher(text);
      if (!m.matches()) {
        throw new IllegalArgumentException(
            "its build tag '" + text + "' must be a number, optionally followed by letters");
      }
      return new BuildTag(Long.parseLong(m.group(1)), m.group(2));
    }

    @Override
    public int compareTo(BuildTag other) {
      int c = Long.compare(number, other.number);
      return c != 0 ? c : suffix.compareTo(other.suffix);
    }

    @Override
    public String toString() {
      return number + suffix;
    }
  }

  public WheelFilename {
    Objects.requireNonNull(filename, "filename");
    Objects.requireNonNull(distribution, "distribution");
    Objects.requireNonNull(version, "version");
    Objects.requireNonNull(build, "build");
    tags = List.copyOf(tags);
  }

  /**
   * Reads a wheel file name.
   *
   * @throws IllegalArgumentException saying why {@code filename} is not a wheel name
   */
  public static WheelFilename parse(String filename) {
    Objects.requireNonNull(filename, "filename");
    if (!filename.endsWith(".whl")) {
      throw invalid(filename, "it does not end in .whl");
    }
    String[] parts = filename.substring(0, filename.length() - 4).split("-", -1);
    if (parts.length != 5 && parts.length != 6) {
      throw invalid(
          filename,
          "it has "
              + parts.length
              + " parts separated by '-', but a wheel name has 5 or 6:"
              + " {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl");
    }
    String distribution = parts[0];
    if (!validDistribution(distribution)) {
      throw invalid(
          filename,
          distribution.isEmpty()
              ? "its distribution name is empty"
              : "'" + distribution + "' is not a valid distribution name");
    }
    Pep440Version version =
        Pep440Version.parse(parts[1])
            .orElseThrow(() -> invalid(filename, "'" + parts[1] + "' is not a PEP 440 version"));
    Optional<BuildTag> build = Optional.empty();
    try {
      if (parts.length == 6) {
        build = Optional.of(BuildTag.parse(parts[2]));
      }
      int t = parts.length - 3;
      return new WheelFilename(
          filename,
          distribution,
          version,
          build,
          WheelTag.expand(parts[t], parts[t + 1], parts[t + 2]));
    } catch (IllegalArgumentException e) {
      throw invalid(filename, e.getMessage());
    }
  }

  /** Letters, digits, {@code _} and {@code .}, no {@code __} (the escaped form PEP 427 writes). */
  private static boolean validDistribution(String name) {
    if (name.isEmpty() || name.contains("__")) {
      return false;
    }
    return name.codePoints().allMatch(c -> Character.isLetterOrDigit(c) || c == '_' || c == '.');
  }

  private static IllegalArgumentException invalid(String filename, String why) {
    return new IllegalArgumentException("'" + filename + "' is not a wheel file name: " + why);
  }

  /** The distribution name normalized (PEP 503), as locks and indexes compare it. */
  public String normalizedName() {
    return ProjectName.normalize(distribution);
  }
}
