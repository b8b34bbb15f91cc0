package dev.kiln.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Real third-party Python packages as wheels, made from the Debian packages installed on this
 * machine, for tests that need real Django or NLTK but may not download from PyPI.
 *
 * <pre>{@code
 * // apt-get install -y --no-install-recommends python3-django  (.ci/run does this)
 * List<Path> wheels =
 *     DebianPythonPackages.onThisMachine().wheelsWithDependencies("python3-django", dir);
 * // dir: django-3.2.25-py3-none-any.whl, asgiref-3.6.0-py3-none-any.whl,
 * //      sqlparse-0.4.2-py3-none-any.whl, pytz-2022.7.1-py3-none-any.whl
 * }</pre>
 *
 * A wheel holds the package's files under {@code /usr/lib/python3/dist-packages} as {@code dpkg -L}
 * lists them, without {@code __pycache__}; a symlink (Debian points some static files at {@code
 * /usr/share/javascript}) becomes the file it points to, and a dangling one is left out. Name,
 * version and the rest of {@code METADATA} come from the package's {@code .egg-info} or {@code
 * .dist-info}, with an egg's {@code requires.txt} turned into {@code Requires-Dist} lines; its
 * {@code entry_points.txt} is kept, so pip makes the console scripts. Debian strips some
 * requirements from that metadata (Django's on asgiref, NLTK's on regex) and says them in the
 * package's {@code Depends} instead, so each {@code python3-*} package it depends on that ships a
 * Python distribution is added as an unversioned {@code Requires-Dist} unless the metadata already
 * names it. The wheel is {@code py3-none-any}, or {@code cp3XY-cp3XY-linux_<arch>} when the package
 * holds extension modules ({@code *.cpython-3XY-<arch>-linux-gnu.so}); such a wheel only works with
 * that Python version, the one Debian built it for. The same installed files always give the same
 * bytes.
 */
public final class DebianPythonPackages {
  /** Where Debian installs the Python 3 packages of every Python version it ships. */
  public static final Path DIST_PACKAGES = Path.of("/usr/lib/python3/dist-packages");

  private static final Pattern EXTENSION_MODULE =
      Pattern.compile("\\.cpython-3(\\d+)-([a-z0-9_]+-linux-gnu[a-z]*)\\.so$");
  // Debian's multiarch triplets and the platform tag of each (PEP 425 linux_<machine>).
  private static final Map<String, String> PLATFORMS =
      Map.of(
          "x86_64-linux-gnu", "linux_x86_64",
          "aarch64-linux-gnu", "linux_aarch64",
          "i386-linux-gnu", "linux_i686",
          "arm-linux-gnueabihf", "linux_armv7l",
          "powerpc64le-linux-gnu", "linux_ppc64le",
          "s390x-linux-gnu", "linux_s390x",
          "riscv64-linux-gnu", "linux_riscv64");
  private static final Pattern REQUIREMENT_NAME =
      Pattern.compile("^\\s*([A-Za-z0-9][A-Za-z0-9._-]*)");
  private static final Pattern DEPENDENCY_NAME = Pattern.compile("^\\s*([a-z0-9][a-z0-9+.-]*)");

  private final Dpkg dpkg;
  private final Path distPackages;

  DebianPythonPackages(Dpkg dpkg, Path distPackages) {
    this.dpkg = dpkg;
    this.distPackages = distPackages;
  }

  /** The Debian packages installed on this machine (read with {@code dpkg-query}). */
  public static DebianPythonPackages onThisMachine() {
    return new DebianPythonPackages(Dpkg.system(), DIST_PACKAGES);
  }

  /**
   * A wheel of the installed {@code debianPackage} (e.g. {@code "python3-django"}), ready to write
   * or to change further.
   *
   * @throws DebianPackageNotInstalledException when it is not installed (the message says how to
   *     install it)
   * @throws IllegalStateException when the package ships no Python distribution, or several
   */
  public WheelBuilder wheel(String debianPackage) {
    return build(debianPackage).wheel();
  }

  /** Writes {@link #wheel} into {@code directory} (created if missing); returns its path. */
  public Path writeWheel(String debianPackage, Path directory) {
    return wheel(debianPackage).writeTo(directory);
  }

