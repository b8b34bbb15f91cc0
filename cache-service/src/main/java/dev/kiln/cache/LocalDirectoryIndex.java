package dev.kiln.cache;

import dev.kiln.events.Digest;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * A package index in a local directory (a {@code file://} upstream), in any of three layouts:
 *
 * <ol>
 *   <li>a static PEP 503 tree: {@code <dir>/<project>/index.html} (and {@code <dir>/index.html});
 *   <li>one directory of distribution files per project: {@code <dir>/<project>/*.whl};
 *   <li>a flat directory of distribution files: {@code <dir>/*.whl}, grouped by the project name in
 *       each filename (what {@code pip download -d} produces).
 * </ol>
 *
 * <p>Files listed without an {@code index.html} are hashed here (remembered by path, size and
 * modification time); a wheel's {@code Requires-Python} comes from its METADATA. Blocking code.
 */
final class LocalDirectoryIndex {
  private static final Pattern METADATA_ENTRY = Pattern.compile("[^/]+\\.dist-info/METADATA");

  private record Fingerprint(long size, long modifiedMillis) {}

  private record KnownFile(Fingerprint fingerprint, Digest sha256, String requiresPython) {}

  private final Path root;
  private final Map<Path, KnownFile> known = new ConcurrentHashMap<>();

  LocalDirectoryIndex(Path root) {
    this.root = root;
  }

  Path root() {
    return root;
  }

  List<String> projectNames() throws IOException {
    requireRoot();
    Path rootPage = root.resolve("index.html");
    if (Files.isRegularFile(rootPage)) {
      return SimpleHtml.projectNames(Files.readString(rootPage, StandardCharsets.UTF_8));
    }
    TreeSet<String> names = new TreeSet<>();
    for (Path entry : list(root)) {
      String entryName = entry.getFileName().toString();
      if (Files.isDirectory(entry) && ProjectNames.isValid(entryName)) {
        names.add(ProjectNames.normalize(entryName));
      } else if (Files.isRegularFile(entry)) {
        ProjectNames.projectOfFilename(entryName).ifPresent(names::add);
      }
    }
    return List.copyOf(names);
  }

  /** The project's files, or empty when the directory has nothing for it. */
  Optional<ProjectPage> projectPage(String normalizedName) throws IOException {
    requireRoot();
    Path projectDir = null;
    for (Path entry : list(root)) {
      String entryName = entry.getFileName().toString();
      if (Files.isDirectory(entry)
          && ProjectNames.isValid(entryName)
          && ProjectNames.normalize(entryName).equals(normalizedName)) {
        projectDir = entry;
        break;
      }
    }
    if (projectDir != null && Files.isRegularFile(projectDir.resolve("index.html"))) {
      String html = Files.readString(projectDir.resolve("index.html"), StandardCharsets.UTF_8);
      return Optional.of(SimpleHtml.projectPage(normalizedName, html, projectDir.toUri()));
    }
    List<Path> distributions = new ArrayList<>();
    if (projectDir != null) {
      for (Path entry : list(projectDir)) {
        if (Files.isRegularFile(entry)
            && ProjectNames.isDistributionFilename(entry.getFileName().toString())) {
          distributions.add(entry);
        }
      }
    }
    for (Path entry : list(root)) {
      if (Files.isRegularFile(entry)
          && ProjectNames.projectOfFilename(entry.getFileName().toString())
              .filter(normalizedName::equals)
              .isPresent()) {
        distributions.add(entry);
      }
    }
    if (projectDir == null && distributions.isEmpty()) {
      return Optional.empty();
    }
    List<DistributionFile> files = new ArrayList<>(distributions.size());
    for (Path distribution : distributions) {
      KnownFile facts = describe(distribution);
      files.add(
          new DistributionFile(
              distribution.getFileName().toString(),
              distribution.toUri(),
              facts.sha256(),
              facts.requiresPython(),
              null));
    }
    return Optional.of(new ProjectPage(normalizedName, files));
  }

  private KnownFile describe(Path file) throws IOException {
    BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
    Fingerprint fingerprint =
        new Fingerprint(attributes.size(), attributes.lastModifiedTime().toMillis());
    KnownFile cached = known.get(file);
    if (cached != null && cached.fingerprint().equals(fingerprint)) {
      return cached;
    }
    String requiresPython =
        file.getFileName().toString().endsWith(".whl") ? requiresPythonOf(file) : null;
    KnownFile fresh = new KnownFile(fingerprint, Digest.compute(file), requiresPython);
    known.put(file, fresh);
    return fresh;
  }

  /** The wheel's {@code Requires-Python}, or null when it has none or is not a readable zip. */
  static String requiresPythonOf(Path wheel) {
    try (ZipFile zip = new ZipFile(wheel.toFile())) {
      ZipEntry metadata =
          zip.stream()
              .filter(entry -> METADATA_ENTRY.matcher(entry.getName()).matches())
              .findFirst()
              .orElse(null);
      if (metadata == null) {
        return null;
      }
      try (BufferedReader reader =
          new BufferedReader(
              new InputStreamReader(zip.getInputStream(metadata), StandardCharsets.UTF_8))) {
        for (String line; (line = reader.readLine()) != null && !line.isEmpty(); ) {
          if (line.regionMatches(true, 0, "Requires-Python:", 0, 16)) {
            String value = line.substring(16).strip();
            return value.isEmpty() ? null : value;
          }
        }
      }
      return null;
    } catch (IOException notAWheel) {
      return null;
    }
  }

  private void requireRoot() throws IOException {
    if (!Files.isDirectory(root)) {
      throw new IOException(root + " does not exist or is not a directory");
    }
  }

  private static List<Path> list(Path directory) throws IOException {
    try (Stream<Path> entries = Files.list(directory)) {
      return entries.sorted(Comparator.comparing(Path::toString)).toList();
    }
  }
}
