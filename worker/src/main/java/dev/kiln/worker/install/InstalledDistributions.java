package dev.kiln.worker.install;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/** Lists the distributions installed in a {@code pip --target} directory, from their metadata. */
public final class InstalledDistributions {
  private InstalledDistributions() {}

  /**
   * {@code name==version} for every {@code *.dist-info/METADATA} at the top of {@code target},
   * sorted by normalised name.
   */
  public static List<String> list(Path target) throws IOException {
    List<String> found = new ArrayList<>();
    if (!Files.isDirectory(target)) {
      return found;
    }
    try (Stream<Path> entries = Files.list(target)) {
      for (Path distInfo :
          entries.filter(p -> p.getFileName().toString().endsWith(".dist-info")).toList()) {
        Path metadata = distInfo.resolve("METADATA");
        if (Files.isRegularFile(metadata)) {
          readNameAndVersion(metadata).ifPresent(found::add);
        }
      }
    }
    found.sort(Comparator.comparing(InstalledDistributions::normalisedName).thenComparing(s -> s));
    return found;
  }

  private static java.util.Optional<String> readNameAndVersion(Path metadata) throws IOException {
    String name = null;
    String version = null;
    // METADATA is an RFC 822 style header block; the description may follow a blank line.
    try (BufferedReader reader = Files.newBufferedReader(metadata, StandardCharsets.UTF_8)) {
      for (String line; (line = reader.readLine()) != null && !line.isEmpty(); ) {
        if (name == null && line.regionMatches(true, 0, "Name:", 0, 5)) {
          name = line.substring(5).strip();
        } else if (version == null && line.regionMatches(true, 0, "Version:", 0, 8)) {
          version = line.substring(8).strip();
        }
      }
    }
    return name == null || version == null
        ? java.util.Optional.empty()
        : java.util.Optional.of(name + "==" + version);
  }

  /** PEP 503 normalisation: lowercase, runs of {@code -_.} become {@code -}. */
  static String normalisedName(String requirement) {
    String name =
        requirement.contains("==")
            ? requirement.substring(0, requirement.indexOf("=="))
            : requirement;
    return name.toLowerCase(Locale.ROOT).replaceAll("[-_.]+", "-");
  }
}
