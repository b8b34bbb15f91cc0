package dev.kiln.installer;

import dev.kiln.events.Digest;
import java.util.Objects;

/**
 * One file of a distribution (a wheel or an sdist), as a lock or an index names it.
 *
 * @param filename the file's name ({@code flask-3.0.0-py3-none-any.whl}); never a path
 * @param sha256 its hash
 * @param url where a lock says it came from, or null; Kiln fetches every file from its own store by
 *     hash, so this is informative only
 * @param size its length in bytes, or -1 when unknown
 */
public record ArtifactFile(String filename, Digest sha256, String url, long size) {
  public ArtifactFile {
    Objects.requireNonNull(filename, "filename");
    Objects.requireNonNull(sha256, "sha256");
    if (filename.isBlank() || filename.contains("/") || filename.contains("\\")) {
      throw new IllegalArgumentException("'" + filename + "' is not a file name");
    }
  }

  public boolean isWheel() {
    return filename.endsWith(".whl");
  }
}