  /**
   * Writes the wheel of {@code debianPackage} and of every Python package it depends on, directly
   * or not, into {@code directory}: the set {@code pip install --no-index --find-links <directory>
   * <name>} needs. Dependencies are the {@code python3-*} packages in Debian's {@code Depends} that
   * ship a Python distribution; a choice of alternatives that the interpreter itself can satisfy
   * ({@code python3-typing-extensions | python3 (>> 3.8)}) is a backport, and left out.
   *
   * @return the wheels written, {@code debianPackage}'s first
   */
  public List<Path> wheelsWithDependencies(String debianPackage, Path directory) {
    List<Path> written = new ArrayList<>();
    Set<String> seen = new LinkedHashSet<>(List.of(debianPackage));
    Deque<String> pending = new ArrayDeque<>(seen);
    while (!pending.isEmpty()) {
      Built built = build(pending.removeFirst());
      written.add(built.wheel().writeTo(directory));
      for (Dependency dependency : built.dependencies()) {
        if (seen.add(dependency.debianPackage())) {
          pending.addLast(dependency.debianPackage());
        }
      }
    }
    return written;
  }

  /** The Python packages {@code debianPackage} depends on, as Debian names and Python names. */
  List<Dependency> pythonDependencies(String debianPackage) {
    List<Dependency> dependencies = new ArrayList<>();
    for (String group : dpkg.depends(debianPackage).split(",")) {
      if (group.isBlank()) {
        continue;
      }
      List<String> alternatives = new ArrayList<>();
      for (String alternative : group.split("\\|")) {
        Matcher name = DEPENDENCY_NAME.matcher(alternative);
        if (name.find()) {
          alternatives.add(name.group(1));
        }
      }
      // python3 itself, a C library, tzdata, procps: nothing pip could install.
      if (alternatives.isEmpty()
          || alternatives.stream().anyMatch(name -> !name.startsWith("python3-"))) {
        continue;
      }
      // dpkg keeps dependencies installed, so when no alternative is, the dependency is a virtual
      // package (python3-numpy-abi9) some installed package provides: nothing of its own to add.
      Optional<String> chosen = alternatives.stream().filter(dpkg::isInstalled).findFirst();
      if (chosen.isEmpty()) {
        continue;
      }
      // E.g. python3-pkg-resources: part of setuptools, with no distribution of its own.
      distribution(chosen.get(), dpkg.files(chosen.get()))
          .ifPresent(found -> dependencies.add(new Dependency(chosen.get(), found.name())));
    }
    return dependencies;
  }

  record Dependency(String debianPackage, String distributionName) {}

  private record Built(WheelBuilder wheel, List<Dependency> dependencies) {}

  private Built build(String debianPackage) {
    if (!dpkg.isInstalled(debianPackage)) {
      throw new DebianPackageNotInstalledException(
          debianPackage,
          "The Debian package "
              + debianPackage
              + " is not installed, so there is no wheel to make of it");
    }
    List<Path> files = dpkg.files(debianPackage);
    Distribution distribution =
        distribution(debianPackage, files)
            .orElseThrow(
                () ->
                    new IllegalStateException(
                        debianPackage
                            + " ships no Python distribution (no *.egg-info or *.dist-info in "
                            + distPackages
                            + "), so it cannot become a wheel: pick the python3-* package that"
                            + " holds the Python code"));
    List<Dependency> dependencies = pythonDependencies(debianPackage);
    SortedMap<String, byte[]> contents = contents(debianPackage, files, distribution.directory());

    WheelBuilder wheel = WheelBuilder.wheel(distribution.name(), distribution.version());
    tag(debianPackage, contents.keySet(), wheel);
    contents.forEach(wheel::file);
    wheel.distInfoFile("METADATA", distribution.metadataRequiring(dependencies));
    if (distribution.entryPoints() != null) {
      wheel.distInfoFile("entry_points.txt", distribution.entryPoints());
    }
    return new Built(wheel, dependencies);
  }

