package dev.kiln.installer.wheel;

import dev.kiln.installer.pep.Pep440Version;
import dev.kiln.installer.pep.ProjectName;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * A source distribution's file name, {@code {name}-{version}.tar.gz} (or a legacy archive type).
 * Old sdists write the name with dashes ({@code python-dateutil-2.8.2.tar.gz}), so the name is
 * found by matching the project it should belong to.
 */
final class SdistFilename {
  static final List<String> EXTENSIONS =
      List.of(".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar");

  private SdistFilename() {}

  static boolean isSdist(String filename) {
    return extension(filename).isPresent();
  }

  private static Optional<String> extension(String filename) {
    String lower = filename.toLowerCase(Locale.ROOT);
    return EXTENSIONS.stream().filter(lower::endsWith).findFirst();
  }

  /** What an sdist file name says, when it is one. */
  record Parsed(String normalizedName, Optional<Pep440Version> version) {}

  /**
   * The name and version of {@code filename} as an sdist of {@code normalizedProject}: the version
   * is what follows the dash after a prefix that normalizes to the project's name. When no prefix
   * does, the name is what precedes the last dash.
   */
  static Optional<Parsed> parse(String filename, String normalizedProject) {
    Optional<String> extension = extension(filename);
    if (extension.isEmpty()) {
      return Optional.empty();
    }
    String stem = filename.substring(0, filename.length() - extension.get().length());
    for (int dash = stem.indexOf('-'); dash > 0; dash = stem.indexOf('-', dash + 1)) {
      if (ProjectName.normalize(stem.substring(0, dash)).equals(normalizedProject)) {
        return Optional.of(
            new Parsed(normalizedProject, Pep440Version.parse(stem.substring(dash + 1))));
      }
    }
    int last = stem.lastIndexOf('-');
    if (last <= 0) {
      return Optional.of(new Parsed(ProjectName.normalize(stem), Optional.empty()));
    }
    return Optional.of(
        new Parsed(
            ProjectName.normalize(stem.substring(0, last)),
            Pep440Version.parse(stem.substring(last + 1))));
  }
}
