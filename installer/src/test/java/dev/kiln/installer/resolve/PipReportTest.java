package dev.kiln.installer.resolve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.events.Digest;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.LocalProject;
import dev.kiln.installer.LockedDistribution;
import dev.kiln.installer.LockedSet;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class PipReportTest {
  private static final String FLASK_SHA = "a".repeat(64);
  private static final String VENDOR_SHA = "b".repeat(64);

  // The shape of pip 23.2's report for `-e .` plus flask from an index (fields trimmed).
  private static final String REPORT =
      """
      {"version": "1", "pip_version": "23.2.1", "install": [
        {"download_info": {"url": "file:///app", "dir_info": {"editable": true}},
         "is_direct": true, "requested": true,
         "metadata": {"name": "web", "version": "1.0"}},
        {"download_info": {"url": "http://127.0.0.1:3141/files/%s/Flask-3.0.3-py3-none-any.whl",
           "archive_info": {"hash": "sha256=%s", "hashes": {"sha256": "%s"}}},
         "is_direct": false, "requested": false,
         "metadata": {"name": "Flask", "version": "3.0.3"}},
        {"download_info": {"url": "file:///app/vendor/tool-2.0-py3-none-any.whl",
           "archive_info": {"hash": "sha256=%s"}},
         "is_direct": true, "requested": true,
         "metadata": {"name": "tool", "version": "2.0"}},
        {"download_info": {"url": "file:///app/libs/shared", "dir_info": {}},
         "is_direct": true, "requested": true,
         "metadata": {"name": "shared", "version": "0.1"}}
      ], "environment": {"python_full_version": "3.11.2"}}
      """
          .formatted(FLASK_SHA, FLASK_SHA, FLASK_SHA, VENDOR_SHA);

  @Test
  void indexFilesBecomeDistributionsWithTheirHashAndDirectoriesBecomeLocalProjects()
      throws Exception {
    LockedSet set = PipReport.read(bytes(REPORT), "/app", "requirements.txt");

    assertThat(set.distributions())
        .extracting(LockedDistribution::normalizedName, LockedDistribution::version)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("flask", "3.0.3"),
            org.assertj.core.groups.Tuple.tuple("tool", "2.0"));
    LockedDistribution flask = set.distributions().get(0);
    assertThat(flask.files().get(0).filename()).isEqualTo("Flask-3.0.3-py3-none-any.whl");
    assertThat(flask.allowedHashes()).containsExactly(Digest.of(FLASK_SHA));
    assertThat(set.distributions().get(1).files().get(0).url())
        .isEqualTo("file:///app/vendor/tool-2.0-py3-none-any.whl");
    assertThat(set.localProjects())
        .containsExactlyInAnyOrder(
            new LocalProject(".", true), new LocalProject("libs/shared", false));
  }

  @Test
  void aVersionControlRequirementFailsWithItsCodeAndName() {
    String report =
        """
        {"version": "1", "install": [
          {"download_info": {"url": "https://example.com/org/pkg.git",
             "vcs_info": {"vcs": "git", "commit_id": "abc"}},
           "metadata": {"name": "pkg", "version": "1.0"}}]}
        """;
    assertThatThrownBy(() -> PipReport.read(bytes(report), "/app", "requirements.txt"))
        .isInstanceOf(InstallerException.class)
        .hasMessageContaining("pkg")
        .hasMessageContaining("version-control")
        .extracting(e -> ((InstallerException) e).code())
        .isEqualTo(dev.kiln.installer.Codes.UNSUPPORTED_REQUIREMENT);
  }

  @Test
  void aLocalDirectoryOutsideTheSourceIsRefused() {
    String report =
        """
        {"version": "1", "install": [
          {"download_info": {"url": "file:///etc/secret-project", "dir_info": {}},
           "metadata": {"name": "secret", "version": "1.0"}}]}
        """;
    assertThatThrownBy(() -> PipReport.read(bytes(report), "/app", "requirements.txt"))
        .isInstanceOf(InstallerException.class)
        .hasMessageContaining("outside the app's source directory");
  }

  @Test
  void aReportInAnotherFormatIsUnreadableNotMisread() {
    assertThatThrownBy(() -> PipReport.read(bytes("{\"version\": \"2\"}"), "/app", "x"))
        .isInstanceOf(InstallerException.class)
        .extracting(e -> ((InstallerException) e).code())
        .isEqualTo(dev.kiln.installer.Codes.RESOLUTION_UNREADABLE);
    assertThatThrownBy(() -> PipReport.read(bytes("not json"), "/app", "x"))
        .isInstanceOf(InstallerException.class);
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
