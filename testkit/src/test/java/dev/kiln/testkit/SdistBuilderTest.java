package dev.kiln.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sdists that real pip builds with setuptools and wheel from Debian's wheels, with no index but a
 * directory: what a test index serves for a package that exists only as source.
 */
class SdistBuilderTest {
  @TempDir Path work;

  @Test
  void pipBuildsTheSdistWithTheBuildToolsFromTheSameDirectory() throws Exception {
    Path index = work.resolve("index");
    PythonBuildTools.copyTo(index);
    Path sdist =
        SdistBuilder.sdist("Only-Source", "1.2")
            .module("only_source/__init__.py", "VALUE = 42\n")
            .requires("six")
            .writeTo(index);
    Path wheels = work.resolve("wheels");

    Pip.Result build =
        Pip.run(
            work,
            "wheel",
            "--no-deps",
            "--no-index",
            "--find-links",
            index.toString(),
            "--wheel-dir",
            wheels.toString(),
            sdist.toString());

    assertThat(sdist.getFileName().toString()).isEqualTo("only_source-1.2.tar.gz");
    assertThat(build.exitCode()).as(build.output()).isZero();
    // setuptools 65 keeps the name's case in the wheel's filename (Only_Source-1.2-…).
    try (var built = java.nio.file.Files.list(wheels)) {
      assertThat(built.map(p -> p.getFileName().toString().toLowerCase(java.util.Locale.ROOT)))
          .containsExactly("only_source-1.2-py3-none-any.whl");
    }
  }

  @Test
  void theSameBuilderGivesTheSameBytes() {
    SdistBuilder builder = SdistBuilder.sdist("same", "1.0").requires("six");
    assertThat(builder.bytes())
        .isEqualTo(SdistBuilder.sdist("same", "1.0").requires("six").bytes());
  }

  @Test
  void aFailingSetupPyFailsTheBuildWithItsMessage() throws Exception {
    Path index = work.resolve("index");
    PythonBuildTools.copyTo(index);
    Path sdist =
        SdistBuilder.sdist("needs-pg", "2.9")
            .setupPy(
                "raise SystemExit('Error: pg_config executable not found.\\n"
                    + "pg_config is required to build psycopg2 from source.')\n")
            .writeTo(index);

    Pip.Result build =
        Pip.run(
            work,
            "wheel",
            "--no-deps",
            "--no-index",
            "--find-links",
            index.toString(),
            "--wheel-dir",
            work.resolve("wheels").toString(),
            sdist.toString());

    assertThat(build.exitCode()).isNotZero();
    assertThat(build.output()).contains("pg_config executable not found");
  }
}
