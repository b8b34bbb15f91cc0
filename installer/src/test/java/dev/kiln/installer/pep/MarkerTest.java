package dev.kiln.installer.pep;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.installer.TargetEnvironment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Cases from PEP 508 and the packaging project's marker tests. */
class MarkerTest {
  private static final TargetEnvironment CPYTHON_312 =
      TargetEnvironment.linuxX86_64("3.12.7", "2.36");
  private static final MarkerEnvironment TARGET = MarkerEnvironment.of(CPYTHON_312);

  private static final List<String> VARIABLES =
      List.of(
          "extra",
          "implementation_name",
          "implementation_version",
          "os_name",
          "platform_machine",
          "platform_release",
          "platform_system",
          "platform_version",
          "python_full_version",
          "python_version",
          "platform_python_implementation",
          "sys_platform",
          "os.name",
          "sys.platform",
          "platform.version",
          "platform.machine",
          "platform.python_implementation",
          "python_implementation");
  private static final List<String> OPERATORS =
      List.of("===", "==", ">=", "<=", "!=", "~=", ">", "<", "in", "not in");
  private static final List<String> VALUES =
      List.of(
          "1.0",
          "5.6a0",
          "dog",
          "freebsd",
          "literally any string can go here",
          "things @#4 dsfd (((");

  static Stream<String> everyVariableOperatorAndValue() {
    List<String> markers = new ArrayList<>();
    for (String variable : VARIABLES) {
      for (String op : OPERATORS) {
        for (String value : VALUES) {
          markers.add(variable + " " + op + " '" + value + "'");
          markers.add("\"" + value + "\" " + op + " " + variable);
        }
      }
    }
    return markers.stream();
  }

