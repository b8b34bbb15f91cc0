package dev.kiln.installer.lock;

import dev.kiln.installer.LocalProject;
import dev.kiln.installer.LockedDistribution;
import dev.kiln.installer.LockedSet;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** Test resources under {@code lock/}: real lock files copied from public repositories. */
final class Fixtures {
  private Fixtures() {}

  static byte[] bytes(String path) {
    try (InputStream in = Fixtures.class.getResourceAsStream("/lock/" + path)) {
      if (in == null) {
        throw new IllegalArgumentException("no test resource lock/" + path);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String text(String path) {
    return new String(bytes(path), StandardCharsets.UTF_8);
  }

  static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /** normalized name → version. */
  static Map<String, String> versions(LockedSet set) {
    Map<String, String> versions = new LinkedHashMap<>();
    for (LockedDistribution distribution : set.distributions()) {
      versions.put(distribution.normalizedName(), distribution.version());
    }
    return versions;
  }

  static LockedDistribution distribution(LockedSet set, String name) {
    return set.distributions().stream()
        .filter(d -> d.normalizedName().equals(LockedDistribution.normalize(name)))
        .findFirst()
        .orElseThrow(() -> new AssertionError(name + " is not in " + versions(set)));
  }

  static LocalProject project(String path, boolean editable) {
    return new LocalProject(path, editable);
  }
}
