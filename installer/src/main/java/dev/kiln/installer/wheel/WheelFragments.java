package dev.kiln.installer.wheel;

import dev.kiln.events.Digest;
import dev.kiln.installer.ArtifactFile;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.TargetEnvironment;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Unpacks wheels into layer fragments, as pip installs them with {@code --target} and Kiln then
 * normalizes the tree ("Binary distribution format", "Recording installed projects"):
 *
 * <ul>
 *   <li>the wheel's sha256 must be the expected one, every file must match its RECORD line, and
 *       every file must be listed there (except RECORD and its signatures);
 *   <li>the root, {@code .data/purelib}, {@code .data/platlib} and {@code .data/data} go to the
 *       dependency root (with or without {@code Root-Is-Purelib}: the layout has no separate
 *       platlib), {@code .data/scripts} to {@code bin/}, {@code .data/headers} nowhere;
 *   <li>{@code #!python} scripts and the launchers written for {@code console_scripts} and {@code
 *       gui_scripts} start with {@code #!/usr/bin/env python3};
 *   <li>the {@code .dist-info} gets {@code INSTALLER} ({@code kiln}) and a RECORD of the installed
 *       files, and loses {@code direct_url.json}; no bytecode is compiled.
 * </ul>
 *
 * <p>The fragment is a tar in the layer layout (docs/worker.md, "Layer layout"): entries sorted by
 * the UTF-8 bytes of their path, directories included, mtime 1, uid/gid 0, mode 0755 for
 * directories, scripts and files the wheel marks executable, else 0644. The same wheel gives the
 * same bytes on every machine and in every directory; a cache may key a fragment by the wheel's
 * sha256, the target's Python ({@link TargetEnvironment#pythonMinor()}, which names {@code pip3.X}
 * launchers) and {@link #LAYOUT_VERSION}.
 *
 * <p>A wheel that would write outside the root, over another distribution's metadata, or more than
 * the {@link Limits} allow is refused before anything is written. Nothing is written outside the
 * scratch directory, and a failure leaves nothing there.
 *
 * <p>Instances are immutable and may unpack several wheels at once.
 */
public final class WheelFragments {
  /** Changes whenever the same wheel would give a different fragment. */
  public static final String LAYOUT_VERSION = "kiln-wheel-fragment-v1";

  /**
   * How much a wheel may unpack to. A wheel beyond them is refused with {@code
   * install::decompression-limit}, on its declared sizes before anything is inflated and on the
   * bytes actually inflated (declared sizes can lie).
   *
   * @param maxFileBytes the largest file, uncompressed
   * @param maxWheelBytes all files together, uncompressed
   * @param maxCompressionRatio how much better than this a file over 1 MiB may be compressed
   *     (deflate reaches about 1000:1 on runs of one byte, which is what zip bombs are made of)
   * @param maxEntries how many entries the zip may have
   */
  public record Limits(
      long maxFileBytes, long maxWheelBytes, int maxCompressionRatio, int maxEntries) {
    /** 1 GiB per file, 1 GiB per wheel (unpacked), 200:1, 200,000 entries. */
    public static final Limits DEFAULT = new Limits(1L << 30, 1L << 30, 200, 200_000);

    public Limits {
      if (maxFileBytes <= 0 || maxWheelBytes <= 0 || maxCompressionRatio <= 0 || maxEntries <= 0) {
        throw new IllegalArgumentException("every wheel limit must be positive");
      }
    }
  }

  private final TargetEnvironment target;
  private final Limits limits;

  public WheelFragments(TargetEnvironment target, Limits limits) {
    this.target = Objects.requireNonNull(target, "target");
    this.limits = Objects.requireNonNull(limits, "limits");
  }

  public WheelFragments(TargetEnvironment target) {
    this(target, Limits.DEFAULT);
  }

  /**
   * Unpacks {@code file}, which must be the wheel {@code wheel} names (its file name gives the
   * distribution and version; its sha256, and its size when known, must match), into a fragment in
   * {@code scratchDirectory} (created if missing).
   *
   * @throws InstallerException the wheel is not the expected file ({@code install::hash-mismatch}),
   *     differs from its RECORD ({@code install::record-mismatch}), is unsafe to unpack ({@code
   *     install::unsafe-wheel}), would unpack to more than the limits ({@code
   *     install::decompression-limit}), is not a wheel ({@code install::invalid-wheel}) or is a
   *     wheel of a format this engine does not know ({@code install::unsupported-wheel-version})
   * @throws IOException the file or the scratch directory cannot be read or written
   */
  public WheelFragment unpack(ArtifactFile wheel, Path file, Path scratchDirectory)
      throws InstallerException, IOException {
    Objects.requireNonNull(wheel, "wheel");
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(scratchDirectory, "scratchDirectory");
    return new WheelUnpacker(target, limits, WheelName.parse(wheel.filename()), wheel, file)
        .unpack(scratchDirectory);
  }

  /** {@link #unpack(ArtifactFile, Path, Path)} for a wheel file that has its own name. */
  public WheelFragment unpack(Path wheelFile, Digest expectedSha256, Path scratchDirectory)
      throws InstallerException, IOException {
    String filename = wheelFile.getFileName().toString();
    return unpack(
        new ArtifactFile(filename, expectedSha256, null, -1), wheelFile, scratchDirectory);
  }
}
