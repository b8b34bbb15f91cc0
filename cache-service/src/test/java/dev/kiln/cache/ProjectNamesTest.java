package dev.kiln.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ProjectNamesTest {
  @Test
  void normalizesRunsOfSeparatorsAndCase() {
    assertThat(ProjectNames.normalize("Demo_Pkg")).isEqualTo("demo-pkg");
    assertThat(ProjectNames.normalize("zope.interface")).isEqualTo("zope-interface");
    assertThat(ProjectNames.normalize("Foo.-_Bar")).isEqualTo("foo-bar");
    assertThat(ProjectNames.normalize("flask")).isEqualTo("flask");
  }

  @Test
  void rejectsNamesThatCannotBeProjects() {
    assertThatThrownBy(() -> ProjectNames.requireNormalized("-leading"))
        .isInstanceOf(CacheError.class)
        .hasMessageContaining("'-leading' is not a valid Python project name");
    assertThatThrownBy(() -> ProjectNames.requireNormalized("spa ce"))
        .isInstanceOf(CacheError.class);
  }

  @Test
  void findsTheProjectInDistributionFilenames() {
    assertThat(ProjectNames.projectOfFilename("demo_pkg-1.0-py3-none-any.whl"))
        .contains("demo-pkg");
    assertThat(ProjectNames.projectOfFilename("Django-4.2.tar.gz")).contains("django");
    assertThat(ProjectNames.projectOfFilename("zope.interface-6.0.zip")).contains("zope-interface");
    assertThat(ProjectNames.projectOfFilename("README.md")).isEmpty();
  }
}
