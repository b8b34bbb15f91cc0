package dev.kiln.installer.resolve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.resolve.RequirementIndexOptions.AllowedIndex;
import dev.kiln.installer.resolve.RequirementIndexOptions.Result;
import dev.kiln.installer.resolve.RequirementIndexOptions.Use;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Requirement files and build environments that try to make pip fetch packages from somewhere other
 * than the cache-service. Each attack test fails if the option would get through.
 */
class RequirementIndexOptionsTest {
  private static final List<AllowedIndex> ACME =
      List.of(new AllowedIndex("private", "https://pypi.acme.example/simple/"));

  private final Map<String, byte[]> files = new HashMap<>();

  private Result check(String requirements) {
    return check(requirements, Map.of(), ACME);
  }

  private Result check(String requirements, Map<String, String> env, List<AllowedIndex> allowed) {
    return RequirementIndexOptions.check(
        "requirements.txt", bytes(requirements), files::get, env, allowed);
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static void assertRefused(Result result, String... messageParts) {
    assertThat(result.isAllowed()).as("the option got through").isFalse();
    assertThatThrownBy(result::requireAllowed)
        .isInstanceOfSatisfying(
            InstallerException.class,
            e -> assertThat(e.code()).isEqualTo("requirements::index-option-not-allowed"))
        .hasMessageContaining("kiln tenants index")
        .hasMessageContaining("Kiln's proxy")
        .satisfies(
            e -> {
              for (String part : messageParts) {
                assertThat(e.getMessage()).contains(part);
              }
            });
  }

  @Test
  void aFindLinksLineCannotBypassTheCacheService() {
    files.put("deps/base.txt", bytes("flask\n--find-links ./wheels\n"));

    for (String line :
        List.of(
            "--find-links ./wheels",
            "--find-links=./wheels",
            "-f ./wheels",
            "-f./wheels",
            "--find ./wheels",
            "--find-links https://files.evil.example/",
            "flask --find-links=./wheels")) {
      assertRefused(check(line + "\nflask\n"), "requirements.txt line 1", "--find-links");
    }
    // Through an include, reported where it is.
    assertRefused(check("-r deps/base.txt\n"), "deps/base.txt line 2", "--find-links ./wheels");
  }

  @Test
  void anIndexUrlLineCannotBypassTheCacheService() {
    for (String line :
        List.of(
            "--index-url http://evil.example/simple",
            "--index-url=http://evil.example/simple",
            "-i http://evil.example/simple",
            "-ihttp://evil.example/simple",
            "--index http://evil.example/simple",
            "--extra-index-url http://evil.example/simple",
            "--extra http://evil.example/simple",
            "  --index-url \\\n   http://evil.example/simple  # a comment",
            "--no-index\n--find-links /srv/wheels")) {
      assertRefused(check("flask==3.0.0\n" + line + "\n"), "requirements.txt line 2");
    }
  }

  @Test
  void aTrustedHostLineIsRefused() {
    Result result = check("--trusted-host evil.example\nflask\n");

    assertRefused(result, "requirements.txt line 1", "--trusted-host evil.example", "TLS");
  }

  @Test
  void anOptionHiddenInAVariableIsExpandedAsPipWould() {
    Result result =
        check(
            "${OPT} ${URL}\nflask\n",
            Map.of("OPT", "--extra-index-url", "URL", "http://evil.example/simple"),
            ACME);

    assertRefused(result, "--extra-index-url http://evil.example/simple");
  }

  @Test
  void pipVariablesInTheBuildEnvironmentAreRefused() {
    Map<String, String> env =
        Map.of(
            "PIP_INDEX_URL", "https://user:s3cret@evil.example/simple",
            "PIP_EXTRA_INDEX_URL", "https://pypi.acme.example/simple http://evil.example/other",
            "PIP_FIND_LINKS", "/srv/wheels",
            "PIP_TRUSTED_HOST", "evil.example",
            "PIP_NO_INDEX", "1");

    Result result = check("flask\n", env, ACME);

    assertRefused(
        result,
        "the build environment (PIP_INDEX_URL)",
        "PIP_FIND_LINKS",
        "PIP_TRUSTED_HOST",
        "PIP_NO_INDEX",
        "http://evil.example/other");
    assertThat(result.indexesUsed()).containsExactly("private");
    assertThatThrownBy(result::requireAllowed).message().doesNotContain("s3cret");
  }

  @Test
  void theTenantsOwnIndexIsAllowedAndNamed() {
    Result result =
        check(
            "--extra-index-url https://deploy:t0ken@PyPI.Acme.Example:443/simple\n"
                + "-i https://pypi.acme.example/simple/\n"
                + "--trusted-host pypi.acme.example\n"
                + "flask\n");

    assertThat(result.isAllowed()).isTrue();
    assertThat(result.indexesUsed()).containsExactly("private");
    assertThat(result.uses()).hasSize(3).allMatch(Use::allowed);
    assertThat(result.uses().get(0).value()).doesNotContain("t0ken");
  }

  @Test
  void anotherTenantsIndexIsNotAllowed() {
    Result result = check("--extra-index-url https://pypi.globex.example/simple\nflask\n");

    assertRefused(result, "https://pypi.globex.example/simple");
  }

  @Test
  void aRequirementFileFromTheNetworkIsRefused() {
    assertRefused(check("-r https://evil.example/reqs.txt\n"), "--requirement");
    assertRefused(check("--constraint=http://evil.example/c.txt\n"), "--constraint");
  }

  @Test
  void harmlessOptionsAndPlainRequirementsPass() {
    files.put("base.txt", bytes("requests==2.31.0 --hash=sha256:" + "0".repeat(64) + "\n"));
    Result result =
        check(
            "-r base.txt\n-c base.txt\n--prefer-binary\n--only-binary :all:\n-e .\n"
                + "flask>=3 ; python_version >= '3.8'\n# --index-url http://in.a.comment/\n",
            Map.of("PIP_CONFIG_FILE", "/dev/null", "PIP_NO_INDEX", "0", "DEBUG", "1"),
            List.of());

    assertThat(result.uses()).isEmpty();
    assertThat(result.isAllowed()).isTrue();
  }

  @Test
  void installInputsAreCheckedWithTheirIncludes() {
    Map<String, byte[]> inputs =
        Map.of(
            "requirements.txt", bytes("-r deps/base.txt\n"),
            "deps/base.txt", bytes("-f ../wheels\nflask\n"));

    assertRefused(
        RequirementIndexOptions.checkInputs(inputs, Map.of(), ACME), "deps/base.txt line 1");
    assertThat(
            RequirementIndexOptions.checkInputs(Map.of("uv.lock", bytes("")), Map.of(), ACME)
                .uses())
        .isEmpty();
    assertRefused(
        RequirementIndexOptions.checkInputs(
            Map.of(), Map.of("PIP_INDEX_URL", "http://evil.example/simple"), ACME),
        "PIP_INDEX_URL");
  }

  @Test
  void includeCyclesEnd() {
    files.put("a.txt", bytes("-r requirements.txt\n-r a.txt\n--index-url http://evil.example/\n"));

    assertRefused(check("-r a.txt\n"), "a.txt line 3");
  }

  @Test
  void normalizesUrlsForComparison() {
    assertThat(RequirementIndexOptions.normalize("HTTPS://u:p@Host.Example:443/simple///"))
        .isEqualTo("https://host.example/simple");
    assertThat(RequirementIndexOptions.normalize("http://host:8080/a/"))
        .isEqualTo("http://host:8080/a");
    assertThat(RequirementIndexOptions.normalize("./wheels")).isNull();
    assertThat(RequirementIndexOptions.longOption("--no")).isNull();
    assertThat(RequirementIndexOptions.longOption("--no-i")).isEqualTo("--no-index");
    assertThat(Codes.ALL).contains(RequirementIndexOptions.CODE);
  }
}