  /** The files to put in the wheel, by path inside it, sorted so the bytes never vary. */
  private SortedMap<String, byte[]> contents(
      String debianPackage, List<Path> files, Path metadataDirectory) {
    SortedMap<String, byte[]> contents = new TreeMap<>();
    try {
      for (Path file : files) {
        if (!file.startsWith(distPackages)
            || file.equals(distPackages)
            || file.startsWith(metadataDirectory)) {
          continue;
        }
        String path = insideWheel(distPackages.relativize(file));
        if (isBytecode(path)) {
          continue;
        }
        if (Files.isSymbolicLink(file)) {
          if (!Files.exists(file)) {
            continue; // dangling: what it pointed at is not installed
          }
          if (Files.isDirectory(file)) {
            addTree(file, path, contents);
          } else {
            contents.put(path, Files.readAllBytes(file));
          }
        } else if (Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
          contents.put(path, Files.readAllBytes(file));
        } else if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
          throw new IllegalStateException(
              file
                  + " belongs to "
                  + debianPackage
                  + " but is missing: reinstall it with apt-get install -y --reinstall"
                  + " --no-install-recommends "
                  + debianPackage);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("could not read the files of " + debianPackage, e);
    }
    return contents;
  }

  /** A symlinked directory: every file under it, as if the directory were really there. */
  private static void addTree(Path link, String path, SortedMap<String, byte[]> contents)
      throws IOException {
    List<Path> found;
    try (Stream<Path> tree = Files.walk(link, FileVisitOption.FOLLOW_LINKS)) {
      found = tree.filter(Files::isRegularFile).sorted().toList();
    }
    for (Path file : found) {
      String inside = path + "/" + insideWheel(link.relativize(file));
      if (!isBytecode(inside)) {
        contents.put(inside, Files.readAllBytes(file));
      }
    }
  }

  private static String insideWheel(Path relative) {
    List<String> names = new ArrayList<>();
    relative.forEach(name -> names.add(name.toString()));
    return String.join("/", names);
  }

  private static boolean isBytecode(String path) {
    return path.startsWith("__pycache__/")
        || path.contains("/__pycache__/")
        || path.endsWith(".pyc");
  }

  /** {@code cp3XY-cp3XY-linux_<arch>} for extension modules, else {@code py3-none-any}. */
  private static void tag(String debianPackage, Set<String> paths, WheelBuilder wheel) {
    Set<String> pythons = new TreeSet<>();
    Set<String> platforms = new TreeSet<>();
    String unversioned = null;
    for (String path : paths) {
      Matcher extension = EXTENSION_MODULE.matcher(path);
      if (extension.find()) {
        String platform = PLATFORMS.get(extension.group(2));
        if (platform == null) {
          throw new IllegalStateException(
              path
                  + " in "
                  + debianPackage
                  + " is built for "
                  + extension.group(2)
                  + ", which has no known wheel platform tag; known: "
                  + new TreeSet<>(PLATFORMS.keySet()));
        }
        pythons.add("cp3" + extension.group(1));
        platforms.add(platform);
      } else if (path.endsWith(".so")) {
        unversioned = path;
      }
    }
    if (pythons.isEmpty() && unversioned != null) {
      throw new IllegalStateException(
          unversioned
              + " in "
              + debianPackage
              + " is native code without a Python version in its name (e.g. a stable-ABI"
              + " .abi3.so), so the wheel's tag cannot be told from the files; only"
              + " *.cpython-3XY-<arch>-linux-gnu.so extension modules are supported");
    }
    if (!pythons.isEmpty()) {
      String python = String.join(".", pythons);
      wheel.tag(python, python, String.join(".", platforms));
    }
  }

  /** The package's one Python distribution: the *.egg-info or *.dist-info it ships. */
  private Optional<Distribution> distribution(String debianPackage, List<Path> files) {
    List<Path> metadata =
        files.stream()
            .filter(file -> distPackages.equals(file.getParent()))
            .filter(
                file -> {
                  String name = file.getFileName().toString();
                  return name.endsWith(".egg-info") || name.endsWith(".dist-info");
                })
            .distinct()
            .sorted()
            .toList();
    if (metadata.isEmpty()) {
      return Optional.empty();
    }
    if (metadata.size() > 1) {
      throw new IllegalStateException(
          debianPackage
              + " ships "
              + metadata.size()
              + " Python distributions ("
              + metadata
              + "); only a package with one can become a wheel");
    }
    try {
      return Optional.of(Distribution.read(metadata.get(0)));
    } catch (IOException e) {
      throw new UncheckedIOException("could not read the Python metadata of " + debianPackage, e);
    }
  }

  /** The metadata of an installed distribution, turned into what a wheel's .dist-info holds. */
  private record Distribution(
      Path directory, String name, String version, String metadata, byte[] entryPoints) {

    static Distribution read(Path directory) throws IOException {
      String metadata;
      byte[] entryPoints = null;
      if (Files.isRegularFile(directory)) {
        metadata = Files.readString(directory, StandardCharsets.UTF_8); // a single-file egg-info
      } else {
        boolean isEgg = directory.getFileName().toString().endsWith(".egg-info");
        metadata =
            Files.readString(
                directory.resolve(isEgg ? "PKG-INFO" : "METADATA"), StandardCharsets.UTF_8);
        Path requires = directory.resolve("requires.txt");
        if (isEgg
            && Files.isRegularFile(requires)
            && headerValues(metadata, "Requires-Dist").isEmpty()) {
          metadata = withHeaders(metadata, fromRequiresTxt(Files.readString(requires)));
        }
        Path entryPointsFile = directory.resolve("entry_points.txt");
        if (Files.isRegularFile(entryPointsFile)) {
          entryPoints = Files.readAllBytes(entryPointsFile);
        }
      }
      List<String> names = headerValues(metadata, "Name");
      List<String> versions = headerValues(metadata, "Version");
      if (names.size() != 1 || versions.size() != 1) {
        throw new IllegalStateException(
            directory + " does not say one Name and one Version, so it names no wheel");
      }
      return new Distribution(directory, names.get(0), versions.get(0), metadata, entryPoints);
    }

    /** METADATA with a Requires-Dist for each dependency the metadata does not name yet. */
    byte[] metadataRequiring(List<Dependency> dependencies) {
      Set<String> named = new TreeSet<>();
      for (String requirement : headerValues(metadata, "Requires-Dist")) {
        Matcher name = REQUIREMENT_NAME.matcher(requirement);
        if (name.find()) {
          named.add(normalize(name.group(1)));
        }
      }
      List<String> added = new ArrayList<>();
      for (Dependency dependency : dependencies) {
        if (named.add(normalize(dependency.distributionName()))) {
          added.add("Requires-Dist: " + dependency.distributionName());
        }
      }
      return withHeaders(metadata, added).getBytes(StandardCharsets.UTF_8);
    }
  }

  /**
   * setuptools' {@code requires.txt} as {@code Requires-Dist} and {@code Provides-Extra} lines:
   * sections {@code [extra]}, {@code [:marker]} and {@code [extra:marker]} become markers.
   */
  static List<String> fromRequiresTxt(String requiresTxt) {
    List<String> requiresDist = new ArrayList<>();
    Set<String> extras = new LinkedHashSet<>();
    String sectionMarker = null;
    for (String rawLine : requiresTxt.lines().toList()) {
      String line = rawLine.strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      if (line.startsWith("[") && line.endsWith("]")) {
        String section = line.substring(1, line.length() - 1);
        int colon = section.indexOf(':');
        String extra = (colon < 0 ? section : section.substring(0, colon)).strip();
        String marker = colon < 0 ? "" : section.substring(colon + 1).strip();
        List<String> parts = new ArrayList<>();
        if (!marker.isEmpty()) {
          parts.add(extra.isEmpty() ? marker : "(" + marker + ")");
        }
        if (!extra.isEmpty()) {
          extras.add(extra);
          parts.add("extra == \"" + extra + "\"");
        }
        sectionMarker = parts.isEmpty() ? null : String.join(" and ", parts);
        continue;
      }
      String requirement = line;
      if (sectionMarker != null) {
        int semicolon = line.indexOf(';');
        requirement =
            semicolon < 0
                ? line + "; " + sectionMarker
                : line.substring(0, semicolon).strip()
                    + "; ("
                    + line.substring(semicolon + 1).strip()
                    + ") and "
                    + sectionMarker;
      }
      requiresDist.add("Requires-Dist: " + requirement);
    }
    List<String> headers = new ArrayList<>();
    extras.forEach(extra -> headers.add("Provides-Extra: " + extra));
    headers.addAll(requiresDist);
    return headers;
  }

  /** The values of a header in the metadata's header block (before the first empty line). */
  static List<String> headerValues(String metadata, String header) {
    List<String> values = new ArrayList<>();
    String prefix = header.toLowerCase(Locale.ROOT) + ":";
    for (String line : metadata.lines().toList()) {
      if (line.isEmpty()) {
        break;
      }
      if (line.toLowerCase(Locale.ROOT).startsWith(prefix)) {
        values.add(line.substring(prefix.length()).strip());
      }
    }
    return values;
  }

  /**
   * The metadata with {@code headers} added at the end of its header block, leaving the body (the
   * description after the first empty line) as it was. Headers already there are not repeated.
   */
  static String withHeaders(String metadata, List<String> headers) {
    List<String> existing = metadata.lines().takeWhile(line -> !line.isEmpty()).toList();
    List<String> added = headers.stream().filter(header -> !existing.contains(header)).toList();
    if (added.isEmpty()) {
      return metadata;
    }
    String addition = String.join("\n", added) + "\n";
    int blank = metadata.indexOf("\n\n");
    if (blank >= 0) {
      return metadata.substring(0, blank + 1) + addition + metadata.substring(blank + 1);
    }
    return (metadata.isEmpty() || metadata.endsWith("\n") ? metadata : metadata + "\n") + addition;
  }

  private static String normalize(String name) {
    return name.replaceAll("[-_.]+", "-").toLowerCase(Locale.ROOT);
  }
}
