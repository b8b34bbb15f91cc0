package dev.kiln.worker.install;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Removes what ties an installed tree to the worker that built it. pip records the wheel it
 * installed from in {@code *.dist-info/direct_url.json} (PEP 610) as an absolute {@code file://}
 * URL into the worker's scratch directory; kept, it would make the same dependency set give
 * different layer bytes on every worker and scratch slot, and it means nothing inside the image.
 */
final class DistInfoCleanup {
  private static final String DIRECT_URL = "direct_url.json";

  private DistInfoCleanup() {}

  static void removeDirectUrls(Path target) throws IOException {
    if (!Files.isDirectory(target)) {
      return;
    }
    try (Stream<Path> entries = Files.list(target)) {
      for (Path distInfo :
          entries.filter(p -> p.getFileName().toString().endsWith(".dist-info")).toList()) {
        if (Files.deleteIfExists(distInfo.resolve(DIRECT_URL))) {
          dropFromRecord(distInfo.resolve("RECORD"), distInfo.getFileName() + "/" + DIRECT_URL);
        }
      }
    }
  }

  private static void dropFromRecord(Path record, String entry) throws IOException {
    if (!Files.isRegularFile(record)) {
      return;
    }
    List<String> lines = Files.readAllLines(record, StandardCharsets.UTF_8);
    String kept =
        lines.stream()
            .filter(line -> !line.startsWith(entry + ",") && !line.startsWith("\"" + entry + "\","))
            .collect(Collectors.joining("\n", "", "\n"));
    Files.writeString(record, kept, StandardCharsets.UTF_8);
  }
}