  @ParameterizedTest
  @MethodSource("everyVariableOperatorAndValue")
  void everyVariableOperatorAndValueParsesOnEitherSide(String marker) {
    assertThat(Marker.parse(marker)).isEqualTo(Marker.parse(marker));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "this_isnt_a_real_variable >= '1.0'",
        "python_version",
        "(python_version)",
        "python_version >= 1.0 and (python_version)",
        "(python_version == \"2.7\" and os_name == \"linux\"",
        "(python_version == \"2.7\") with random text",
        "python_version >= \"3\"\n",
        "python_version >= \"3\"\r",
        "python_version >= \"3\"\r\n",
        "os_name == \"C:\\\"",
        "os_name == \"\\x\"",
        "os_name == \"unterminated",
        "os_name = \"posix\"",
        "os_name is \"posix\"",
        "os_name not \"posix\"",
        "python_version == \"3.8\" and",
        "or python_version == \"3.8\"",
        "python_version == \"3.8\")",
        "",
        "()",
      })
  void aMarkerThatBreaksTheGrammarIsRefused(String marker) {
    assertThatThrownBy(() -> Marker.parse(marker))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is not a valid environment marker");
  }

  @Test
  void aRefusalSaysWhereAndWhy() {
    assertThatThrownBy(() -> Marker.parse("python_versio >= '3.8'"))
        .hasMessageStartingWith(
            "'python_versio >= '3.8'' is not a valid environment marker: 'python_versio' is not a"
                + " marker variable")
        .hasMessageEndingWith("at position 1 ('python_versio >= '3.8'')");
    assertThatThrownBy(() -> Marker.parse("os_name == 'posix' and"))
        .hasMessageEndingWith(
            "expected a quoted string or a marker variable such as" + " python_version at the end");
    assertThatThrownBy(() -> Marker.parse("os_name == \"C:\\\""))
        .hasMessageContaining("a backslash is not allowed in a marker string");
  }

  @ParameterizedTest
  @ValueSource(strings = {" ", "\t", " \t"})
  void trailingSpacesAndTabsAreAllowed(String whitespace) {
    assertThat(Marker.parse("python_version >= \"3\"" + whitespace))
        .isEqualTo(Marker.parse("python_version >= \"3\""));
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "python_version == '2.7' | python_version == \"2.7\"",
        "python_version == \"2.7\" | python_version == \"2.7\"",
        "'a\" == os_name or python_version >= \"0\" or \"b' == os_name"
            + " | 'a\" == os_name or python_version >= \"0\" or \"b' == os_name",
        "python_version == \"2.7\" and os_name == \"linux\""
            + " | python_version == \"2.7\" and os_name == \"linux\"",
        "python_version == \"2.7\" or os_name == \"linux\" and sys_platform == \"win32\""
            + " | python_version == \"2.7\" or os_name == \"linux\" and sys_platform == \"win32\"",
        "(python_version == \"2.7\") | python_version == \"2.7\"",
        "(python_version == \"2.7\" and sys_platform == \"win32\")"
            + " | python_version == \"2.7\" and sys_platform == \"win32\"",
        "python_version == \"2.7\" and (sys_platform == \"win32\" or sys_platform == \"linux\")"
            + " | python_version == \"2.7\" and (sys_platform == \"win32\" or sys_platform =="
            + " \"linux\")",
        "(python_version >= '3.6' and os_name == 'posix') and platform_system == 'Linux'"
            + " | python_version >= \"3.6\" and os_name == \"posix\" and platform_system =="
            + " \"Linux\"",
        "python_version>='3.6'and os_name=='posix'"
            + " | python_version >= \"3.6\" and os_name == \"posix\"",
        "'S_P__A_M' == extra | \"s-p-a-m\" == extra",
        "extra == 'S_P__A_M' | extra == \"s-p-a-m\"",
        "extra == os_name | extra == os_name",
        "(extra == \"Foo_Bar\" or extra == \"Baz\") and python_version >= \"3\""
            + " | (extra == \"foo-bar\" or extra == \"baz\") and python_version >= \"3\"",
        "'S_P__A_M' in extras | \"s-p-a-m\" in extras",
        "'Foo_Bar' not in dependency_groups | \"foo-bar\" not in dependency_groups",
        "os.name == 'posix' | os_name == \"posix\"",
        "python_implementation == 'CPython'" + " | platform_python_implementation == \"CPython\"",
        "'2.7'in python_version | \"2.7\" in python_version",
        "'2.7' not   in python_version | \"2.7\" not in python_version",
      })
  void aMarkerPrintsInNormalFormAndEqualsItsNormalForm(String text, String normal) {
    Marker marker = Marker.parse(text);
    assertThat(marker.toString()).isEqualTo(normal);
    assertThat(marker).isEqualTo(Marker.parse(normal)).hasSameHashCodeAs(Marker.parse(normal));
  }

  @Test
  void differentMarkersAreNotEqual() {
    assertThat(Marker.parse("python_version == \"2.7\""))
        .isNotEqualTo(Marker.parse("python_version == \"3.7\""))
        .isNotEqualTo(Marker.parse("python_version == \"2.7\" and os_name == \"linux\""));
    assertThat(
            Marker.parse(
                "python_version == \"2.7\" and (os_name == \"linux\" or sys_platform == \"win32\")"))
        .isNotEqualTo(
            Marker.parse(
                "python_version == \"2.7\" and os_name == \"linux\" or sys_platform == \"win32\""));
  }

  private static MarkerEnvironment env(String... pairs) {
    MarkerEnvironment environment = TARGET;
    for (int i = 0; i < pairs.length; i += 2) {
      environment = environment.with(pairs[i], pairs[i + 1]);
    }
    return environment;
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        // marker | python_version | python_full_version | os_name | expected
        "os_name == 'foo' | 3.12 | 3.12.7 | foo | true",
        "os_name == 'foo' | 3.12 | 3.12.7 | bar | false",
        "'2.7' in python_version | 2.7.5 | 2.7.5 | posix | true",
        "'2.7' not in python_version | 2.7 | 2.7.0 | posix | false",
        "os_name == 'foo' and python_version ~= '2.7.0' | 2.7.6 | 2.7.6 | foo | true",
        "python_version ~= '2.7.0' and (os_name == 'foo' or os_name == 'bar') | 2.7.4 | 2.7.4"
            + " | foo | true",
        "python_version ~= '2.7.0' and (os_name == 'foo' or os_name == 'bar') | 2.7.4 | 2.7.4"
            + " | bar | true",
        "python_version ~= '2.7.0' and (os_name == 'foo' or os_name == 'bar') | 2.7.4 | 2.7.4"
            + " | other | false",
        "'2.7.9' < python_full_version | 2.7 | 2.7.10 | posix | true",
        "'2.7.9' < python_full_version | 2.7 | 2.7.8 | posix | false",
        "python_version > '3.9' | 3.10 | 3.10.0 | posix | true",
        "python_version < '3.10' | 3.9 | 3.9.0 | posix | true",
        "python_version >= '3.8' and python_version < '3.13' | 3.12 | 3.12.7 | posix | true",
        "python_full_version > '3.6.2' | 3.11 | 3.11.0a5 | posix | true",
        "python_full_version < '3.12' | 3.11 | 3.11.1+ | posix | true",
        "python_version == '3.*' | 3.12 | 3.12.7 | posix | true",
        "python_version != '3.12.*' | 3.12 | 3.12.7 | posix | false",
        "python_full_version === '3.12.7' | 3.12 | 3.12.7 | posix | true",
        "'b' < python_full_version | 3.12 | c | posix | true",
        "'b' < python_full_version | 3.12 | a | posix | false",
        "'b' > 'a' | 3.12 | 3.12.7 | posix | true",
        "'a' <= 'a' | 3.12 | 3.12.7 | posix | true",
        "os_name < 'r' | 3.12 | 3.12.7 | posix | true",
        "os_name === 'posix' | 3.12 | 3.12.7 | posix | true",
        "python_version > '3.12' | 3.12 | 3.12.7 | posix | false",
        "python_full_version > '3.12' | 3.12 | 3.12.7 | posix | true",
        "python_version == '3.12.0' | 3.12 | 3.12.7 | posix | true",
      })
  void aMarkerEvaluatesAsPep508Says(
      String marker, String pythonVersion, String fullVersion, String osName, boolean expected) {
    MarkerEnvironment environment =
        env("python_version", pythonVersion, "python_full_version", fullVersion, "os_name", osName);
    assertThat(Marker.parse(marker).evaluate(environment)).isEqualTo(expected);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "python_version < '3.13' | true",
        "python_version < '3.12' | false",
        "python_version >= '3.8' | true",
        "'3.8' < python_version | true",
        "'3.13' <= python_version | false",
        "python_full_version >= '3.12.7' | true",
        "python_full_version < '3.12.7' | false",
        "implementation_name == 'cpython' | true",
        "implementation_version >= '3.12' | true",
        "platform_python_implementation == 'CPython' | true",
        "platform_python_implementation == 'PyPy' | false",
        "sys_platform == 'linux' | true",
        "sys_platform == 'win32' | false",
        "sys_platform != 'darwin' | true",
        "platform_system == 'Linux' | true",
        "platform_system == 'Windows' | false",
        "os_name == 'nt' | false",
        "os_name == 'posix' | true",
        "platform_machine == 'x86_64' | true",
        "platform_machine == 'aarch64' | false",
        "platform_machine in 'x86_64 X86_64 aarch64 AMD64' | true",
        "'arm' in platform_machine | false",
        "platform_release >= '5.0' | false",
        "platform_version != '' | false",
        "sys.platform == 'linux' | true",
        "python_version >= '3.8' and (sys_platform == 'win32' or platform_system == 'Linux') | true",
        "python_version < '3.8' or sys_platform == 'linux' and platform_machine == 'aarch64' | false",
        "extra == 'test' | false",
        "extra != 'test' | true",
        "python_version ~= '3.10' | true",
        "python_version ~= '3.12.0' | true",
        "python_version ~= '3.13.0' | false",
      })
  void aCPythonLinuxTargetHasTheStandardValues(String marker, boolean expected) {
    assertThat(Marker.parse(marker).evaluate(TARGET)).isEqualTo(expected);
  }

  @Test
  void theTargetEnvironmentHasEveryStandardVariable() {
    assertThat(TARGET.values())
        .isEqualTo(
            Map.ofEntries(
                Map.entry("implementation_name", "cpython"),
                Map.entry("implementation_version", "3.12.7"),
                Map.entry("os_name", "posix"),
                Map.entry("platform_machine", "x86_64"),
                Map.entry("platform_release", ""),
                Map.entry("platform_system", "Linux"),
                Map.entry("platform_version", ""),
                Map.entry("python_full_version", "3.12.7"),
                Map.entry("platform_python_implementation", "CPython"),
                Map.entry("python_version", "3.12"),
                Map.entry("sys_platform", "linux")));
    assertThat(MarkerEnvironment.of(new TargetEnvironment("3.9.18", "2.31", "aarch64")).values())
        .containsEntry("python_version", "3.9")
        .containsEntry("platform_machine", "aarch64");
    assertThat(TARGET.get("extra")).isEmpty();
  }

  @Test
  void anEnvironmentTakesOnlyMarkerVariables() {
    assertThatThrownBy(() -> TARGET.with("python_versoin", "3.12"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'python_versoin' is not a marker variable");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        // marker | requested extras (space-separated) | expected
        "extra == 'security' | quux | false",
        "extra == 'security' | security | true",
        "extra == 'SECURITY' | security | true",
        "extra == 'security' | SECURITY | true",
        "extra == 'pep-685-norm' | PEP_685...norm | true",
        "extra == 'Different.punctuation..is...equal' | different__punctuation_is_EQUAL | true",
        "extra == 'v2' | '' | false",
        "extra == 'v2' | v2 | true",
        "extra == 'v2' | v2a3 | false",
        "extra == 'v2a3' | v2 | false",
        "extra == 'v2a3' | v2a3 | true",
        "extra == 'socks' | security socks | true",
        "extra == 'socks' and extra == 'security' | security socks | false",
        "extra == 'socks' and python_version >= '3.8' | socks | true",
        "extra == 'socks' and python_version < '3.8' | socks | false",
        "extra != 'socks' | socks | false",
        "extra != 'socks' | socks security | true",
        "'socks' == extra | socks | true",
      })
  void extraIsComparedByNormalizedNameOncePerRequestedExtra(
      String marker, String extras, boolean expected) {
    Set<String> requested =
        extras.isBlank() ? Set.of() : Set.copyOf(List.of(extras.strip().split("\\s+")));
    assertThat(Marker.parse(marker).evaluate(TARGET, requested)).isEqualTo(expected);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "'foo' in {0} | true",
        "'bar' in {0} | true",
        "'baz' in {0} | false",
        "'baz' not in {0} | true",
        "'foo' in {0} and 'bar' in {0} | true",
        "'foo' in {0} or 'bar' in {0} | true",
        "'baz' in {0} and 'foo' in {0} | false",
        "'foo' in {0} or 'baz' in {0} | true",
        "'Foo' in {0} | true",
      })
  void extrasAndDependencyGroupsAreSetsForLockFiles(String template, boolean expected) {
    Set<String> names = Set.of("foo", "bar");
    assertThat(Marker.parse(template.replace("{0}", "extras")).evaluate(TARGET, names))
        .isEqualTo(expected);
    assertThat(
            Marker.parse(template.replace("{0}", "dependency_groups"))
                .evaluate(TARGET, Set.of(), names))
        .isEqualTo(expected);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "extras == 'foo'",
        "dependency_groups != 'foo'",
        "extras >= 'foo'",
        "'foo' == extras",
        "os_name ~= '2.0'",
        "'2.7.0' ~= os_name",
      })
  void aComparisonPep508LeavesUndefinedIsAnError(String marker) {
    assertThatThrownBy(() -> Marker.parse(marker).evaluate(TARGET, Set.of("foo")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot be evaluated");
  }

  @Test
  void aVariableTheEnvironmentLacksIsNamed() {
    MarkerEnvironment partial = new MarkerEnvironment(Map.of("python_version", "3.12"));
    assertThatThrownBy(() -> Marker.parse("os_name == 'posix'").evaluate(partial))
        .hasMessage("the marker 'os_name == \"posix\"' needs os_name, which has no value here");
  }
}
