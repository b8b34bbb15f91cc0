package dev.kiln.installer.resolve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.installer.InstallerException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class PipfileRequirementsTest {
  private static final String PIPFILE =
      """
      [[source]]
      url = "https://pypi.org/simple"
      verify_ssl = true
      name = "pypi"

      [packages]
      flask = "*"
      requests = ">=2.0"
      pinned = "1.2.3"
      django = {version = "~=4.2", extras = ["bcrypt", "argon2"]}
      marked = {version = "*", markers = "python_version >= '3.8'"}
      windows-only = {version = "*", sys_platform = "== 'win32'"}
      both = {version = "<2", markers = "os_name == 'posix'", python_version = ">= '3.9'"}
      web = {path = ".", editable = true}
      shared = {path = "libs/shared"}

      [dev-packages]
      pytest = "*"

      [requires]
      python_version = "3.11"
      """;

  @Test
  void packagesBecomeTheRequirementLinesPipenvWouldResolve() throws Exception {
    assertThat(PipfileRequirements.lines(bytes(PIPFILE), false))
        .containsExactly(
            "flask",
            "requests>=2.0",
            "pinned==1.2.3",
            "django[bcrypt,argon2]~=4.2",
            "marked ; python_version >= '3.8'",
            "windows-only ; sys_platform == 'win32'",
            "both<2 ; (os_name == 'posix') and (python_version >= '3.9')",
            "-e .",
            "./libs/shared");
  }

  @Test
  void devPackagesAreAddedOnlyForCiBuilds() throws Exception {
    assertThat(PipfileRequirements.lines(bytes(PIPFILE), true)).endsWith("pytest");
    assertThat(PipfileRequirements.lines(bytes(PIPFILE), false)).doesNotContain("pytest");
  }

  @Test
  void aGitSourceFailsWithThePackageNamed() {
    String pipfile =
        "[packages]\nmylib = {git = \"https://example.com/mylib.git\", ref = \"v1\"}\n";
    assertThatThrownBy(() -> PipfileRequirements.lines(bytes(pipfile), false))
        .isInstanceOf(InstallerException.class)
        .hasMessageContaining("mylib")
        .hasMessageContaining("git");
  }

  @Test
  void aPipfileThatIsNotTomlSaysSo() {
    assertThatThrownBy(() -> PipfileRequirements.lines(bytes("[packages\nflask = "), false))
        .isInstanceOf(InstallerException.class)
        .extracting(e -> ((InstallerException) e).code())
        .isEqualTo(dev.kiln.installer.Codes.PIPFILE_INVALID);
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
