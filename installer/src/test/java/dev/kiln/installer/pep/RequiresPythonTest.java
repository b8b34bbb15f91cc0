package dev.kiln.installer.pep;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.TargetEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RequiresPythonTest {
  private static final TargetEnvironment CPYTHON_312 =
      TargetEnvironment.linuxX86_64("3.12.7", "2.36");

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        ">=3.8 | 3.12.7 | true",
        ">=3.8, <4 | 3.12.7 | true",
        ">=3.13 | 3.12.7 | false",
        "<3.12 | 3.12.7 | false",
        "<3.13 | 3.12.7 | true",
        ">=3.12 | 3.13.0rc1 | true",
        ">=3.7, !=3.12.* | 3.12.7 | false",
        ">=3.7, !=3.12.* | 3.11.9 | true",
        "~=3.9 | 3.12.7 | true",
        "~=3.9.0 | 3.12.7 | false",
        "==3.12.* | 3.12.7 | true",
        ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.* | 3.12.7 | true",
        ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.* | 3.4.10 | false",
        "'' | 3.12.7 | true",
        ">3.12 | 3.12.7 | true",
        ">3.12.7 | 3.12.7 | false",
        ">=3.10.0a1 | 3.12.7 | true",
      })
  void aRequiresPythonAdmitsTheInterpretersItNames(
      String requires, String python, boolean admitted) {
    assertThat(RequiresPython.parse(requires).admits(Pep440Version.of(python))).isEqualTo(admitted);
  }

  @Test
  void theTargetsExactVersionIsChecked() throws InstallerException {
    assertThat(RequiresPython.parse(">=3.12.8").admits(CPYTHON_312)).isFalse();
    assertThat(RequiresPython.parse(">=3.12.7").admits(CPYTHON_312)).isTrue();
    RequiresPython.check(">=3.9", "flask 3.1.0", CPYTHON_312);
  }

  @Test
  void aTargetOutsideRequiresPythonFailsWithCodeAndWhatToDo() {
    assertThatThrownBy(() -> RequiresPython.check(">=3.13", "numpy 2.3.0", CPYTHON_312))
        .isInstanceOf(InstallerException.class)
        .hasFieldOrPropertyWithValue("code", Codes.REQUIRES_PYTHON)
        .hasMessage(
            "numpy 2.3.0 requires Python >=3.13 (Requires-Python), but the runtime is CPython"
                + " 3.12.7. Choose a runtime Python that satisfies >=3.13, or lock a version of"
                + " numpy that supports Python 3.12.");
  }

  @Test
  void anInvalidRequiresPythonIsRefusedWithTheValue() {
    assertThatThrownBy(() -> RequiresPython.parse(">=3.6.*"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("Requires-Python '>=3.6.*' is not valid: ")
        .hasMessageContaining("prefix match works only with '==' and '!='");
  }

  @Test
  void requiresPythonPrintsItsSpecifier() {
    assertThat(RequiresPython.parse(" >=3.8 , <4 ")).hasToString(">=3.8,<4");
    assertThat(RequiresPython.parse(">=3.8,<4")).isEqualTo(RequiresPython.parse("<4,>=3.8"));
  }
}
