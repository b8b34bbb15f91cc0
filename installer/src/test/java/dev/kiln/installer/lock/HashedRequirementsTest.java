package dev.kiln.installer.lock;

import static dev.kiln.installer.lock.Fixtures.bytes;
import static dev.kiln.installer.lock.Fixtures.distribution;
import static dev.kiln.installer.lock.Fixtures.utf8;
import static dev.kiln.installer.lock.Fixtures.versions;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.events.Digest;
import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.LocalProject;
import dev.kiln.installer.lock.HashedRequirements.Result;
import dev.kiln.installer.lock.HashedRequirements.Unlocked;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HashedRequirementsTest {
  private static final String A = "a".repeat(64);
  private static final String B = "b".repeat(64);
  private static final String C = "c".repeat(64);

  private static Result read(String text, Map<String, String> files) throws InstallerException {
    Map<String, byte[]> includes = new HashMap<>();
    files.forEach((path, content) -> includes.put(path, utf8(content)));
    return HashedRequirements.read(
        utf8(text), "requirements.txt", includes::get, FakeMarkers.linux("3.12.7"));
  }

  private static Result read(String text) throws InstallerException {
    return read(text, Map.of());
  }

  @Test
  void severalFilesReadAsOneSetAsPipReadsTwoRequirementOptions() throws Exception {
    Map<String, byte[]> files =
        Map.of(
            "requirements.txt",
            utf8("flask==3.1.1 --hash=sha256:" + A + "\n"),
            "requirements-test.txt",
            utf8("-r requirements.txt\npytest==8.4.1 --hash=sha256:" + B + "\n"));

    Result result =
        HashedRequirements.read(
            List.of("requirements.txt", "requirements-test.txt"),
            files::get,
            FakeMarkers.linux("3.12.7"));

    assertThat(result.isFullyHashed()).isTrue();
    assertThat(versions(result.lockedSet())).containsOnlyKeys("flask", "pytest");
    assertThatThrownBy(
            () ->
                HashedRequirements.read(
                    List.of("requirements.txt", "requirements-test.txt"),
                    Map.of("requirements.txt", files.get("requirements.txt"))::get,
                    FakeMarkers.linux("3.12.7")))
        .hasFieldOrPropertyWithValue("code", Codes.REQUIREMENTS_INCLUDE_NOT_FOUND);
  }

  /** uv's test data (astral-sh/uv @ 26a9dd4b2125bc271b47855e1fa0c49af3365db5), see SOURCE.txt. */
  @Test
  void poetryExportStyleFileIsFullyHashed() throws Exception {
    Result result =
        HashedRequirements.read(
            bytes("requirements/poetry-export/requirements.txt"),
            "requirements.txt",
            path -> null,
            FakeMarkers.linux("3.12.7"));

    assertThat(result.isFullyHashed()).isTrue();
    assertThat(versions(result.lockedSet()))
        .containsOnlyKeys("psycopg2", "requests-oauthlib", "urllib3", "werkzeug"); // not ansicon
    assertThat(distribution(result.lockedSet(), "psycopg2").allowedHashes()).hasSize(4);
    assertThat(distribution(result.lockedSet(), "urllib3").allowedHashes())
        .containsExactly(
            Digest.ofHex("8a388717b9476f934a21484e8c8e61875ab60644d29b9b39e11e4b9dc1c6b305"));
  }

  @Test
  void continuationsCommentsExtrasAndMarkers() throws Exception {
    Result result =
        read(
            """
            # top comment
            Flask[async]==3.0.3 \\
                --hash=sha256:%s \\
                --hash=sha256:%s  # pinned by pip-compile
                # via -r requirements.in
            tomli==2.0.1 ; python_version < "3.11" --hash=sha256:%s
            --require-hashes
            """
                .formatted(A, B, C));

    assertThat(result.isFullyHashed()).isTrue();
    assertThat(versions(result.lockedSet())).containsOnlyKeys("flask");
    assertThat(distribution(result.lockedSet(), "flask").version()).isEqualTo("3.0.3");
    assertThat(distribution(result.lockedSet(), "flask").allowedHashes())
        .containsExactlyInAnyOrder(Digest.ofHex(A), Digest.ofHex(B));
  }

  @Test
  void unpinnedOrUnhashedRequirementsMeanTheFileIsNotFullyLocked() throws Exception {
    Result result =
        read(
            """
            flask>=3 --hash=sha256:%s
            gunicorn==23.0.0
            whitenoise==6.7.0 --hash=sha512:%s
            django @ https://example.com/Django-5.1-py3-none-any.whl
            git+https://github.com/psf/requests@main#egg=requests
            six==1.16.0 --hash=sha256:%s
            """
                .formatted(A, B + B, C));

    assertThat(result.isFullyHashed()).isFalse();
    assertThat(result.unlocked()).extracting(Unlocked::line).containsExactly(1, 2, 3, 4, 5);
    assertThat(result.unlocked().get(0).reason()).contains("not pinned");
    assertThat(result.unlocked().get(1).reason()).contains("no --hash");
    assertThat(result.unlocked().get(2).reason()).contains("no sha256");
    assertThat(versions(result.lockedSet())).containsOnlyKeys("six");
  }

  @Test
  void localPathsAreLocalProjects() throws Exception {
    Result result =
        read(
            """
            -e .
            ./libs/shared/
            --editable=./plugins/x
            six==1.16.0 --hash=sha256:%s
            """
                .formatted(A));

    assertThat(result.isFullyHashed()).isTrue();
    assertThat(result.lockedSet().localProjects())
        .containsExactly(
            new LocalProject(".", true),
            new LocalProject("libs/shared", false),
            new LocalProject("plugins/x", true));
  }

  @Test
  void includesAreReadRelativeToTheIncludingFile() throws Exception {
    Result result =
        read(
            "-r requirements/prod.txt\n",
            Map.of(
                "requirements/prod.txt",
                "-r base.txt\n-c ../constraints.txt\ngunicorn==23.0.0 --hash=sha256:" + A + "\n",
                "requirements/base.txt",
                "django==5.1.2 --hash=sha256:" + B + "\n",
                "constraints.txt",
                "django==5.1.2\nurllib3<3\n"));

    assertThat(versions(result.lockedSet()))
        .containsOnlyKeys("django", "gunicorn"); // constraints add nothing
    assertThat(result.unlocked())
        .containsExactly(
            new Unlocked(
                "constraints.txt",
                2,
                "urllib3<3",
                "it constrains a range, which only a resolver can check"));
  }

  @Test
  void indexOptionsFailWithCode() {
    for (String option :
        List.of(
            "--index-url https://pypi.example/simple",
            "-i https://pypi.example/simple",
            "--extra-index-url=https://pypi.example/simple",
            "--find-links ./wheels",
            "--no-binary :all:")) {
      assertThatThrownBy(() -> read(option + "\nsix==1.16.0 --hash=sha256:" + A + "\n"))
          .hasFieldOrPropertyWithValue("code", Codes.REQUIREMENTS_UNSUPPORTED_OPTION)
          .hasMessageContaining("requirements.txt line 1");
    }
  }

  @Test
  void brokenIncludesAndConflictingPinsFailWithCodes() {
    assertThatThrownBy(() -> read("-r missing.txt\n"))
        .hasFieldOrPropertyWithValue("code", Codes.REQUIREMENTS_INCLUDE_NOT_FOUND)
        .hasMessageContaining("missing.txt");
    assertThatThrownBy(() -> read("-r https://example.com/r.txt\n"))
        .hasFieldOrPropertyWithValue("code", Codes.REQUIREMENTS_INCLUDE_NOT_FOUND);
    assertThatThrownBy(() -> read("-r a.txt\n", Map.of("a.txt", "-r requirements.txt\n")))
        .hasFieldOrPropertyWithValue("code", Codes.REQUIREMENTS_INCLUDE_CYCLE);
    assertThatThrownBy(
            () ->
                read(
                    "six==1.16.0 --hash=sha256:%s\nsix==1.17.0 --hash=sha256:%s\n".formatted(A, B)))
        .hasFieldOrPropertyWithValue("code", Codes.REQUIREMENTS_CONFLICTING_PINS)
        .hasMessageContaining("line 1")
        .hasMessageContaining("line 2");
    assertThatThrownBy(
            () ->
                read(
                    "-c c.txt\nsix==1.16.0 --hash=sha256:" + A + "\n",
                    Map.of("c.txt", "six==1.17.0\n")))
        .hasFieldOrPropertyWithValue("code", Codes.REQUIREMENTS_CONFLICTING_PINS);
    assertThatThrownBy(() -> read("six=1.16.0\n"))
        .hasFieldOrPropertyWithValue("code", Codes.REQUIREMENTS_INVALID_LINE);
  }
}
