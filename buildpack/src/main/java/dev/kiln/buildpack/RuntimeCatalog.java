package dev.kiln.buildpack;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The Python runtimes the farm can build on: each exact Python version mapped to the runtime base
 * image that contains exactly that version, and the glibc that image has (which decides the wheels
 * that run on it). This is data, verified by the worker the first time it uses an image: the
 * default ships as the resource {@code dev/kiln/buildpack/runtime-catalog.json} (the App Platform
 * list, registry images), the offline one as {@code runtime-catalog-offline.json} (Debian suites
 * Kiln builds itself), and operators replace or extend either with their own file (see {@code
 * docs/buildpack.md}).
 *
 * <p>Image references are opaque strings; the worker understands prefixes such as {@code
 * registry:}, {@code tar:}, {@code docker:} and {@code debootstrap:}.
 */
public final class RuntimeCatalog {
  static final String DEFAULT_RESOURCE = "runtime-catalog.json";
  static final String OFFLINE_RESOURCE = "runtime-catalog-offline.json";

  /**
   * The glibc assumed when a catalog does not say: the manylinux2014 baseline, which every image
   * Kiln can run on has, so wheels chosen for it always load.
   */
  public static final String BASELINE_GLIBC = "2.17";

  private static final long MAX_FILE_BYTES = 1024 * 1024;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final java.util.regex.Pattern GLIBC =
      java.util.regex.Pattern.compile("2\\.\\d{1,3}");

  /**
   * One runtime: an image that contains exactly {@code python}, on a glibc of {@code glibc}.
   *
   * @param python the exact version the image's {@code python3} reports ({@code 3.11.2})
   * @param image the image reference (opaque here; the worker parses it)
   * @param glibc the image's glibc version ({@code 2.36}); wheels are chosen for it
   */
  public record Runtime(String python, String image, String glibc) {
    public Runtime {
      java.util.Objects.requireNonNull(python, "python");
      java.util.Objects.requireNonNull(image, "image");
      java.util.Objects.requireNonNull(glibc, "glibc");
    }

    /** The {@code X.Y} part of {@link #python()}. */
    public String minor() {
      return VersionNumber.parse(python).map(v -> v.minorVersion().toString()).orElse(python);
    }
  }

  /**
   * A patch release and where it runs. {@code image} is null for a version a behaviour level knows
   * but this farm has no runtime for ({@link #atLevel}): the planner names it, then fails.
   */
  private record Entry(String image, String glibc) {
    boolean onFarm() {
      return image != null;
    }
  }

  /** minor ({@code X.Y}) → patch → image and glibc. */
  private final NavigableMap<VersionNumber, NavigableMap<Integer, Entry>> versions;

  private final VersionNumber defaultMinor;
  private final Set<VersionNumber> deprecatedMinors;

  private RuntimeCatalog(
      NavigableMap<VersionNumber, NavigableMap<Integer, Entry>> versions,
      VersionNumber defaultMinor,
      Set<VersionNumber> deprecatedMinors) {
    this.versions = versions;
    this.defaultMinor = defaultMinor;
    this.deprecatedMinors = deprecatedMinors;
  }

  /** The catalog shipped with Kiln: the App Platform list of Python versions, registry images. */
  public static RuntimeCatalog loadDefault() {
    return builtIn(DEFAULT_RESOURCE, "the built-in runtime catalog");
  }

  /**
   * The catalog for a farm that cannot pull images: one runtime per Debian suite, built by the
   * worker with debootstrap on first use (bullseye 3.9.2, bookworm 3.11.2, trixie 3.13.5, forky
   * 3.14.8). There is no Debian suite with 3.10 or 3.12, so offline those are not available.
   */
  public static RuntimeCatalog loadOffline() {
    return builtIn(OFFLINE_RESOURCE, "the built-in offline runtime catalog");
  }

  static RuntimeCatalog builtIn(String resource, String source) {
    try (InputStream in = RuntimeCatalog.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(source + " (" + resource + ") is missing from the jar");
      }
      return parse(in.readAllBytes(), source, Map.of());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (BuildpackException e) {
      throw new IllegalStateException(source + " is invalid: " + e.getMessage(), e);
    }
  }

