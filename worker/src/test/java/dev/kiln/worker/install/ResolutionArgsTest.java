package dev.kiln.worker.install;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** What pip is asked to resolve, as the classic buildpack's pip install and test-compile ask. */
class ResolutionArgsTest {
  @Test
  void aNormalBuildResolvesRequirementsTxt() {
    Resolution.Requested requested = Resolution.requested(false, true, false);

    assertThat(requested.args()).containsExactly("-r", "requirements.txt");
    assertThat(requested.shownAs()).isEqualTo("requirements.txt");
  }

  @Test
  void aCiBuildWithTestRequirementsResolvesBothFiles() {
    Resolution.Requested requested = Resolution.requested(false, true, true);

    assertThat(requested.args())
        .containsExactly("-r", "requirements.txt", "-r", "requirements-test.txt");
    assertThat(requested.shownAs()).isEqualTo("requirements.txt and requirements-test.txt");
  }

  @Test
  void aSetupPyAppInCiResolvesTheProjectWithTheTestRequirements() {
    assertThat(Resolution.requested(false, false, true).args())
        .containsExactly("-e", ".", "-r", "requirements-test.txt");
  }

  @Test
  void aPipfileIsResolvedFromItsLinesAndNeverWithRequirementsTestTxt() {
    // Pipenv's CI install is --dev: the Pipfile's [dev-packages] go into the lines instead
    Resolution.Requested requested = Resolution.requested(true, true, true);

    assertThat(requested.args()).containsExactly("-r", Resolution.PIPFILE_REQUIREMENTS);
    assertThat(requested.shownAs()).isEqualTo("Pipfile");
  }

  @Test
  void aCiBuildOfAUvOrPoetryAppThatPipResolvesAsksForTheGroups() {
    Resolution.Requested requested =
        Resolution.requested(false, false, false, java.util.List.of("dev", "lint"));

    assertThat(requested.args()).containsExactly("-e", ".", "-r", Resolution.GROUP_REQUIREMENTS);
    assertThat(requested.shownAs()).isEqualTo("setup.py with the groups dev, lint");
  }
}
