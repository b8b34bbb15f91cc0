package dev.kiln.installer;

import dev.kiln.events.Digest;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * What a build installs, once a file is chosen for every locked distribution: exact name, version
 * and file (with its hash) per distribution, sorted by normalized name, plus the local projects.
 * Its {@link #digest} names the dependency layer, so two apps whose locks or resolutions come to
 * the same distributions share one layer.
 */
public record ResolvedSet(List<Chosen> distributions, List<LocalProject> localProjects) {

  /**
   * One distribution and the file chosen for the target.
   *
   * @param file a wheel, or an sdist that is built into a wheel
   */
  public record Chosen(String name, String version, ArtifactFile file) {
    public Chosen {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(version, "version");
      Objects.requireNonNull(file, "file");
    }

    public String normalizedName() {
      return LockedDistribution.normalize(name);
    }
  }

  public ResolvedSet {
    distributions =
        distributions.stream().sorted(Comparator.comparing(Chosen::normalizedName)).toList();
    localProjects = List.copyOf(localProjects);
  }

  /**
   * The layer's name: the layout version, the target's Python minor version (what a fragment can
   * depend on) and every distribution's normalized name, version and file hash, each field
   * length-prefixed so no two different sets run together into the same bytes. Local projects are
   * not part of it: they go into the app layer.
   */
  public Digest digest(String pythonMinor, String layoutVersion) {
    MessageDigest sha256 = Digest.newSha256();
    field(sha256, "kiln-resolved-set-v1");
    field(sha256, layoutVersion);
    field(sha256, pythonMinor);
    field(sha256, Integer.toString(distributions.size()));
    for (Chosen chosen : distributions) {
      field(sha256, chosen.normalizedName());
      field(sha256, chosen.version());
      field(sha256, chosen.file().sha256().hex());
    }
    return Digest.fromSha256(sha256);
  }

  private static void field(MessageDigest sha256, String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    sha256.update(ByteBuffer.allocate(Long.BYTES).putLong(bytes.length).array());
    sha256.update(bytes);
  }
}
