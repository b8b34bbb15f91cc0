package dev.kiln.cli;

import dev.kiln.images.KilnBaseImage;
import dev.kiln.images.KilnClasspath;
import dev.kiln.images.KilnImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Kiln's own image, built by {@link KilnImage} from this module's runtime classpath (written by the
 * dependency plugin to {@code target/runtime-classpath.txt}: the test JVM's classpath also has the
 * test libraries) into the local Docker daemon.
 */
final class TestKilnImage {
  private TestKilnImage() {}

  /** Builds {@code tag} into the Docker daemon and returns the build's outcome. */
  static KilnImage.Built build(String tag, Consumer<String> progress) throws Exception {
    Path target = Path.of("target").toAbsolutePath();
    String dependencies = Files.readString(target.resolve("runtime-classpath.txt")).strip();
    KilnClasspath classpath =
        KilnClasspath.of(target.resolve("classes") + java.io.File.pathSeparator + dependencies);
    return new KilnImage(KilnBaseImage.DEFAULT_CACHE, progress)
        .build(classpath, new KilnImage.Target.Docker(tag));
  }
}
