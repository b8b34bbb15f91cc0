package dev.kiln.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KilnClasspathTest {
  @TempDir Path work;

  @Test
  void followsTheLauncherJarsManifestClassPathInOrderLikeTheJvm() throws IOException {
    Path lib = Files.createDirectories(work.resolve("lib"));
    Path vertx = jar(lib.resolve("vertx-core-5.1.1.jar"), null);
    Path worker = jar(lib.resolve("kiln-worker-0.1.0-SNAPSHOT.jar"), null);
    Path kiln =
        jar(
            work.resolve("kiln.jar"),
            "lib/kiln-worker-0.1.0-SNAPSHOT.jar lib/vertx-core-5.1.1.jar lib/missing.jar");

    KilnClasspath classpath = KilnClasspath.of(kiln.toString());

    assertThat(classpath.entries()).containsExactly(kiln, worker, vertx);
    assertThat(classpath.kilnEntries()).containsExactly(kiln, worker);
    assertThat(classpath.dependencyEntries()).containsExactly(vertx);
  }

  @Test
  void classDirectoriesOfABuildTreeAreKilnsOwnCode() throws IOException {
    Path classes = Files.createDirectories(work.resolve("worker/target/classes"));
    Path jackson = jar(work.resolve("jackson-core-2.21.jar"), null);

    KilnClasspath classpath = KilnClasspath.of(classes + ":" + jackson + ":" + classes);

    assertThat(classpath.entries()).containsExactly(classes, jackson);
    assertThat(classpath.kilnEntries()).containsExactly(classes);
  }

  @Test
  void aMissingEntrySaysToRebuildKiln() {
    assertThatThrownBy(() -> KilnClasspath.of(work.resolve("gone.jar").toString()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("gone.jar does not exist")
        .hasMessageContaining("./mvnw -pl cli -am package");
  }

  static Path jar(Path path, String classPath) throws IOException {
    Manifest manifest = new Manifest();
    manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    if (classPath != null) {
      manifest.getMainAttributes().put(Attributes.Name.CLASS_PATH, classPath);
    }
    try (OutputStream out = Files.newOutputStream(path);
        JarOutputStream jar = new JarOutputStream(out, manifest)) {
      jar.flush();
    }
    return path.toAbsolutePath().normalize();
  }
}
