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
 * The Python versions the farm can build, each mapped to the runtime base image that provides it.
 * This is data: the default ships as the resource {@code dev/kiln/buildpack/runtime-catalog.json};
 * operators replace or extend it with their own file (see {@code docs/buildpack.md}).
 *
 * <p>Image references are opaque strings; the worker understands prefixes such as {@code
 * registry:}, {@code tar:} and {@code docker:}.
 */
public final class RuntimeCatalog {
  static final String DEFAULT_RESOURCE = "runtime-catalog.json";
  private static final long MAX_FILE_BYTES = 1024 * 1024;
  private static final ObjectMapper JSON = new ObjectMapper();

  /** minor ({@code X.Y}) → patch → image reference. */
  private final NavigableMap<VersionNumber, NavigableMap<Integer, String>> versions;

  private final VersionNumber defaultMinor;
  private final Set<VersionNumber> deprecatedMinors;

  private RuntimeCatalog(
      NavigableMap<VersionNumber, NavigableMap<Integer, String>> versions,
      VersionNumber defaultMinor,
      Set<VersionNumber> deprecatedMinors) {
    this.versions = versions;
    this.defaultMinor = defaultMinor;
    this.deprecatedMinors = deprecatedMinors;
  }

  /** The catalog shipped with Kiln: the App Platform list of Python versions. */
  public static RuntimeCatalog loadDefault() {
    try (InputStream in = RuntimeCatalog.class.getResourceAsStream(DEFAULT_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(
            "the built-in runtime catalog resource is missing from the jar");
      }
      return parse(in.readAllBytes(), "the built-in runtime catalog", null);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (BuildpackException e) {
      throw new IllegalStateException(
          "the built-in runtime catalog is invalid: " + e.getMessage(), e);
    }
  }

  /**
   * Reads an operator's catalog file. With {@code "extends": "default"} it changes the built-in
   * catalog (a minor listed in the file replaces that minor); without, it replaces it.
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
        bytes, "the runtime catalog " + Text.quote(jsonFile.toString(), 300), loadDefault());
  }

  static RuntimeCatalog parse(byte[] bytes, String source, RuntimeCatalog base)
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

    NavigableMap<VersionNumber, NavigableMap<Integer, String>> versions = new TreeMap<>();
    VersionNumber defaultMinor = null;
    Set<VersionNumber> deprecated = new TreeSet<>();
    JsonNode extendsNode = root.get("extends");
    if (extendsNode != null && !extendsNode.isNull()) {
      if (!"default".equals(extendsNode.asText()) || base == null) {
        throw invalid(source, "\"extends\" can only be \"default\"");
      }
      base.versions.forEach((minor, patches) -> versions.put(minor, new TreeMap<>(patches)));
      defaultMinor = base.defaultMinor;
      deprecated.addAll(base.deprecatedMinors);
    }

    String template = optionalText(root, "imageTemplate", source);
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
        NavigableMap<Integer, String> patches = new TreeMap<>();
        for (int patch : patchList(spec.get("patches"), entry.getKey(), source)) {
          String version = minor + "." + patch;
          patches.put(
              patch, effective.replace("{version}", version).replace("{minor}", minor.toString()));
        }
        versions.put(minor, patches);
      }
    }

    JsonNode images = root.get("images");
    if (images != null && !images.isNull()) {
      if (!images.isObject()) {
        throw invalid(source, "\"images\" must be an object from version to image reference");
      }
      for (Map.Entry<String, JsonNode> entry : images.properties()) {
        if (!entry.getValue().isTextual() || entry.getValue().asText().isBlank()) {
          throw invalid(
              source,
              "the image for " + Text.quote(entry.getKey()) + " must be a non-empty string");
        }
        try {
          applyOverride(versions, entry.getKey(), entry.getValue().asText());
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

  private static void applyOverride(
      NavigableMap<VersionNumber, NavigableMap<Integer, String>> versions,
      String key,
      String image) {
    Optional<VersionNumber> parsed = VersionNumber.parse(key);
    if (parsed.isEmpty()) {
      throw new IllegalArgumentException(
          "'" + Text.quote(key) + "' is not a version such as 3.14.0 or 3.14");
    }
    VersionNumber version = parsed.get();
    if (version.exact()) {
      versions
          .computeIfAbsent(version.minorVersion(), k -> new TreeMap<>())
          .put(version.patch(), image);
      return;
    }
    NavigableMap<Integer, String> patches = versions.get(version);
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
    patches.replaceAll((patch, old) -> image);
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

  /** The newest patch known for a minor ({@code 3.12} → {@code 3.12.7}). */
  public Optional<String> newestPatch(String minor) {
    return VersionNumber.parse(minor)
        .map(VersionNumber::minorVersion)
        .map(versions::get)
        .map(patches -> minor(minor) + "." + patches.lastKey());
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
    return VersionNumber.parse(exactVersion)
        .filter(VersionNumber::exact)
        .flatMap(
            v -> Optional.ofNullable(versions.get(v.minorVersion())).map(p -> p.get(v.patch())));
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
    NavigableMap<VersionNumber, NavigableMap<Integer, String>> copy = new TreeMap<>();
    versions.forEach((minor, patches) -> copy.put(minor, new TreeMap<>(patches)));
    applyOverride(copy, versionOrMinor, imageReference);
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

  Optional<Integer> newestPatchOf(VersionNumber minor) {
    NavigableMap<Integer, String> patches = versions.get(minor.minorVersion());
    return patches == null ? Optional.empty() : Optional.of(patches.lastKey());
  }

  boolean hasExact(VersionNumber version) {
    NavigableMap<Integer, String> patches = versions.get(version.minorVersion());
    return patches != null && version.exact() && patches.containsKey(version.patch());
  }
}
