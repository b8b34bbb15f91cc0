package dev.kiln.installer.wheel;

import dev.kiln.events.Digest;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * One wheel unpacked into a layer fragment: a reproducible, uncompressed tar whose paths are
 * relative to the dependency root ({@code flask/__init__.py}, {@code
 * flask-3.0.0.dist-info/METADATA}, {@code bin/flask}).
 *
 * @param tar the fragment, in the scratch directory the caller gave, named {@code <sha256
 *     hex>.tar}; the caller moves it into the store
 * @param sha256 the fragment's digest
 * @param size the fragment's length in bytes
 * @param distribution the project name as the wheel's METADATA spells it ({@code Flask})
 * @param version the version its METADATA gives
 * @param topLevelNames the importable names it installs at the top of the root (packages, modules,
 *     extension modules), sorted: {@code [flask]}
 * @param scripts the files it installs in {@code bin/}, relative to {@code bin/}, sorted
 * @param warnings what was unusual but did not stop the install
 */
public record WheelFragment(
    Path tar,
    Digest sha256,
    long size,
    String distribution,
    String version,
    List<String> topLevelNames,
    List<String> scripts,
    List<Warning> warnings) {

  public WheelFragment {
    Objects.requireNonNull(tar, "tar");
    Objects.requireNonNull(sha256, "sha256");
    Objects.requireNonNull(distribution, "distribution");
    Objects.requireNonNull(version, "version");
    topLevelNames = List.copyOf(topLevelNames);
    scripts = List.copyOf(scripts);
    warnings = List.copyOf(warnings);
  }

  /** {@code name==version}, as the INSTALL step lists installed distributions. */
  public String requirement() {
    return distribution + "==" + version;
  }

  /**
   * Something to tell the user that did not stop the install.
   *
   * @param code a stable {@code area::reason} code from {@link dev.kiln.installer.Codes}
   * @param message what happened and what, if anything, to do
   */
  public record Warning(String code, String message) {
    public Warning {
      Objects.requireNonNull(code, "code");
      Objects.requireNonNull(message, "message");
    }
  }
}
