package dev.kiln.buildpack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A behaviour level: the classic Heroku Python buildpack version whose behaviour a build
 * reproduces, with everything that differs between the versions Kiln knows (its Python versions and
 * default, which findings are warnings and which are errors, and the parsing rules that changed).
 * The levels are data ({@code buildpack-levels.json} and one runtime catalog per level), so a new
 * buildpack version is a new entry, not new code.
 *
 * <p>A platform moves its tenants from one level to the next on purpose: see "Behaviour levels" in
 * docs/buildpack.md.
 */
public final class BuildpackLevel {
  static final String RESOURCE = "buildpack-levels.json";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<BuildpackLevel> KNOWN = load();

  /** How a finding in the source is treated at a level. */
  public enum Severity {
    /** Not looked at. */
    ALLOWED,
    /** A warning in the build log; the build goes on. */
    WARNING,
    /** The build fails with the finding's code. */
    ERROR
  }

  private final int version;
  private final String released;
  private final String catalogResource;
  private final Severity herokuPythonDir;
  private final Severity venvDir;
  private final Severity multiplePackageManagers;
  private final Severity pipfileWithoutLock;
  private final Severity setupPyOnly;
  private final boolean runtimeTxtComments;
  private final boolean versionLinesValidatedFirst;
  private final List<String> misspelledPythonVersionFiles;
  private volatile RuntimeCatalog catalog;

  private BuildpackLevel(JsonNode node) {
    this.version = node.path("version").asInt();
    this.released = node.path("released").asText();
    this.catalogResource = node.path("catalog").asText();
    this.herokuPythonDir = severity(node, "herokuPythonDir");
    this.venvDir = severity(node, "venvDir");
    this.multiplePackageManagers = severity(node, "multiplePackageManagers");
    this.pipfileWithoutLock = severity(node, "pipfileWithoutLock");
    this.setupPyOnly = severity(node, "setupPyOnly");
    this.runtimeTxtComments = node.path("runtimeTxtComments").asBoolean();
    this.versionLinesValidatedFirst = node.path("versionLinesValidatedFirst").asBoolean();
    List<String> names = new ArrayList<>();
    node.path("misspelledPythonVersionFiles").forEach(name -> names.add(name.asText()));
    this.misspelledPythonVersionFiles = List.copyOf(names);
  }

  private static Severity severity(JsonNode node, String field) {
    String value = node.path(field).asText("");
    try {
      return Severity.valueOf(value.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(
          RESOURCE
              + ": level "
              + node.path("version")
              + " has no valid "
              + field
              + " ('"
              + value
              + "'; allowed, warning or error)");
    }
  }

  private static List<BuildpackLevel> load() {
    try (InputStream in = BuildpackLevel.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(RESOURCE + " is missing from the jar");
      }
      List<BuildpackLevel> levels = new ArrayList<>();
      for (JsonNode node : JSON.readTree(in).path("levels")) {
        levels.add(new BuildpackLevel(node));
      }
      levels.sort(java.util.Comparator.comparingInt(BuildpackLevel::version));
      return List.copyOf(levels);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Every level Kiln knows, oldest first. */
  public static List<BuildpackLevel> known() {
    return KNOWN;
  }

  /** The known levels for messages: {@code 289, 322, 351}. */
  public static String knownList() {
    return String.join(", ", KNOWN.stream().map(l -> String.valueOf(l.version)).toList());
  }

  /** The oldest level: what App Platform's users build with today, and Kiln's default. */
  public static BuildpackLevel oldest() {
    return KNOWN.get(0);
  }

  /** The newest level. */
  public static BuildpackLevel newest() {
    return KNOWN.get(KNOWN.size() - 1);
  }

  /**
   * The level of buildpack version {@code version}.
   *
   * @throws BuildpackException {@code buildpack::unknown-level} when Kiln has no such level
   */
  public static BuildpackLevel of(int version) throws BuildpackException {
    for (BuildpackLevel level : KNOWN) {
      if (level.version == version) {
        return level;
      }
    }
    throw new BuildpackException(
        Codes.BUILDPACK_UNKNOWN_LEVEL,
        "Kiln has no behaviour level for buildpack version "
            + version
            + ".\n\nThe levels it reproduces are "
            + String.join(", ", KNOWN.stream().map(l -> "v" + l.version).toList())
            + "; choose one of those (the oldest is the default).");
  }

  public int version() {
    return version;
  }

  /** When this buildpack version was released, as its changelog gives it. */
  public String released() {
    return released;
  }

  /** The Python versions this buildpack version offers, its default and its deprecations. */
  public RuntimeCatalog catalog() {
    RuntimeCatalog loaded = catalog;
    if (loaded == null) {
      loaded = RuntimeCatalog.builtIn(catalogResource, "the v" + version + " runtime catalog");
      catalog = loaded;
    }
    return loaded;
  }

  /** A committed {@code .heroku/python/} directory (a Python install of an earlier build). */
  public Severity herokuPythonDir() {
    return herokuPythonDir;
  }

  /** A committed virtual environment ({@code .venv/} or {@code venv/} with a pyvenv.cfg). */
  public Severity venvDir() {
    return venvDir;
  }

  public Severity multiplePackageManagers() {
    return multiplePackageManagers;
  }

  public Severity pipfileWithoutLock() {
    return pipfileWithoutLock;
  }

  /** A {@code setup.py} and no package manager file: pip installs the app itself. */
  public Severity setupPyOnly() {
    return setupPyOnly;
  }

  /** Whether {@code runtime.txt} may hold blank and {@code #} comment lines around the version. */
  public boolean runtimeTxtComments() {
    return runtimeTxtComments;
  }

  /**
   * Whether every {@code .python-version} line is validated before the lines are counted, with an
   * encoding error for a file that is not plain UTF-8 (buildpack v318 and later); otherwise lines
   * are counted first.
   */
  public boolean versionLinesValidatedFirst() {
    return versionLinesValidatedFirst;
  }

  /** File names taken for a misspelled {@code .python-version}: each one fails the build. */
  public List<String> misspelledPythonVersionFiles() {
    return misspelledPythonVersionFiles;
  }

  @Override
  public String toString() {
    return "v" + version;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof BuildpackLevel level && level.version == version;
  }

  @Override
  public int hashCode() {
    return Objects.hash(version);
  }
}