  /**
   * A catalog of exactly these runtimes (tests, programs that build their own); the default minor
   * is the newest, none is deprecated.
   *
   * @throws IllegalArgumentException for an empty list or a version that is not exact
   */
  public static RuntimeCatalog of(List<Runtime> runtimes) {
    NavigableMap<VersionNumber, NavigableMap<Integer, Entry>> versions = new TreeMap<>();
    for (Runtime runtime : runtimes) {
      VersionNumber version =
          VersionNumber.parse(runtime.python())
              .filter(VersionNumber::exact)
              .orElseThrow(
                  () ->
                      new IllegalArgumentException(
                          "'" + runtime.python() + "' is not an exact version such as 3.12.7"));
      versions
          .computeIfAbsent(version.minorVersion(), k -> new TreeMap<>())
          .put(version.patch(), new Entry(runtime.image(), runtime.glibc()));
    }
    if (versions.isEmpty()) {
      throw new IllegalArgumentException("a runtime catalog needs at least one runtime");
    }
    return new RuntimeCatalog(versions, versions.lastKey(), Set.of());
  }

  /**
   * Reads an operator's catalog file. With {@code "extends": "default"} (or {@code "offline"}) it
   * changes that built-in catalog (a minor listed in the file replaces that minor); without, it
   * replaces it.
   */
  public static RuntimeCatalog load(Path jsonFile) throws BuildpackException {
    byte[] bytes;
    try {
      if (!Files.isRegularFile(jsonFile)) {
        throw new BuildpackException(
            Codes.RUNTIME_CATALOG_UNREADABLE,
            "The runtime catalog file "
                + Text.quote(jsonFile.toString(), 300)
                + " does not exist or is not a file."
                + "\n\nCheck the path given with --runtime-catalog or KILN_RUNTIME_CATALOG.");
      }
      if (Files.size(jsonFile) > MAX_FILE_BYTES) {
        throw new BuildpackException(
            Codes.RUNTIME_CATALOG_INVALID,
            "The runtime catalog file "
                + Text.quote(jsonFile.toString(), 300)
                + " is larger than 1 MiB."
                + "\n\nA catalog lists Python versions and image references; check that this is the right file.");
      }
      bytes = Files.readAllBytes(jsonFile);
    } catch (IOException e) {
      throw new BuildpackException(
          Codes.RUNTIME_CATALOG_UNREADABLE,
          "The runtime catalog file "
              + Text.quote(jsonFile.toString(), 300)
              + " could not be read: "
              + Text.quote(String.valueOf(e.getMessage()), 300));
    }
    return parse(
        bytes,
        "the runtime catalog " + Text.quote(jsonFile.toString(), 300),
        Map.of("default", RuntimeCatalog::loadDefault, "offline", RuntimeCatalog::loadOffline));
  }

