package dev.kiln.installer.lock;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PoetryConstraintTest {
  @Test
  void caretAndTildeFollowPoetryCore() {
    assertThat(PoetryConstraint.toPep440("^3.9")).containsExactly(">=3.9,<4");
    assertThat(PoetryConstraint.toPep440("^0.2.3")).containsExactly(">=0.2.3,<0.3");
    assertThat(PoetryConstraint.toPep440("^0.0.3")).containsExactly(">=0.0.3,<0.0.4");
    assertThat(PoetryConstraint.toPep440("^0")).containsExactly(">=0,<1");
    assertThat(PoetryConstraint.toPep440("~3.9")).containsExactly(">=3.9,<3.10");
    assertThat(PoetryConstraint.toPep440("~3.9.1")).containsExactly(">=3.9.1,<3.10");
    assertThat(PoetryConstraint.toPep440("~3")).containsExactly(">=3,<4");
  }

  @Test
  void pep440AlternativesAndWildcardsPassThrough() {
    assertThat(PoetryConstraint.toPep440("*")).containsExactly("");
    assertThat(PoetryConstraint.toPep440(">=2.7, !=3.0.*, !=3.1.*"))
        .containsExactly(">=2.7,!=3.0.*,!=3.1.*");
    assertThat(PoetryConstraint.toPep440(">=3.6,<4.0")).containsExactly(">=3.6,<4.0");
    assertThat(PoetryConstraint.toPep440(">=3.7 || ^2.7")).containsExactly(">=3.7", ">=2.7,<3");
    assertThat(PoetryConstraint.toPep440("3.9.*")).containsExactly("==3.9.*");
    assertThat(PoetryConstraint.toPep440("~=3.8")).containsExactly("~=3.8");
  }

  @Test
  void unreadableConstraintIsNull() {
    assertThat(PoetryConstraint.toPep440("latest please")).isNull();
  }
}
