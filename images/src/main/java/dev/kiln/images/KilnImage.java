package dev.kiln.images;

import com.google.cloud.tools.jib.api.CacheDirectoryCreationException;
import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.DockerDaemonImage;
import com.google.cloud.tools.jib.api.ImageReference;
import com.google.cloud.tools.jib.api.InvalidImageReferenceException;
import com.google.cloud.tools.jib.api.Jib;
import com.google.cloud.tools.jib.api.JibContainer;
import com.google.cloud.tools.jib.api.LogEvent;
import com.google.cloud.tools.jib.api.RegistryException;
import com.google.cloud.tools.jib.api.TarImage;
import com.google.cloud.tools.jib.api.buildplan.AbsoluteUnixPath;
import com.google.cloud.tools.jib.api.buildplan.FileEntriesLayer;
import com.google.cloud.tools.jib.api.buildplan.ImageFormat;
import dev.kiln.worker.runtime.DebootstrapImage;
import dev.kiln.worker.runtime.RuntimeImageException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Builds the container image of Kiln itself with jib-core: the {@link KilnBaseImage} (built here
 * once per machine, never pulled), a layer of third-party jars, a layer of Kiln's own jars and
 * classes, and the entrypoint {@code java -cp ... dev.kiln.cli.Main}, so {@code docker run kiln:dev
 * worker --kafka ...} runs {@code kiln worker --kafka ...}.
 *
 * <p>The state directory is {@code /var/lib/kiln} ({@code KILN_HOME}); JVM options go in {@code
 * JDK_JAVA_OPTIONS}, which the {@code java} launcher reads. Images are reproducible: fixed creation
 * time and file times, so the same jars give the same digest.
 */
public final class KilnImage {

  public static final String DEFAULT_TAG = "kiln:dev";
  public static final String MAIN_CLASS = "dev.kiln.cli.Main";
  static final AbsoluteUnixPath LIB = AbsoluteUnixPath.get("/opt/kiln/lib");
  static final AbsoluteUnixPath CLASSES = AbsoluteUnixPath.get("/opt/kiln/classes");
  static final String HOME = "/var/lib/kiln";

  /** Where the image goes. */
  public sealed interface Target {
    /** The local Docker daemon ({@code docker load} through the docker CLI). */
    record Docker(String tag) implements Target {}

    /** A {@code docker save} tarball for {@code docker load -i}. */
    record Tarball(Path path, String tag) implements Target {}

    String tag();
  }

  /** What was built. */
  public record Built(String tag, String digest, String imageId, Path base) {}

  private final Path cache;
  private final Consumer<String> progress;

  /**
   * @param cache the directory for the base tarball and jib's layer caches (e.g. {@link
   *     KilnBaseImage#DEFAULT_CACHE})
   * @param progress one sentence per line
   */
  public KilnImage(Path cache, Consumer<String> progress) {
    this.cache = cache.toAbsolutePath();
    this.progress = Objects.requireNonNull(progress, "progress");
  }