  static RuntimeCatalog parse(
      byte[] bytes,
      String source,
      Map<String, java.util.function.Supplier<RuntimeCatalog>> extendable)
      throws BuildpackException {
    JsonNode root;
    try {
      root = JSON.readTree(bytes);
    } catch (JacksonException e) {
      throw invalid(source, "it is not valid JSON: " + Text.quote(e.getOriginalMessage(), 300));
    } catch (IOException e) {
      throw invalid(
          source, "it could not be parsed: " + Text.quote(String.valueOf(e.getMessage()), 300));
    }
    if (root == null || !root.isObject()) {
      throw invalid(source, "the top level must be a JSON object");
    }
    JsonNode schema = root.get("schemaVersion");
    if (schema != null && !(schema.isInt() && schema.asInt() == 1)) {
      throw invalid(source, "schemaVersion must be 1");
    }

    NavigableMap<VersionNumber, NavigableMap<Integer, Entry>> versions = new TreeMap<>();
    VersionNumber defaultMinor = null;
    Set<VersionNumber> deprecated = new TreeSet<>();
    JsonNode extendsNode = root.get("extends");
    if (extendsNode != null && !extendsNode.isNull()) {
      var base = extendable.get(extendsNode.asText());
      if (base == null) {
        throw invalid(source, "\"extends\" can only be \"default\" or \"offline\"");
      }
      RuntimeCatalog extended = base.get();
      extended.versions.forEach((minor, patches) -> versions.put(minor, new TreeMap<>(patches)));
      defaultMinor = extended.defaultMinor;
      deprecated.addAll(extended.deprecatedMinors);
    }

    String template = optionalText(root, "imageTemplate", source);
    String catalogGlibc = glibc(root, "the catalog", source, BASELINE_GLIBC);
    JsonNode minors = root.get("minors");
    if (minors != null && !minors.isNull()) {
      if (!minors.isObject()) {
        throw invalid(
            source, "\"minors\" must be an object such as {\"3.12\": {\"patches\": \"0-7\"}}");
      }
      for (Map.Entry<String, JsonNode> entry : minors.properties()) {
        VersionNumber minor = minorKey(entry.getKey(), source);
        JsonNode spec = entry.getValue();
        if (!spec.isObject()) {
          throw invalid(
              source, "minor " + entry.getKey() + " must map to an object with \"patches\"");
        }
        String minorTemplate = optionalText(spec, "imageTemplate", source);
        String effective = minorTemplate != null ? minorTemplate : template;
        if (effective == null) {
          throw invalid(
              source,
              "minor " + entry.getKey() + " has no imageTemplate and the catalog has none either");
        }
        String minorGlibc = glibc(spec, "minor " + entry.getKey(), source, catalogGlibc);
        NavigableMap<Integer, Entry> patches = new TreeMap<>();
        for (int patch : patchList(spec.get("patches"), entry.getKey(), source)) {
          String version = minor + "." + patch;
          patches.put(
              patch,
              new Entry(
                  effective.replace("{version}", version).replace("{minor}", minor.toString()),
                  minorGlibc));
        }
        versions.put(minor, patches);
      }
    }

    JsonNode runtimes = root.get("runtimes");
    if (runtimes != null && !runtimes.isNull()) {
      if (!runtimes.isArray()) {
        throw invalid(
            source,
            "\"runtimes\" must be a list such as [{\"python\": \"3.11.2\", \"image\":"
                + " \"debootstrap:bookworm\", \"glibc\": \"2.36\"}]");
      }
      for (JsonNode runtime : runtimes) {
        if (!runtime.isObject()) {
          throw invalid(source, "every entry of \"runtimes\" must be an object");
        }
        String python = optionalText(runtime, "python", source);
        Optional<VersionNumber> exact =
            python == null ? Optional.empty() : VersionNumber.parse(python);
        if (exact.isEmpty() || !exact.get().exact()) {
          throw invalid(
              source,
              "every runtime needs \"python\": the exact version its image contains, such as"
                  + " \"3.11.2\" (got "
                  + (python == null ? "none" : "'" + Text.quote(python) + "'")
                  + ")");
        }
        String image = optionalText(runtime, "image", source);
        if (image == null || image.isBlank()) {
          throw invalid(source, "the runtime for Python " + python + " needs an \"image\"");
        }
        String runtimeGlibc =
            glibc(runtime, "the runtime for Python " + python, source, catalogGlibc);
        versions
            .computeIfAbsent(exact.get().minorVersion(), k -> new TreeMap<>())
            .put(exact.get().patch(), new Entry(image.strip(), runtimeGlibc));
      }
    }

    JsonNode images = root.get("images");
    if (images != null && !images.isNull()) {
      if (!images.isObject()) {
        throw invalid(source, "\"images\" must be an object from version to image reference");
      }
      for (Map.Entry<String, JsonNode> entry : images.properties()) {
        JsonNode value = entry.getValue();
        String image = value.isObject() ? optionalText(value, "image", source) : value.asText();
        if (!(value.isTextual() || value.isObject()) || image == null || image.isBlank()) {
          throw invalid(
              source,
              "the image for "
                  + Text.quote(entry.getKey())
                  + " must be a non-empty string or {\"image\": …, \"glibc\": …}");
        }
        String imageGlibc =
            value.isObject() ? glibc(value, "the image for " + entry.getKey(), source, null) : null;
        try {
          applyOverride(versions, entry.getKey(), image, imageGlibc);
        } catch (IllegalArgumentException e) {
          throw invalid(source, e.getMessage());
        }
      }
    }

    String defaultText = optionalText(root, "defaultMinor", source);
    if (defaultText != null) {
      defaultMinor = minorKey(defaultText, source);
    }
    JsonNode deprecatedNode = root.get("deprecatedMinors");
    if (deprecatedNode != null && !deprecatedNode.isNull()) {
      if (!deprecatedNode.isArray()) {
        throw invalid(source, "\"deprecatedMinors\" must be a list such as [\"3.9\"]");
      }
      deprecated.clear();
      for (JsonNode minor : deprecatedNode) {
        deprecated.add(minorKey(minor.asText(), source));
      }
    }
    versions.values().removeIf(Map::isEmpty);
    if (versions.isEmpty()) {
      throw invalid(source, "it lists no Python versions");
    }
    if (defaultMinor == null) {
      throw invalid(source, "it has no \"defaultMinor\"");
    }
    if (!versions.containsKey(defaultMinor)) {
      throw invalid(
          source, "the default minor " + defaultMinor + " has no versions in the catalog");
    }
    return new RuntimeCatalog(versions, defaultMinor, Collections.unmodifiableSet(deprecated));
  }

