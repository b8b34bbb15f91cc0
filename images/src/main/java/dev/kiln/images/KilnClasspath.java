package dev.kiln.images;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/**
 * The classpath Kiln runs from, split into what changes with every Kiln build (Kiln's own jars and
 * class directories) and what does not (third-party jars), so the image's dependency layer is
 * reused across Kiln builds.
 *
 * <p>{@code ./kiln} runs {@code java -jar cli/target/kiln.jar}, whose manifest {@code Class-Path}
 * names {@code lib/*.jar}: {@link #ofRunningJvm()} follows manifests, in order, like the JVM does.
 */
public record KilnClasspath(List<Path> entries) {

  public KilnClasspath {
    entries = List.copyOf(entries);
    if (entries.isEmpty()) {
      throw new IllegalArgumentException(
          "The classpath is empty: there is nothing to put in the image");
    }
    for (Path entry : entries) {
      if (!Files.isRegularFile(entry) && !Files.isDirectory(entry)) {
        throw new IllegalArgumentException(
            "The classpath entry "
                + entry
                + " does not exist; rebuild Kiln (./mvnw -pl cli -am package) and retry");
      }
    }
  }

  /** The running JVM's classpath ({@code java.class.path}), manifests' Class-Path followed. */
  public static KilnClasspath ofRunningJvm() throws IOException {
    return of(System.getProperty("java.class.path"));
  }

  /** {@code classpath} (entries separated by ':'), manifests' Class-Path followed. */
  public static KilnClasspath of(String classpath) throws IOException {
    Objects.requireNonNull(classpath, "classpath");
    Set<Path> entries = new LinkedHashSet<>();
    for (String entry : classpath.split(java.io.File.pathSeparator)) {
      if (!entry.isBlank()) {
        add(Path.of(entry).toAbsolutePath().normalize(), entries);
      }
    }
    return new KilnClasspath(new ArrayList<>(entries));
  }

  private static void add(Path entry, Set<Path> entries) throws IOException {
    if (!entries.add(entry) || !Files.isRegularFile(entry)) {
      return;
    }
    Manifest manifest;
    try (JarFile jar = new JarFile(entry.toFile())) {
      manifest = jar.getManifest();
    }
    String classPath =
        manifest == null ? null : manifest.getMainAttributes().getValue("Class-Path");
    if (classPath == null) {
      return;
    }
    for (String relative : classPath.trim().split("\\s+")) {
      Path referenced = entry.getParent().resolve(relative).normalize();
      if (Files.exists(referenced)) {
        add(referenced, entries);
      }
    }
  }

  /** Kiln's own code: class directories (a build tree) and {@code kiln*.jar}. */
  public List<Path> kilnEntries() {
    return entries.stream().filter(KilnClasspath::isKiln).toList();
  }

  /** Everything else: third-party jars. */
  public List<Path> dependencyEntries() {
    return entries.stream().filter(entry -> !isKiln(entry)).toList();
  }

  static boolean isKiln(Path entry) {
    return Files.isDirectory(entry) || entry.getFileName().toString().startsWith("kiln");
  }
}
