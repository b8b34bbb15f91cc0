package dev.kiln.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.cli.KilnCommand;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

class BenchCommandTest {
  @ParameterizedTest
  @CsvSource({
    "--rounds, 0, --rounds must be at least 1",
    "--concurrent, -2, --concurrent must be at least 1",
    "--burst, 1, --burst must be at least 2",
    "--mix-builds, 5, --mix-builds must be at least 10",
    "--sets, 'flask,rails', unknown set 'rails'",
    "--sets, django, --sets must include flask",
    "--index, not-a-url, is not an http(s):// or file:// URL",
    "--images, zip, --images must be oci-layouts or tarballs",
    "--worker-tasks, 0, --worker-tasks must be at least 1",
    "--warmup, -1, --warmup must be 0 or more"
  })
  void badOptionsAreUsageErrorsBeforeAnythingStarts(String option, String value, String message) {
    StringWriter err = new StringWriter();
    CommandLine cli = KilnCommand.commandLine();
    cli.setErr(new PrintWriter(err));

    int status = cli.execute("bench", option, value);

    assertThat(status).isEqualTo(2);
    assertThat(err.toString()).contains(message);
  }

  @Test
  void benchIsACommandOfKiln() {
    StringWriter out = new StringWriter();
    CommandLine cli = KilnCommand.commandLine();
    cli.setOut(new PrintWriter(out));

    assertThat(cli.execute("bench", "--help")).isZero();
    assertThat(out.toString())
        .contains("--rounds", "--concurrent", "--out", "--index", "--home", "generated");
  }

  @Test
  void theIndexIsTheMirrorWhenPresentElseGeneratedUnlessGiven() {
    assertThat(BenchCommand.indexChoice(null, true))
        .isEqualTo(new BenchCommand.IndexChoice("mirror", "file:///opt/pypi/simple/"));
    assertThat(BenchCommand.indexChoice(null, false).generated()).isTrue();
    assertThat(BenchCommand.indexChoice("generated", true).generated()).isTrue();
    BenchCommand.IndexChoice given = BenchCommand.indexChoice("http://localhost:3141/simple", true);
    assertThat(given.url()).isEqualTo("http://localhost:3141/simple/");
    assertThat(given.describe(given.url())).isEqualTo("http://localhost:3141/simple/ (--index)");
    assertThat(BenchCommand.indexChoice(null, true).describe("file:///opt/pypi/simple/"))
        .contains("wheel mirror");
    assertThat(BenchCommand.indexChoice("generated", true).describe("file:///tmp/x/simple/"))
        .contains("generated", "synthetic stand-in wheels with the real names");
  }
}