  /** The glibc field of a catalog node, or {@code inherited} when it has none. */
  private static String glibc(JsonNode node, String what, String source, String inherited)
      throws BuildpackException {
    String value = optionalText(node, "glibc", source);
    if (value == null) {
      return inherited;
    }
    if (!GLIBC.matcher(value.strip()).matches()) {
      throw invalid(
          source,
          "the glibc of "
              + what
              + " is '"
              + Text.quote(value)
              + "'; give the version its image has, such as \"2.36\" (ldd --version prints it)");
    }
    return value.strip();
  }

  /**
   * Points a version at another image: an exact version is added or replaced; a minor changes the
   * image of every patch it has. A null {@code glibc} keeps what the catalog says (the baseline for
   * a new version).
   */
  private static void applyOverride(
      NavigableMap<VersionNumber, NavigableMap<Integer, Entry>> versions,
      String key,
      String image,
      String glibc) {
    Optional<VersionNumber> parsed = VersionNumber.parse(key);
    if (parsed.isEmpty()) {
      throw new IllegalArgumentException(
          "'" + Text.quote(key) + "' is not a version such as 3.14.0 or 3.14");
    }
    VersionNumber version = parsed.get();
    if (version.exact()) {
      NavigableMap<Integer, Entry> patches =
          versions.computeIfAbsent(version.minorVersion(), k -> new TreeMap<>());
      Entry old = patches.get(version.patch());
      String kept = glibc != null ? glibc : old != null ? old.glibc() : BASELINE_GLIBC;
      patches.put(version.patch(), new Entry(image, kept));
      return;
    }
    NavigableMap<Integer, Entry> patches = versions.get(version);
    if (patches == null || patches.isEmpty()) {
      throw new IllegalArgumentException(
          "the catalog has no patches of "
              + version
              + " to point at '"
              + Text.quote(image)
              + "'; name an exact version such as "
              + version
              + ".0 to add one");
    }
    patches.replaceAll((patch, old) -> new Entry(image, glibc != null ? glibc : old.glibc()));
  }

