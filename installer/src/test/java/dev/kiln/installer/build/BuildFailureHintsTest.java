package dev.kiln.installer.build;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class BuildFailureHintsTest {
  @Test
  void psycopg2WithoutPgConfigPointsAtTheBinaryPackage() {
    // psycopg2 2.9's own message when it is built without PostgreSQL's client files.
    List<String> output =
        List.of(
            "running egg_info",
            "Error: pg_config executable not found.",
            "pg_config is required to build psycopg2 from source.  Please add the directory",
            "containing pg_config to the $PATH or specify the full executable path with the");

    assertThat(BuildFailureHints.explain(output))
        .hasValueSatisfying(
            hint -> {
              assertThat(hint.missing()).contains("pg_config");
              assertThat(hint.advice()).contains("psycopg2-binary");
            });
  }

  @Test
  void aMissingCompilerIsNamed() {
    assertThat(
            BuildFailureHints.explain(
                List.of("error: command 'x86_64-linux-gnu-gcc' failed: No such file or directory")))
        .hasValueSatisfying(hint -> assertThat(hint.missing()).contains("compiler"));
    assertThat(
            BuildFailureHints.explain(
                List.of("src/foo.c:1:10: fatal error: Python.h: No such file or directory")))
        .hasValueSatisfying(hint -> assertThat(hint.missing()).contains("Python.h"));
  }

  @Test
  void anUnknownFailureHasNoHint() {
    assertThat(BuildFailureHints.explain(List.of("SyntaxError: invalid syntax"))).isEmpty();
  }
}
