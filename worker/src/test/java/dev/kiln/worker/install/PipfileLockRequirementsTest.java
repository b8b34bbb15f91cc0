package dev.kiln.worker.install;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.worker.steps.StepFailure;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class PipfileLockRequirementsTest {
  private static final String A = "sha256:" + "a".repeat(64);
  private static final String B = "sha256:" + "b".repeat(64);

  private static byte[] json(String text) {
    return text.replace('\'', '"').getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void takesTheDefaultSectionOnlyWithExtrasMarkersAndHashes() throws Exception {
    PipfileLockRequirements.Converted converted =
        PipfileLockRequirements.convert(
            """
        {"_meta": {"requires": {"python_version": "3.12"}},
         "default": {
           "flask": {"hashes": ["%s"], "version": "==3.0.0"},
           "uvicorn": {"extras": ["standard"], "hashes": ["%s"], "markers": "python_version >= '3.8'", "version": "==0.30.1"}},
         "develop": {"pytest": {"hashes": ["%s"], "version": "==8.0.0"}}}
        """
                .formatted(A, B, A)
                .getBytes(StandardCharsets.UTF_8));

    assertThat(converted.hashed()).isTrue();
    assertThat(converted.lines())
        .containsExactly(
            "flask==3.0.0 --hash=" + A,
            "uvicorn[standard]==0.30.1 ; python_version >= '3.8' --hash=" + B);
  }

  @Test
  void dropsHashesWhenSomeEntryHasNone() throws Exception {
    PipfileLockRequirements.Converted converted =
        PipfileLockRequirements.convert(
            json(
                """
        {'default': {'flask': {'hashes': ['%s'], 'version': '==3.0.0'}, 'click': {'version': '==8.1.7'}}}
        """
                    .formatted(A)));

    assertThat(converted.hashed()).isFalse();
    assertThat(converted.lines()).containsExactly("flask==3.0.0", "click==8.1.7");
  }

  @Test
  void aGitDependencyIsReportedAsUnsupportedNamingThePackage() {
    assertThatThrownBy(
            () ->
                PipfileLockRequirements.convert(
                    json(
                        """
        {'default': {'mylib': {'git': 'https://example.test/mylib.git', 'ref': 'abc'}}}
        """)))
        .isInstanceOf(StepFailure.class)
        .hasMessageContaining("mylib")
        .satisfies(
            e ->
                assertThat(((StepFailure) e).code())
                    .isEqualTo("install::package-manager-unsupported"));
  }

  @Test
  void brokenJsonSaysToRelock() {
    assertThatThrownBy(() -> PipfileLockRequirements.convert(json("{'default': ")))
        .isInstanceOf(StepFailure.class)
        .hasMessageContaining("pipenv lock");
  }
}
