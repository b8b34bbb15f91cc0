package dev.kiln.installer.wheel;

import dev.kiln.events.Digest;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A dependency layer made by {@link LayerConcatenation}.
 *
 * @param tar the layer tar
 * @param sha256 its digest
 * @param size its length in bytes
 * @param entries how many entries (files, directories, links) it has, pax headers not counted;
 *     directories that several fragments hold count once per fragment
 * @param overlaps the paths more than one fragment writes, in the order they were found
 */
public record ConcatenatedLayer(
    Path tar, Digest sha256, long size, int entries, List<Overlap> overlaps) {
  public ConcatenatedLayer {
    Objects.requireNonNull(tar, "tar");
    Objects.requireNonNull(sha256, "sha256");
    overlaps = List.copyOf(overlaps);
  }

  /**
   * A path that two fragments both write (a file in both, or a file in one and a directory in the
   * other). Directories that several fragments share ({@code bin/}) are not overlaps. In the image
   * the later fragment's entry wins, as for any tar with a path twice: containerd and Docker
   * replace what an earlier entry made.
   *
   * @param path the path, relative to the dependency root, without a trailing {@code /}
   * @param earlierFragment the index, in the list given, of the first fragment that wrote it
   * @param laterFragment the index of the fragment whose entry is in the image
   */
  public record Overlap(String path, int earlierFragment, int laterFragment) {
    public Overlap {
      Objects.requireNonNull(path, "path");
    }
  }
}
