package dev.kiln.installer.lock;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PythonBoundsTest {
  @Test
  void sameRangeWrittenDifferentlyIsEqual() {
    assertThat(PythonBounds.of(">=3.10,<4")).isEqualTo(PythonBounds.of(">=3.10.0, <4.0"));
    assertThat(PythonBounds.of("<4, >=3.10")).isEqualTo(PythonBounds.of(">=3.10,<4"));
    assertThat(PythonBounds.of("~=3.11")).isEqualTo(PythonBounds.of(">=3.11,<4"));
    assertThat(PythonBounds.of("==3.12.*")).isEqualTo(PythonBounds.of(">=3.12,<3.13"));
    assertThat(PythonBounds.of(">=3.10,!=3.11.*")).isEqualTo(PythonBounds.of(">=3.10"));
    assertThat(PythonBounds.of(">=3.9,>=3.10")).isEqualTo(PythonBounds.of(">=3.10"));
  }

  @Test
  void differentRangesDiffer() {
    assertThat(PythonBounds.of(">=3.10")).isNotEqualTo(PythonBounds.of(">=3.11"));
    assertThat(PythonBounds.of(">=3.10")).isNotEqualTo(PythonBounds.of(">3.10"));
    assertThat(PythonBounds.of("<=3.12")).isNotEqualTo(PythonBounds.of("<3.13"));
  }

  @Test
  void preReleasesAreNotReadable() {
    assertThat(PythonBounds.of(">=3.13.0rc1")).isNull();
  }
}
