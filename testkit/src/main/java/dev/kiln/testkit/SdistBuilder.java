package dev.kiln.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.zip.Deflater;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipParameters;

/**
 * A real source distribution ({@code <name>-<version>.tar.gz}, PEP 625 naming) that pip builds with
 * setuptools' PEP 517 backend, for tests of packages that exist only as an sdist.
 *
 * <pre>{@code
 * SdistBuilder.sdist("only-source", "1.0")
 *     .module("only_source/__init__.py", "VALUE = 42\n")
 *     .requires("six")
 *     .writeTo(indexDir); // only_source-1.0.tar.gz
 * }</pre>
 *
 * The archive holds {@code PKG-INFO}, a {@code pyproject.toml} declaring {@code
 * setuptools.build_meta} (so building it needs setuptools and wheel from the index, as a real sdist
 * does), a {@code setup.cfg} with the metadata and the modules. {@link #setupPy} adds a {@code
 * setup.py} that runs first, e.g. one that fails the way psycopg2's does without {@code pg_config}.
 * The same builder always gives the same bytes.
 */
public final class SdistBuilder {
  private static final Pattern PROJECT_NAME =
      Pattern.compile("^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$");
  private static final Pattern SEPARATORS = Pattern.compile("[-_.]+");

  private final String name;
  private final String version;
  private final Map<String, byte[]> files = new LinkedHashMap<>();
  private final List<String> requirements = new ArrayList<>();
  private String setupPy;

  private SdistBuilder(String name, String version) {
    if (name == null || !PROJECT_NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("'" + name + "' is not a valid Python project name");
    }
    this.name = name;
    this.version = Objects.requireNonNull(version, "version");
  }

  public static SdistBuilder sdist(String name, String version) {
    return new SdistBuilder(name, version);
  }

  /** Adds a source file at {@code path} (relative, {@code /}-separated), as UTF-8. */
  public SdistBuilder module(String path, String source) {
    if (path == null || path.startsWith("/") || path.contains("..")) {
      throw new IllegalArgumentException("module path '" + path + "' must be relative");
    }
    files.put(path, source.getBytes(StandardCharsets.UTF_8));
    return this;
  }

  /** Adds a PEP 508 requirement to the metadata ({@code install_requires}). */
  public SdistBuilder requires(String requirement) {
    requirements.add(Objects.requireNonNull(requirement, "requirement"));
    return this;
  }

  /** A {@code setup.py} that setuptools runs when it builds the wheel. */
  public SdistBuilder setupPy(String source) {
    this.setupPy = Objects.requireNonNull(source, "source");
    return this;
  }

  /** PEP 625: the normalized name with {@code _}, then the version. */
  public String filename() {
    return baseName() + ".tar.gz";
  }

  private String baseName() {
    return SEPARATORS.matcher(name).replaceAll("_").toLowerCase(Locale.ROOT) + "-" + version;
  }

  /** Writes the sdist into {@code directory} and returns its path. */
  public Path writeTo(Path directory) {
    try {
      Files.createDirectories(directory);
      Path file = directory.resolve(filename());
      Files.write(file, bytes());
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException("could not write " + filename() + " to " + directory, e);
    }
  }

  public byte[] bytes() {
    Map<String, byte[]> entries = new LinkedHashMap<>();
    String packageName = SEPARATORS.matcher(name).replaceAll("_").toLowerCase(Locale.ROOT);
    Map<String, byte[]> sources = new LinkedHashMap<>(files);
    if (sources.isEmpty()) {
      sources.put(
          packageName + "/__init__.py",
          ("__version__ = \"" + version + "\"\n").getBytes(StandardCharsets.UTF_8));
    }
    entries.put("PKG-INFO", utf8(pkgInfo()));
    entries.put(
        "pyproject.toml",
        utf8(
            "[build-system]\n"
                + "requires = [\"setuptools>=40.8.0\"]\n"
                + "build-backend = \"setuptools.build_meta\"\n"));
    entries.put("setup.cfg", utf8(setupCfg(sources)));
    if (setupPy != null) {
      entries.put("setup.py", utf8(setupPy));
    }
    entries.putAll(sources);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    GzipParameters gzip = new GzipParameters();
    gzip.setCompressionLevel(Deflater.BEST_COMPRESSION);
    gzip.setModificationTime(0);
    try (GzipCompressorOutputStream gz = new GzipCompressorOutputStream(out, gzip);
        TarArchiveOutputStream tar = new TarArchiveOutputStream(gz)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      String root = baseName() + "/";
      for (Map.Entry<String, byte[]> entry : entries.entrySet()) {
        TarArchiveEntry tarEntry = new TarArchiveEntry(root + entry.getKey());
        tarEntry.setSize(entry.getValue().length);
        tarEntry.setMode(0644);
        tarEntry.setModTime(315532800000L);
        tarEntry.setUserName("");
        tarEntry.setGroupName("");
        tar.putArchiveEntry(tarEntry);
        tar.write(entry.getValue());
        tar.closeArchiveEntry();
      }
      tar.finish();
    } catch (IOException e) {
      throw new UncheckedIOException("could not build " + filename(), e);
    }
    return out.toByteArray();
  }

  private String pkgInfo() {
    StringBuilder text =
        new StringBuilder("Metadata-Version: 2.1\nName: ")
            .append(name)
            .append("\nVersion: ")
            .append(version)
            .append('\n');
    for (String requirement : requirements) {
      text.append("Requires-Dist: ").append(requirement).append('\n');
    }
    return text.toString();
  }

  private String setupCfg(Map<String, byte[]> sources) {
    List<String> packages = new ArrayList<>();
    List<String> modules = new ArrayList<>();
    for (String path : sources.keySet()) {
      if (!path.endsWith(".py")) {
        continue;
      }
      int slash = path.lastIndexOf('/');
      if (slash < 0) {
        modules.add(path.substring(0, path.length() - 3));
      } else if (path.endsWith("/__init__.py")) {
        packages.add(path.substring(0, slash).replace('/', '.'));
      }
    }
    StringBuilder text =
        new StringBuilder("[metadata]\nname = ")
            .append(name)
            .append("\nversion = ")
            .append(version)
            .append("\n\n[options]\n");
    if (!packages.isEmpty()) {
      text.append("packages = ").append(String.join(", ", packages)).append('\n');
    }
    if (!modules.isEmpty()) {
      text.append("py_modules = ").append(String.join(", ", modules)).append('\n');
    }
    if (!requirements.isEmpty()) {
      text.append("install_requires =\n");
      for (String requirement : requirements) {
        text.append("    ").append(requirement).append('\n');
      }
    }
    return text.toString();
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