  /** Builds the base (or reuses it) and the image of {@code classpath}, and delivers it. */
  public Built build(KilnClasspath classpath, Target target)
      throws IOException, KilnImageException, InterruptedException {
    ImageReference reference = parse(target.tag());
    List<String> modules = JreModules.forClasspath(classpath, progress);
    KilnBaseImage recipe = KilnBaseImage.fromRunningJdk(modules);
    DebootstrapImage.Built base;
    try {
      base = DebootstrapImage.of(recipe, cache).withProgress(progress).ensureAvailable();
    } catch (RuntimeImageException e) {
      throw new KilnImageException(e.getMessage(), e);
    }
    Layout layout = Layout.of(classpath);
    Containerizer containerizer =
        target instanceof Target.Tarball tarball
            ? Containerizer.to(TarImage.at(tarball.path().toAbsolutePath()).named(reference))
            : Containerizer.to(DockerDaemonImage.named(reference));
    containerizer
        .setBaseImageLayersCache(cache.resolve("jib").resolve("base"))
        .setApplicationLayersCache(cache.resolve("jib").resolve("app"))
        .setToolName("kiln")
        .addEventHandler(
            LogEvent.class,
            event -> {
              if (event.getLevel() == LogEvent.Level.LIFECYCLE
                  || event.getLevel() == LogEvent.Level.WARN) {
                progress.accept("jib: " + event.getMessage());
              }
            });
    progress.accept(
        "Building "
            + reference
            + " on "
            + base.reference()
            + ": "
            + layout.dependencies().getEntries().size()
            + " dependency jars, "
            + classpath.kilnEntries().size()
            + " Kiln jars and class directories.");
    try {
      JibContainer container =
          Jib.from(TarImage.at(base.tarball()).named(parse(base.reference())))
              .setFileEntriesLayers(layout.dependencies(), layout.kiln())
              .setEntrypoint(
                  List.of(
                      KilnBaseImage.JAVA_HOME + "/bin/java",
                      "-cp",
                      String.join(":", layout.classpath()),
                      MAIN_CLASS))
              .setProgramArguments(List.of())
              .setEnvironment(Map.of("KILN_HOME", HOME))
              .addVolume(AbsoluteUnixPath.get(HOME))
              .setWorkingDirectory(AbsoluteUnixPath.get(HOME))
              .setUser("0:0")
              .setLabels(
                  Map.of(
                      "org.opencontainers.image.title", "kiln",
                      "org.opencontainers.image.description",
                          "Kiln, the build farm: docker run IMAGE <kiln subcommand> ...",
                      "dev.kiln.base", base.reference()))
              .setCreationTime(Instant.EPOCH)
              .setFormat(ImageFormat.Docker)
              .containerize(containerizer);
      return new Built(
          reference.toString(),
          container.getDigest().toString(),
          container.getImageId().toString(),
          base.tarball());
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new KilnImageException(
          "jib could not build "
              + reference
              + ": "
              + cause.getMessage()
              + (target instanceof Target.Docker
                  ? ". Is a Docker daemon running and is the docker command on PATH?"
                  : ""),
          cause);
    } catch (RegistryException e) {
      throw new KilnImageException("jib could not build " + reference + ": " + e.getMessage(), e);
    } catch (CacheDirectoryCreationException e) {
      throw new KilnImageException(
          "jib cannot create its caches under " + cache.resolve("jib") + ": " + e.getMessage(), e);
    }
  }

  private static ImageReference parse(String tag) throws KilnImageException {
    try {
      return ImageReference.parse(tag);
    } catch (InvalidImageReferenceException e) {
      throw new KilnImageException(
          "'" + tag + "' is not an image reference; use a name and tag such as " + DEFAULT_TAG, e);
    }
  }

  /** Where each classpath entry goes in the image, and the layers that put it there. */
  record Layout(FileEntriesLayer dependencies, FileEntriesLayer kiln, List<String> classpath) {

    static Layout of(KilnClasspath classpath) throws IOException {
      FileEntriesLayer.Builder dependencies = FileEntriesLayer.builder().setName("dependencies");
      FileEntriesLayer.Builder kiln = FileEntriesLayer.builder().setName("kiln");
      List<String> inImage = new ArrayList<>();
      Set<String> names = new HashSet<>();
      int index = 0;
      for (Path entry : classpath.entries()) {
        index++;
        boolean ours = KilnClasspath.isKiln(entry);
        FileEntriesLayer.Builder layer = ours ? kiln : dependencies;
        if (Files.isDirectory(entry)) {
          AbsoluteUnixPath target =
              CLASSES.resolve(String.format("%03d-%s", index, moduleName(entry)));
          addTree(layer, entry, target);
          inImage.add(target.toString());
        } else {
          String name = entry.getFileName().toString();
          if (!names.add(name)) {
            name = String.format("%03d-%s", index, name);
          }
          AbsoluteUnixPath target = LIB.resolve(name);
          layer.addEntry(entry, target);
          inImage.add(target.toString());
        }
      }
      return new Layout(dependencies.build(), kiln.build(), List.copyOf(inImage));
    }

    /** {@code .../worker/target/classes} → {@code worker}; else the directory's own name. */
    static String moduleName(Path directory) {
      Path parent = directory.getParent();
      if (directory.getFileName().toString().equals("classes")
          && parent != null
          && parent.getFileName().toString().equals("target")
          && parent.getParent() != null) {
        return parent.getParent().getFileName().toString();
      }
      return directory.getFileName().toString();
    }

    private static void addTree(FileEntriesLayer.Builder layer, Path root, AbsoluteUnixPath target)
        throws IOException {
      try (Stream<Path> files = Files.walk(root)) {
        for (Path file : files.sorted().toList()) {
          if (file.equals(root)) {
            continue;
          }
          String relative = root.relativize(file).toString().replace('\\', '/');
          layer.addEntry(file, target.resolve(relative));
        }
      }
    }
  }
}
