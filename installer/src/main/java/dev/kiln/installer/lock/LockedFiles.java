package dev.kiln.installer.lock;

import dev.kiln.events.Digest;
import dev.kiln.installer.ArtifactFile;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.LockedDistribution;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Turning the files a lock lists into {@link ArtifactFile}s, the same way for every format. */
final class LockedFiles {
  private LockedFiles() {}

  /**
   * A file with a sha256 hash, or null when the lock gives none (other algorithms are ignored: Kiln
   * stores files by sha256).
   *
   * @param filename the name the lock gives, or null to take it from {@code url} or {@code path}
   * @param sha256 a {@code sha256:<hex>} hash or bare hex, or null
   */
  static ArtifactFile file(String filename, String url, String path, String sha256, long size) {
    if (sha256 == null) {
      return null;
    }
    String hex =
        sha256.startsWith(Digest.PREFIX) ? sha256.substring(Digest.PREFIX.length()) : sha256;
    hex = hex.toLowerCase(Locale.ROOT);
    if (!Digest.isHex(hex)) {
      return null;
    }
    String name = filename != null ? filename : lastSegment(url != null ? url : path);
    if (name == null || name.isBlank()) {
      return null;
    }
    return new ArtifactFile(name, Digest.ofHex(hex), url, size);
  }

  /** The allowed hashes: every file's. */
  static Set<Digest> hashes(List<ArtifactFile> files) {
    Set<Digest> hashes = new LinkedHashSet<>();
    files.forEach(file -> hashes.add(file.sha256()));
    return hashes;
  }

  /** The last path segment of a URL or path, percent-decoded ({@code +} stays {@code +}). */
  static String lastSegment(String location) {
    if (location == null) {
      return null;
    }
    String path = location;
    int cut = indexOfAny(path, '?', '#');
    if (cut >= 0) {
      path = path.substring(0, cut);
    }
    path = path.replace('\\', '/');
    while (path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    return percentDecode(path.substring(path.lastIndexOf('/') + 1));
  }

  private static int indexOfAny(String text, char a, char b) {
    int i = text.indexOf(a);
    int j = text.indexOf(b);
    return i < 0 ? j : (j < 0 ? i : Math.min(i, j));
  }

  static String percentDecode(String text) {
    if (text.indexOf('%') < 0) {
      return text;
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    for (int i = 0; i < text.length(); ) {
      int c = text.codePointAt(i);
      if (c == '%'
          && i + 2 < text.length()
          && isHex(text.charAt(i + 1))
          && isHex(text.charAt(i + 2))) {
        bytes.write(Integer.parseInt(text.substring(i + 1, i + 3), 16));
        i += 3;
      } else {
        byte[] encoded = new String(Character.toChars(c)).getBytes(StandardCharsets.UTF_8);
        bytes.write(encoded, 0, encoded.length);
        i += Character.charCount(c);
      }
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }

  private static boolean isHex(char c) {
    return Character.digit(c, 16) >= 0;
  }

  /** A path as a local project names it: {@code ./a/b/} and {@code a/b} are both {@code a/b}. */
  static String localPath(String path) {
    String normalized = path.replace('\\', '/');
    while (normalized.startsWith("./")) {
      normalized = normalized.substring(2);
    }
    while (normalized.endsWith("/") && normalized.length() > 1) {
      normalized = normalized.substring(0, normalized.length() - 1);
    }
    return normalized.isEmpty() ? "." : normalized;
  }

  /**
   * Fails when two versions of one name were chosen for the target, which a consistent lock never
   * asks for (its markers tell forks apart).
   */
  static void requireOnePerName(
      List<LockedDistribution> distributions, String code, String fileName, String fix)
      throws InstallerException {
    Map<String, LockedDistribution> seen = new HashMap<>();
    for (LockedDistribution distribution : distributions) {
      LockedDistribution previous = seen.put(distribution.normalizedName(), distribution);
      if (previous != null) {
        throw new InstallerException(
            code,
            fileName
                + " asks for both "
                + previous.name()
                + " "
                + previous.version()
                + " and "
                + distribution.version()
                + " on the target, and one environment can hold only one. "
                + fix);
      }
    }
  }

  /** Adds {@code file} when it is not null. */
  static void addIfPresent(List<ArtifactFile> files, ArtifactFile file) {
    if (file != null) {
      files.add(file);
    }
  }
}
