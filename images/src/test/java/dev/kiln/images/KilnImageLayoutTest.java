package dev.kiln.images;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.cloud.tools.jib.api.buildplan.FileEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KilnImageLayoutTest {
  @TempDir Path work;

  @Test
  void dependenciesAndKilnGoToSeparateLayersAndTheClasspathKeepsItsOrder() throws IOException {
    Path classes = Files.createDirectories(work.resolve("cli/target/classes/dev/kiln/cli"));
    Files.writeString(classes.resolve("Main.class"), "bytecode");
    Path cli = work.resolve("cli/target/classes");
    Path vertx = KilnClasspathTest.jar(work.resolve("vertx-core-5.1.1.jar"), null);
    Path worker = KilnClasspathTest.jar(work.resolve("kiln-worker-0.1.0-SNAPSHOT.jar"), null);
    Path otherVertx =
        KilnClasspathTest.jar(
            Files.createDirectories(work.resolve("elsewhere")).resolve("vertx-core-5.1.1.jar"),
            null);

    KilnImage.Layout layout =
        KilnImage.Layout.of(KilnClasspath.of(cli + ":" + vertx + ":" + worker + ":" + otherVertx));

    assertThat(layout.classpath())
        .containsExactly(
            "/opt/kiln/classes/001-cli",
            "/opt/kiln/lib/vertx-core-5.1.1.jar",
            "/opt/kiln/lib/kiln-worker-0.1.0-SNAPSHOT.jar",
            "/opt/kiln/lib/004-vertx-core-5.1.1.jar");
    assertThat(layout.dependencies().getEntries())
        .extracting(entry -> entry.getExtractionPath().toString())
        .containsExactly(
            "/opt/kiln/lib/vertx-core-5.1.1.jar", "/opt/kiln/lib/004-vertx-core-5.1.1.jar");
    assertThat(layout.kiln().getEntries())
        .extracting(FileEntry::getExtractionPath)
        .extracting(Object::toString)
        .contains(
            "/opt/kiln/classes/001-cli/dev/kiln/cli/Main.class",
            "/opt/kiln/lib/kiln-worker-0.1.0-SNAPSHOT.jar");
  }
}
