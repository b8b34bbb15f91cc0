package dev.kiln.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Builds real, installable PEP 427 wheels for tests, byte-for-byte reproducible: the same builder
 * calls always give the same file and the same sha256.
 *
 * <pre>{@code
 * Path wheel = WheelBuilder.wheel("demo-pkg", "1.0")
 *     .module("demo_pkg/__init__.py", "def hello():\n    return 'hi'\n")
 *     .requires("demo-dep>=1")
 *     .requiresPython(">=3.9")
 *     .consoleScript("demo", "demo_pkg:main")
 *     .writeTo(dir);
 * }</pre>
 *
 * Wheels are {@code py3-none-any} unless {@link #tag} says otherwise, e.g. a wheel only pip for
 * CPython 3.13 on x86_64 Linux accepts:
 *
 * <pre>{@code
 * WheelBuilder.wheel("fast-thing", "2.0")
 *     .tag("cp313", "cp313", "manylinux_2_17_x86_64.manylinux2014_x86_64")
 *     .file("fast_thing/_speedups.cpython-313-x86_64-linux-gnu.so", bytes)
 *     .writeTo(dir); // fast_thing-2.0-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
 * }</pre>
 *
 * Without {@link #module} or {@link #file} calls the wheel holds {@code <distribution
 * name>/__init__.py} defining {@code __version__} (e.g. {@code demo_pkg/__init__.py} for {@code
 * Demo-Pkg}).
 */
public final class WheelBuilder {
  private static final Pattern PROJECT_NAME =
      Pattern.compile("^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$");
  private static final Pattern VERSION = Pattern.compile("^[A-Za-z0-9.+!_]+$");
  // One PEP 425 tag component, or a compressed set of them joined with '.'.
  private static final Pattern TAG_SET = Pattern.compile("^[A-Za-z0-9_]+(\\.[A-Za-z0-9_]+)*$");
  // The builder writes these two itself, from what it holds.
  private static final List<String> GENERATED_DIST_INFO_FILES = List.of("WHEEL", "RECORD");
  // The earliest time a zip entry can hold: fixed so the bytes never depend on when a test ran.
  private static final LocalDateTime ZIP_EPOCH = LocalDateTime.of(1980, 1, 1, 0, 0);

  private final String name;
  private final String version;
  private final Map<String, byte[]> files = new LinkedHashMap<>();
  private final Map<String, byte[]> distInfoFiles = new LinkedHashMap<>();
  private final List<String> requirements = new ArrayList<>();
  private final Map<String, String> consoleScripts = new LinkedHashMap<>();
  private String pythonTag = "py3";
  private String abiTag = "none";
  private String platformTag = "any";
  private String requiresPython;
  private String summary;

  private WheelBuilder(String name, String version) {
    if (name == null || !PROJECT_NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "'"
              + name
              + "' is not a valid Python project name:"
              + " use letters, digits, '.', '_' and '-', starting and ending with a letter or digit");
    }
    if (version == null || !VERSION.matcher(version).matches()) {
      throw new IllegalArgumentException(
          "'" + version + "' is not a usable version for " + name + ": use e.g. 1.0 or 2.3.1");
    }
    this.name = name;
    this.version = version;
  }

  public static WheelBuilder wheel(String name, String version) {
    return new WheelBuilder(name, version);
  }

  /**
   * Adds a text file at {@code path} (relative, {@code /}-separated) inside the wheel, as UTF-8.
   */
  public WheelBuilder module(String path, String source) {
    Objects.requireNonNull(source, "source");
    return file(path, utf8(source));
  }

  /**
   * Adds a file with exactly these bytes (e.g. an extension module, a font, a {@code .mo} catalog)
   * at {@code path} (relative, {@code /}-separated) inside the wheel. The bytes are copied, so
   * changing the array afterwards does not change the wheel.
   */
  public WheelBuilder file(String path, byte[] content) {
    Objects.requireNonNull(content, "content");
    if (path == null
        || path.isBlank()
        || path.startsWith("/")
        || path.contains("\\")
        || Arrays.stream(path.split("/", -1))
            .anyMatch(segment -> segment.isEmpty() || segment.equals(".") || segment.equals(".."))
        || path.contains(".dist-info/")) {
      throw new IllegalArgumentException(
          "file path '"
              + path
              + "' must be relative, use '/'"
              + " and stay out of .dist-info, e.g. \"demo_pkg/__init__.py\"");
    }
    files.put(path, content.clone());
    return this;
  }

  /**
   * Sets the wheel's PEP 425 tags (by default {@code py3}, {@code none}, {@code any}), e.g. {@code
   * ("cp313", "cp313", "manylinux_2_17_x86_64")}. Each part may be a compressed tag set joined with
   * {@code .}, e.g. platform {@code "manylinux_2_17_x86_64.manylinux2014_x86_64"}: the filename
   * keeps the sets as given and the WHEEL file gets one {@code Tag:} line per combination. A wheel
   * with an ABI other than {@code none} or a platform other than {@code any} is not pure ({@code
   * Root-Is-Purelib: false}).
   */
  public WheelBuilder tag(String python, String abi, String platform) {
    this.pythonTag = checkTagSet("python", python);
    this.abiTag = checkTagSet("ABI", abi);
    this.platformTag = checkTagSet("platform", platform);
    return this;
  }

  /** Adds a {@code Requires-Dist} line, e.g. {@code "flask>=2"}. */
  public WheelBuilder requires(String requirement) {
    requirements.add(Objects.requireNonNull(requirement, "requirement"));
    return this;
  }

  /** Sets {@code Requires-Python}, e.g. {@code ">=3.9"}. */
  public WheelBuilder requiresPython(String specifier) {
    this.requiresPython = Objects.requireNonNull(specifier, "specifier");
    return this;
  }

  public WheelBuilder summary(String text) {
    this.summary = Objects.requireNonNull(text, "text");
    return this;
  }

  /** Adds a {@code console_scripts} entry point, e.g. {@code ("demo", "demo_pkg:main")}. */
  public WheelBuilder consoleScript(String command, String target) {
    consoleScripts.put(
        Objects.requireNonNull(command, "command"), Objects.requireNonNull(target, "target"));
    return this;
  }

  /**
   * The wheel filename's distribution part: the name normalized (lowercase, runs of {@code -_.} as
   * {@code _}), as the binary distribution format spec asks; also the default import name.
   */
  public String distributionName() {
    return name.replaceAll("[-_.]+", "_").toLowerCase(Locale.ROOT);
  }

  /**
   * E.g. {@code demo_pkg-1.0-py3-none-any.whl}, or {@code
   * demo_pkg-1.0-cp313-cp313-manylinux_2_17_x86_64.whl} after {@link #tag}.
   */
  public String filename() {
    return distributionName()
        + "-"
        + version
        + "-"
        + pythonTag
        + "-"
        + abiTag
        + "-"
        + platformTag
        + ".whl";
  }

  /**
   * The expanded tags the WHEEL file lists, in order, e.g. {@code
   * [cp313-cp313-manylinux_2_17_x86_64, cp313-cp313-manylinux2014_x86_64]}.
   */
  public List<String> tags() {
    List<String> tags = new ArrayList<>();
    for (String python : pythonTag.split("\\.")) {
      for (String abi : abiTag.split("\\.")) {
        for (String platform : platformTag.split("\\.")) {
          tags.add(python + "-" + abi + "-" + platform);
        }
      }
    }
    return tags;
  }

  /**
   * Puts {@code content} in the wheel's {@code .dist-info} directory as {@code filename}, verbatim:
   * for wheels made from an existing distribution's metadata. A {@code METADATA} given here
   * replaces the one made from {@link #requires} and the like; an {@code entry_points.txt} cannot
   * be combined with {@link #consoleScript}. WHEEL and RECORD are always written by the builder.
   */
  WheelBuilder distInfoFile(String filename, byte[] content) {
    Objects.requireNonNull(content, "content");
    if (filename == null
        || filename.isBlank()
        || filename.contains("/")
        || filename.contains("\\")
        || GENERATED_DIST_INFO_FILES.contains(filename)) {
      throw new IllegalArgumentException(
          "'"
              + filename
              + "' cannot be put in .dist-info: use a plain file name other than "
              + String.join(" or ", GENERATED_DIST_INFO_FILES));
    }
    distInfoFiles.put(filename, content.clone());
    return this;
  }

  /** Writes the wheel into {@code directory} (created if missing) and returns its path. */
  public Path writeTo(Path directory) {
    try {
      Files.createDirectories(directory);
      Path wheel = directory.resolve(filename());
      Files.write(wheel, bytes());
      return wheel;
    } catch (IOException e) {
      throw new UncheckedIOException("could not write " + filename() + " to " + directory, e);
    }
  }

  /** The wheel's bytes. */
  public byte[] bytes() {
    String distInfo = distributionName() + "-" + version + ".dist-info/";
    if (!consoleScripts.isEmpty() && distInfoFiles.containsKey("entry_points.txt")) {
      throw new IllegalStateException(
          filename()
              + " has both console scripts and a verbatim entry_points.txt:"
              + " put the scripts in the entry_points.txt");
    }
    Map<String, byte[]> entries = new LinkedHashMap<>();
    if (files.isEmpty()) {
      entries.put(distributionName() + "/__init__.py", utf8("__version__ = \"" + version + "\"\n"));
    } else {
      entries.putAll(files);
    }
    entries.put(distInfo + "METADATA", distInfoFiles.getOrDefault("METADATA", utf8(metadata())));
    entries.put(distInfo + "WHEEL", utf8(wheelFile()));
    if (!consoleScripts.isEmpty()) {
      StringBuilder entryPoints = new StringBuilder("[console_scripts]\n");
      consoleScripts.forEach(
          (command, target) ->
              entryPoints.append(command).append(" = ").append(target).append('\n'));
      entries.put(distInfo + "entry_points.txt", utf8(entryPoints.toString()));
    }
    distInfoFiles.forEach((filename, content) -> entries.putIfAbsent(distInfo + filename, content));
    StringBuilder record = new StringBuilder();
    entries.forEach(
        (path, content) ->
            record
                .append(csvField(path))
                .append(",sha256=")
                .append(urlsafeSha256(content))
                .append(',')
                .append(content.length)
                .append('\n'));
    record.append(csvField(distInfo + "RECORD")).append(",,\n");
    entries.put(distInfo + "RECORD", utf8(record.toString()));

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(out)) {
      for (Map.Entry<String, byte[]> entry : entries.entrySet()) {
        ZipEntry zipEntry = new ZipEntry(entry.getKey());
        zipEntry.setTimeLocal(ZIP_EPOCH);
        zip.putNextEntry(zipEntry);
        zip.write(entry.getValue());
        zip.closeEntry();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("could not build " + filename() + " in memory", e);
    }
    return out.toByteArray();
  }

  private String wheelFile() {
    boolean pure =
        Arrays.stream(abiTag.split("\\.")).allMatch("none"::equals)
            && Arrays.stream(platformTag.split("\\.")).allMatch("any"::equals);
    StringBuilder wheel =
        new StringBuilder("Wheel-Version: 1.0\nGenerator: kiln-testkit\n")
            .append("Root-Is-Purelib: ")
            .append(pure)
            .append('\n');
    for (String tag : tags()) {
      wheel.append("Tag: ").append(tag).append('\n');
    }
    return wheel.toString();
  }

  private static String checkTagSet(String part, String tagSet) {
    if (tagSet == null || !TAG_SET.matcher(tagSet).matches()) {
      throw new IllegalArgumentException(
          "'"
              + tagSet
              + "' is not a usable "
              + part
              + " tag: use letters, digits and '_', several joined with '.',"
              + " e.g. \"cp313\" or \"manylinux_2_17_x86_64.manylinux2014_x86_64\"");
    }
    return tagSet;
  }

  private String metadata() {
    StringBuilder metadata =
        new StringBuilder("Metadata-Version: 2.1\n")
            .append("Name: ")
            .append(name)
            .append('\n')
            .append("Version: ")
            .append(version)
            .append('\n');
    if (summary != null) {
      metadata.append("Summary: ").append(summary).append('\n');
    }
    if (requiresPython != null) {
      metadata.append("Requires-Python: ").append(requiresPython).append('\n');
    }
    for (String requirement : requirements) {
      metadata.append("Requires-Dist: ").append(requirement).append('\n');
    }
    return metadata.toString();
  }

  private static String csvField(String value) {
    return value.contains(",") || value.contains("\"")
        ? "\"" + value.replace("\"", "\"\"") + "\""
        : value;
  }

  private static String urlsafeSha256(byte[] content) {
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256").digest(content);
      return Base64.getUrlEncoder().withoutPadding().encodeToString(hash);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime ships SHA-256", e);
    }
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