  private static String optionalText(JsonNode node, String field, String source)
      throws BuildpackException {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      return null;
    }
    if (!value.isTextual()) {
      throw invalid(source, "\"" + field + "\" must be a string");
    }
    return value.asText();
  }

  private static VersionNumber minorKey(String text, String source) throws BuildpackException {
    Optional<VersionNumber> parsed = VersionNumber.parse(text);
    if (parsed.isEmpty() || parsed.get().exact()) {
      throw invalid(source, "'" + Text.quote(text) + "' is not a minor version such as 3.12");
    }
    return parsed.get();
  }

  /** Patches as "0-7", "0-5,7", or a list of numbers and ranges. */
  private static List<Integer> patchList(JsonNode node, String minor, String source)
      throws BuildpackException {
    List<String> parts = new ArrayList<>();
    if (node == null || node.isNull()) {
      throw invalid(source, "minor " + minor + " needs \"patches\", such as \"0-7\"");
    }
    if (node.isArray()) {
      node.forEach(part -> parts.add(part.asText()));
    } else {
      parts.addAll(List.of(node.asText().split(",")));
    }
    List<Integer> patches = new ArrayList<>();
    for (String part : parts) {
      String[] bounds = part.trim().split("-", -1);
      try {
        int from = Integer.parseInt(bounds[0].trim());
        int to = bounds.length == 2 ? Integer.parseInt(bounds[1].trim()) : from;
        if (bounds.length > 2 || from < 0 || to < from || to - from > 1000) {
          throw new NumberFormatException();
        }
        for (int patch = from; patch <= to; patch++) {
          patches.add(patch);
        }
      } catch (NumberFormatException e) {
        throw invalid(
            source,
            "patches of "
                + minor
                + ": '"
                + Text.quote(part)
                + "' is not a number or a range such as 0-7");
      }
    }
    return patches;
  }

  private static BuildpackException invalid(String source, String detail) {
    return new BuildpackException(
        Codes.RUNTIME_CATALOG_INVALID,
        "Kiln cannot use "
            + source
            + ": "
            + detail
            + "."
            + "\n\nSee \"Runtime catalog\" in docs/buildpack.md for the format.");
  }

  /** The minor used when an app names no version ({@code 3.13}). */
  public String defaultMinor() {
    return defaultMinor.toString();
  }

  /**
   * The newest patch known for a minor ({@code 3.12} → {@code 3.12.7}): the newest this farm has a
   * runtime for, when it has one.
   */
  public Optional<String> newestPatch(String minor) {
    return VersionNumber.parse(minor)
        .map(VersionNumber::minorVersion)
        .flatMap(this::newestPatchOf)
        .map(patch -> minor(minor) + "." + patch);
  }

  /**
   * This farm's runtimes as {@code level} sees them: the level decides which Python minors and
   * patch releases exist, which minor is the default and which are deprecated (what that buildpack
   * version's users got); this catalog decides where each runs. A patch the farm has but the level
   * does not know is kept (farms move to new patches before buildpacks list them), so an unpinned
   * minor gets the farm's newest. A version the level knows but the farm has no image for plans to
   * {@code python-version::not-on-farm}; a minor the level does not know is, as for the level's
   * users, unknown or end-of-life.
   */
  public RuntimeCatalog atLevel(RuntimeCatalog level) {
    NavigableMap<VersionNumber, NavigableMap<Integer, Entry>> joined = new TreeMap<>();
    level.versions.forEach(
        (minor, patches) -> {
          NavigableMap<Integer, Entry> entries = new TreeMap<>();
          patches.keySet().forEach(patch -> entries.put(patch, new Entry(null, null)));
          NavigableMap<Integer, Entry> onFarm = versions.get(minor);
          if (onFarm != null) {
            onFarm.forEach(
                (patch, entry) -> {
                  if (entry.onFarm()) {
                    entries.put(patch, entry);
                  }
                });
          }
          joined.put(minor, entries);
        });
    return new RuntimeCatalog(joined, level.defaultMinor, level.deprecatedMinors);
  }

  /** Whether an exact version is one this catalog knows but has no runtime for. */
  boolean knownButNotOnFarm(VersionNumber version) {
    NavigableMap<Integer, Entry> patches = versions.get(version.minorVersion());
    Entry entry = patches == null ? null : patches.get(version.patch());
    return entry != null && !entry.onFarm();
  }

  /** The exact versions this farm has a runtime for, oldest first. */
  List<String> onFarm() {
    return runtimes().stream().map(Runtime::python).toList();
  }

  private static String minor(String text) {
    return VersionNumber.parse(text)
        .map(VersionNumber::minorVersion)
        .map(Object::toString)
        .orElse(text);
  }

  /** Every known exact version of a minor, oldest first; empty when the minor is unknown. */
  public List<String> patches(String minor) {
    Optional<VersionNumber> parsed = VersionNumber.parse(minor).map(VersionNumber::minorVersion);
    if (parsed.isEmpty() || !versions.containsKey(parsed.get())) {
      return List.of();
    }
    List<String> result = new ArrayList<>();
    versions.get(parsed.get()).keySet().forEach(patch -> result.add(parsed.get() + "." + patch));
    return result;
  }

  /** Every known minor, oldest first. */
  public List<String> minors() {
    return versions.keySet().stream().map(Object::toString).toList();
  }

  public boolean isDeprecated(String minor) {
    return VersionNumber.parse(minor)
        .map(VersionNumber::minorVersion)
        .map(deprecatedMinors::contains)
        .orElse(false);
  }

  /** The runtime base image for an exact version, if the catalog has it. */
  public Optional<String> imageFor(String exactVersion) {
    return runtimeFor(exactVersion).map(Runtime::image);
  }

  /** The runtime for an exact version ({@code 3.11.2}), if the catalog has it. */
  public Optional<Runtime> runtimeFor(String exactVersion) {
    return VersionNumber.parse(exactVersion)
        .filter(VersionNumber::exact)
        .flatMap(
            v ->
                Optional.ofNullable(versions.get(v.minorVersion()))
                    .map(p -> p.get(v.patch()))
                    .filter(Entry::onFarm)
                    .map(entry -> new Runtime(v.toString(), entry.image(), entry.glibc())));
  }

  /** Every runtime this farm has, oldest version first. */
  public List<Runtime> runtimes() {
    List<Runtime> all = new ArrayList<>();
    versions.forEach(
        (minor, patches) ->
            patches.forEach(
                (patch, entry) -> {
                  if (entry.onFarm()) {
                    all.add(
                        new Runtime(
                            minor.withPatch(patch).toString(), entry.image(), entry.glibc()));
                  }
                }));
    return all;
  }

  /**
   * A copy where {@code versionOrMinor} uses {@code imageReference}: an exact version is added or
   * replaced; a minor changes the image of every patch the catalog has for it.
   *
   * @throws IllegalArgumentException for something that is not a version, or a minor with no
   *     patches
   */
  public RuntimeCatalog withOverride(String versionOrMinor, String imageReference) {
    if (imageReference == null || imageReference.isBlank()) {
      throw new IllegalArgumentException("the image reference must not be empty");
    }
    NavigableMap<VersionNumber, NavigableMap<Integer, Entry>> copy = new TreeMap<>();
    versions.forEach((minor, patches) -> copy.put(minor, new TreeMap<>(patches)));
    applyOverride(copy, versionOrMinor, imageReference, null);
    return new RuntimeCatalog(copy, defaultMinor, deprecatedMinors);
  }

  VersionNumber oldestMinorVersion() {
    return versions.firstKey();
  }

  VersionNumber newestMinorVersion() {
    return versions.lastKey();
  }

  boolean hasMinor(VersionNumber minor) {
    return versions.containsKey(minor.minorVersion());
  }

  /** The newest patch of a minor this farm runs, else the newest the catalog knows. */
  Optional<Integer> newestPatchOf(VersionNumber minor) {
    NavigableMap<Integer, Entry> patches = versions.get(minor.minorVersion());
    if (patches == null || patches.isEmpty()) {
      return Optional.empty();
    }
    return patches.descendingMap().entrySet().stream()
        .filter(e -> e.getValue().onFarm())
        .map(Map.Entry::getKey)
        .findFirst()
        .or(() -> Optional.of(patches.lastKey()));
  }

  boolean hasExact(VersionNumber version) {
    NavigableMap<Integer, Entry> patches = versions.get(version.minorVersion());
    return patches != null && version.exact() && patches.containsKey(version.patch());
  }
}
