package dev.kiln.buildpack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TextAndRequirementsTest {
  @Test
  void quoteReplacesControlAndInvisibleCharactersAndCapsLength() {
    assertThat(Text.quote("a\u0000b\u001bc\r\n\t\uFEFFd\u202Ee"))
        .isEqualTo("a\uFFFDb\uFFFDc\uFFFD\uFFFD\uFFFD\uFFFDd\uFFFDe");
    assertThat(Text.quote("x".repeat(150))).isEqualTo("x".repeat(100) + "…");
    assertThat(Text.quote("\uD83D\uDE00 ok")).isEqualTo("\uD83D\uDE00 ok");
  }

  @Test
  void invalidUtf8DecodesToReplacementCharacters() {
    assertThat(Text.decode(new byte[] {'a', (byte) 0xff, (byte) 0xc3, 'b'}))
        .isEqualTo("a\uFFFD\uFFFDb");
  }

  @Test
  void requirementsParserReadsNamesIncludesAndOptionsLikePip() {
    RequirementsParser.Parsed parsed =
        RequirementsParser.parse(
            String.join(
                "\n",
                "# comment",
                "Flask[async]>=2 ; python_version > \"3.8\"  # inline",
                "-r base.txt",
                "--requirement=more.txt",
                "-rshort.txt",
                "-c constraints.txt",
                "--constraint https://example.com/c.txt",
                "-e git+https://github.com/org/pkg.git@v1#egg=My_Pkg",
                "-e .",
                "requests \\",
                "  --hash=sha256:abc",
                "./wheels/Some.Lib-1.0-py3-none-any.whl",
                "https://example.com/archive.zip",
                "zope.interface @ https://example.com/zope.zip",
                "--extra-index-url https://pypi.example/simple",
                "-r ${CI_REQUIREMENTS}",
                "gunicorn"));

    assertThat(parsed.packageNames())
        .containsExactly("flask", "my-pkg", "requests", "some-lib", "zope-interface", "gunicorn");
    assertThat(parsed.includes())
        .extracting(RequirementsParser.Include::path)
        .containsExactly(
            "base.txt", "more.txt", "short.txt", "constraints.txt", "${CI_REQUIREMENTS}");
    assertThat(parsed.localPaths())
        .containsExactly(
            new RequirementsParser.LocalPath(".", true),
            new RequirementsParser.LocalPath("./wheels/Some.Lib-1.0-py3-none-any.whl", false));
  }

  @Test
  void requirementsParserTellsLocalProjectsFromNames() {
    RequirementsParser.Parsed parsed =
        RequirementsParser.parse(
            String.join(
                "\n",
                ".",
                "./lib[extra] ; python_version >= \"3.8\"",
                "-e./editable",
                "--editable ../up",
                "file:local/pkg",
                "libs/other",
                "flask>=3",
                "name @ https://example.com/a/b.whl"));
    assertThat(parsed.localPaths())
        .containsExactly(
            new RequirementsParser.LocalPath(".", false),
            new RequirementsParser.LocalPath("./lib", false),
            new RequirementsParser.LocalPath("./editable", true),
            new RequirementsParser.LocalPath("../up", true),
            new RequirementsParser.LocalPath("file:local/pkg", false),
            new RequirementsParser.LocalPath("libs/other", false));
    assertThat(parsed.packageNames()).containsExactly("flask", "name");
  }

  @Test
  void lockfileNamesReadPoetryAndUvLocksAndPipfiles() {
    String poetry =
        "[[package]]\nname = \"Flask\"\ncategory = \"main\"\n\n[package.dependencies]\nname = \"x\"\n\n"
            + "[[package]]\nname = \"pytest\"\ncategory = \"dev\"\n\n[[package]]\nname = \"gunicorn\"\ngroups = [\"main\", \"prod\"]\n";
    assertThat(LockfileNames.lockedPackages(poetry)).containsExactly("flask", "gunicorn");
    assertThat(
            LockfileNames.pipfilePackages(
                "[packages]\n\"Django\" = \"*\"\ngunicorn = {version = \"*\"}\n[dev-packages]\npytest = \"*\"\n"))
        .containsExactly("django", "gunicorn");
    assertThat(
            LockfileNames.listedRequirements(
                "dependencies = [\"uvicorn[standard]>=0.30\", 'fastapi']", "dependencies"))
        .containsExactly("uvicorn", "fastapi");
  }

  @Test
  void previousPythonVersionMustBeAVersion() {
    assertThatThrownBy(() -> BuildInputs.builder().previousPythonVersion("latest"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("3.12.7");
  }
}
