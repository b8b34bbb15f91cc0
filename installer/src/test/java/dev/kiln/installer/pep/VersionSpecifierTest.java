package dev.kiln.installer.pep;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Cases from PEP 440 and the packaging project's specifier tests. */
class VersionSpecifierTest {

  /** {@code version | specifier | matches}, pre-releases allowed. */
  private static final String MATCHES =
      """
      2.0 | ==2 | true
      2.0 | ==2.0 | true
      2.0 | ==2.0.0 | true
      2.0+deadbeef | ==2 | true
      2.0+deadbeef | ==2.0 | true
      2.0+deadbeef | ==2.0.0 | true
      2.0+deadbeef | ==2+deadbeef | true
      2.0+deadbeef | ==2.0+deadbeef | true
      2.0+deadbeef | ==2.0.0+deadbeef | true
      2.0+deadbeef.0 | ==2.0.0+deadbeef.00 | true
      2.dev1 | ==2.* | true
      2a1 | ==2.* | true
      2a1.post1 | ==2.* | true
      2b1 | ==2.* | true
      2b1.dev1 | ==2.* | true
      2c1 | ==2.* | true
      2c1.post1.dev1 | ==2.* | true
      2c1.post1.dev1 | ==2.0.* | true
      2rc1 | ==2.* | true
      2rc1 | ==2.0.* | true
      2 | ==2.* | true
      2 | ==2.0.* | true
      2 | ==2.0.0.* | true
      2 | ==0!2.* | true
      0!2 | ==2.* | true
      2.0 | ==2.* | true
      2.0.0 | ==2.* | true
      2.0.0.0 | ==2.0.* | true
      2.1+local.version | ==2.1.* | true
      2.1 | !=2 | true
      2.1 | !=2.0 | true
      2.0.1 | !=2 | true
      2.0.1 | !=2.0 | true
      2.0.1 | !=2.0.0 | true
      2.0 | !=2.0+deadbeef | true
      2.0 | !=3.* | true
      2.1 | !=2.0.* | true
      3 | !=2.0.0.* | true
      2.1.0.0 | !=2.0.* | true
      2.0 | >=2 | true
      2.0 | >=2.0 | true
      2.0 | >=2.0.0 | true
      2.0.post1 | >=2 | true
      2.0.post1.dev1 | >=2 | true
      3 | >=2 | true
      3.0.0a8 | >=3.0.0a7 | true
      2.0 | <=2 | true
      2.0 | <=2.0 | true
      2.0 | <=2.0.0 | true
      2.0.dev1 | <=2 | true
      2.0a1 | <=2 | true
      2.0a1.dev1 | <=2 | true
      2.0b1 | <=2 | true
      2.0b1.post1 | <=2 | true
      2.0c1 | <=2 | true
      2.0c1.post1.dev1 | <=2 | true
      2.0rc1 | <=2 | true
      1 | <=2 | true
      3.0.0a7 | <=3.0.0a8 | true
      3 | >2 | true
      2.1 | >2.0 | true
      2.0.1 | >2 | true
      2.1.post1 | >2 | true
      2.1+local.version | >2 | true
      3.0.0a8 | >3.0.0a7 | true
      1 | <2 | true
      2.0 | <2.1 | true
      2.0.dev0 | <2.1 | true
      3.0.0a7 | <3.0.0a8 | true
      1 | ~=1.0 | true
      1.0.1 | ~=1.0 | true
      1.1 | ~=1.0 | true
      1.9999999 | ~=1.0 | true
      1.1 | ~=1.0a1 | true
      2022.01.01 | ~=2022.01.01 | true
      2!1.0 | ~=2!1.0 | true
      2!1.0 | ==2!1.* | true
      2!1.0 | ==2!1.0 | true
      2!1.0 | !=1.0 | true
      2!1.0.0 | ==2!1.0.0.0.* | true
      2!1.0.0 | ==2!1.0.* | true
      2!1.0.0 | ==2!1.* | true
      1.0 | !=2!1.0 | true
      1.0 | <=2!0.1 | true
      2!1.0 | >=2.0 | true
      1.0 | <2!0.1 | true
      2!1.0 | >2.0 | true
      2.0.5 | >2.0dev | true
      1.0+local | >1.0.dev1 | true
      4.1.0a2.dev1235+local | >4.1.0a2.dev1234 | true
      1.0a2+local | >1.0a1 | true
      1.0b2+local | >1.0b1 | true
      1.0rc2+local | >1.0rc1 | true
      1.0.post2+local | >1.0.post1 | true
      1.0.dev2+local | >1.0.dev1 | true
      1.0a1.dev2+local | >1.0a1.dev1 | true
      1.0.post1.dev2+local | >1.0.post1.dev1 | true
      2.1 | ==2 | false
      2.1 | ==2.0 | false
      2.1 | ==2.0.0 | false
      2.0 | ==2.0+deadbeef | false
      2.0 | ==3.* | false
      2.1 | ==2.0.* | false
      3 | ==2.0.0.* | false
      2.1.0.0 | ==2.0.* | false
      2.0 | !=2 | false
      2.0 | !=2.0 | false
      2.0 | !=2.0.0 | false
      2.0+deadbeef | !=2 | false
      2.0+deadbeef | !=2.0 | false
      2.0+deadbeef | !=2.0.0 | false
      2.0+deadbeef | !=2+deadbeef | false
      2.0+deadbeef | !=2.0+deadbeef | false
      2.0+deadbeef | !=2.0.0+deadbeef | false
      2.0+deadbeef.0 | !=2.0.0+deadbeef.00 | false
      2.dev1 | !=2.* | false
      2a1 | !=2.* | false
      2a1.post1 | !=2.* | false
      2b1 | !=2.* | false
      2b1.dev1 | !=2.* | false
      2c1 | !=2.* | false
      2c1.post1.dev1 | !=2.* | false
      2c1.post1.dev1 | !=2.0.* | false
      2rc1 | !=2.* | false
      2rc1 | !=2.0.* | false
      2 | !=2.* | false
      2 | !=2.0.* | false
      2 | !=2.0.0.* | false
      2.0 | !=2.* | false
      2.0.0 | !=2.* | false
      2.0.0.0 | !=2.0.* | false
      2.0.dev1 | >=2 | false
      2.0a1 | >=2 | false
      2.0a1.dev1 | >=2 | false
      2.0b1 | >=2 | false
      2.0b1.post1 | >=2 | false
      2.0c1 | >=2 | false
      2.0c1.post1.dev1 | >=2 | false
      2.0rc1 | >=2 | false
      1 | >=2 | false
      2.0.post1 | <=2 | false
      2.0.post1.dev1 | <=2 | false
      3 | <=2 | false
      1 | >2 | false
      2.0.dev1 | >2 | false
      2.0a1 | >2 | false
      2.0a1.post1 | >2 | false
      2.0b1 | >2 | false
      2.0b1.dev1 | >2 | false
      2.0c1 | >2 | false
      2.0c1.post1.dev1 | >2 | false
      2.0rc1 | >2 | false
      2.0 | >2 | false
      2.0.post1 | >2 | false
      2.0.post1.dev1 | >2 | false
      2.0+local.version | >2 | false
      4.1.0a2.dev1234+local | >4.1.0a2.dev1234 | false
      1.0a1+local | >1.0a1 | false
      1.0b1+local | >1.0b1 | false
      1.0rc1+local | >1.0rc1 | false
      1.0.post1+local | >1.0.post1 | false
      1.0.dev1+local | >1.0.dev1 | false
      1.0a1.dev1+local | >1.0a1.dev1 | false
      1.0.post1.dev1+local | >1.0.post1.dev1 | false
      2.0.dev1 | <2 | false
      2.0a1 | <2 | false
      2.0a1.post1 | <2 | false
      2.0b1 | <2 | false
      2.0b2.dev1 | <2 | false
      2.0c1 | <2 | false
      2.0c1.post1.dev1 | <2 | false
      2.0rc1 | <2 | false
      2.0 | <2 | false
      2.post1 | <2 | false
      2.post1.dev1 | <2 | false
      3 | <2 | false
      2.0 | ~=1.0 | false
      1.1.0 | ~=1.0.0 | false
      1.1.post1 | ~=1.0.0 | false
      1.0 | ~=2!1.0 | false
      2!1.0 | ~=1.0 | false
      2!1.0 | ==1.0 | false
      1.0 | ==2!1.0 | false
      2!1.0 | ==1.0.0.* | false
      1.0 | ==2!1.0.0.* | false
      2!1.0 | ==1.* | false
      1.0 | ==2!1.* | false
      2!1.0 | !=2!1.0 | false
      2.0a1 | <2.0 | false
      2.0a1 | <2.0a2 | true
      1.0.dev0 | >1.0.dev1 | false
      1.0.dev2 | >1.0.dev1 | true
      1.0.post0 | >1.0.dev1 | true
      1.0.post1 | >1.0.dev1 | true
      1.0.post0 | >1.0.dev0 | true
      1.0.post0 | >1.0a1 | true
      1.0.post0 | >1.0b1 | true
      1.0.post0 | >1.0rc1 | true
      1.0a1.post0 | >1.0a1 | false
      1.0b2.post0 | >1.0b2 | false
      1.0rc1.post0 | >1.0rc1 | false
      1.0a2.post0 | >1.0a1 | true
      1.0b2.post0 | >1.0b1 | true
      1.0 | >1.0.dev1 | true
      1.0a1 | >1.0.dev1 | true
      1.1 | >1.0.dev1 | true
      1.0.post0 | >1.0 | false
      1.0.post1 | >1.0 | false
      2.0.post0 | >1.0 | true
      0.9.post0 | >1.0 | false
      1.1.post0 | >1.0.dev1 | true
      0.9.post0 | >1.0.dev1 | false
      1.0.post1.dev0 | <1.0.post1 | false
      1.0.post0.dev0 | <1.0.post0 | false
      1.0.dev0 | <1.0.post1 | true
      1.0a1 | <1.0.post1 | true
      1.0rc1 | <1.0.post1 | true
      1.0.dev0 | <1.0.post0 | true
      1.0a1 | <1.0.post0 | true
      1.0b1 | <1.0.post0 | true
      1.0rc2 | <1.0.post0 | true
      1.0.post0.dev0 | <1.0.post1 | true
      1.0.post1.dev0 | <1.0.post2 | true
      1.0 | <1.0.post1 | true
      1.0.post0 | <1.0.post1 | true
      0.9 | <1.0.post1 | true
      1.0 | <1.0.post0 | true
      1.0.dev0 | <1.0.post10 | true
      1.0.post9.dev0 | <1.0.post10 | true
      1.0.post9 | <1.0.post10 | true
      1.0+local | <1.0.post1 | true
      1.0.post0+local | <1.0.post1 | true
      0.9.dev0 | <1.0.post1 | true
      1.0a1.post1.dev0 | <1.0.post1 | true
      1.0a1.post1.dev0 | <1.0a1.post1 | true
      1.0a1.post0 | >1.0a1.dev1 | true
      2.0a1.post1 | <2.0 | false
      1.0.post1.dev0+local | <1.0.post1 | false
      1.0.post1+local | >1.0.post1 | false
      1.0.post2 | >1.0.post1 | true
      1.0a1 | <2!1.0 | true
      1.0+local | >1.0 | false
      1.0+local | <=1.0 | true
      1.0+local | >=1.0 | true
      1.0+local | ==1.0 | true
      1.0+local | !=1.0 | false
      1.0+local | ~=1.0 | true
      1.0+abc | ==1.0.* | true
      1.0+abc | !=1.0.* | false
      1.0.dev0+local | <1.0 | false
      0.9+local | <1.0 | true
      1.0a1.post2 | >1.0a1.post1 | true
      1.4.2 | ~=1.4.2 | true
      1.4.3.dev1 | ~=1.4.2 | true
      1.4.3a1 | ~=1.4.2 | true
      1.4.3 | ~=1.4.2 | true
      1.4.3.post1 | ~=1.4.2 | true
      1.4.3+local | ~=1.4.2 | true
      1.4.1 | ~=1.4.2 | false
      1.4.1.post1 | ~=1.4.2 | false
      1.5.0.dev0 | ~=1.4.2 | false
      1.5.0a1 | ~=1.4.2 | false
      1.5.0 | ~=1.4.2 | false
      2.0 | ~=1.4.2 | false
      2.0+local | ~=1.4.2 | false
      2.2.post3 | ~=2.2.post3 | true
      2.9 | ~=2.2.post3 | true
      2.2 | ~=2.2.post3 | false
      3.0 | ~=2.2.post3 | false
      1.4.5a4 | ~=1.4.5a4 | true
      1.4.9 | ~=1.4.5a4 | true
      1.5 | ~=1.4.5a4 | false
      1.0 | ===1.0 | true
      1.0.0 | ===1.0 | false
      1.0.dev0 | ===1.0 | false
      1.0+downstream1 | ===1.0 | false
      1.0 | ===1.0+downstream1 | false
      1.0a1 | ===1.0A1 | true
      1.0 | ===0!1.0 | false
      0!1.0 | ===1.0 | true
      1.01 | ===1.1 | true
      """;

  static Stream<Arguments> matches() {
    return MATCHES
        .lines()
        .map(String::strip)
        .filter(line -> !line.isEmpty())
        .map(line -> line.split("\\s*\\|\\s*"))
        .map(row -> Arguments.of(row[0], row[1], Boolean.parseBoolean(row[2])));
  }

  @ParameterizedTest(name = "{0} in {1} is {2}")
  @MethodSource("matches")
  void aVersionMatchesAClauseAsPep440Says(String version, String specifier, boolean expected) {
    Pep440Version candidate = Pep440Version.of(version);
    assertThat(VersionSpecifier.Clause.parse(specifier).matches(candidate)).isEqualTo(expected);
    assertThat(VersionSpecifier.parse(specifier).contains(candidate, true)).isEqualTo(expected);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "2.0",
        "=>2.0",
        "==",
        "~=1.0+5",
        ">=1.0+deadbeef",
        "<=1.0+abc123",
        ">1.0+watwat",
        "<1.0+1.0",
        "~=1.0.*",
        ">=1.0.*",
        "<=1.0.*",
        ">1.0.*",
        "<1.0.*",
        "==1.0.*+5",
        "!=1.0.*+deadbeef",
        "==2.0a1.*",
        "!=2.0a1.*",
        "==2.0.post1.*",
        "!=2.0.post1.*",
        "==2.0.dev1.*",
        "!=2.0.dev1.*",
        "==1.0+5.*",
        "!=1.0+deadbeef.*",
        "==1.0.*.5",
        "~=1",
        "==1.0.dev1.*",
        "!=1.0.dev1.*",
        "==1.2+\u0130",
        "==1.2+\u0130\u0131\u017fK",
        "~=1.2.3prev\u0131ew1",
        "~=1.2.3po\u017ft1",
        "==1. 0",
        "==1.0 .*",
        "===",
        "=== foo bar",
        ">=3.8;",
        "",
      })
  void aClauseThatIsNotASpecifierIsRefused(String text) {
    assertThatThrownBy(() -> VersionSpecifier.Clause.parse(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is not a version specifier");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "2.0 | it has no operator; write ==2.0 for exactly that version",
        "=>2.0 | '=>' is not an operator; use one of ~= == != <= >= < > ===",
        "== | '==' needs a version after it",
        ">=1.0.* | a '.*' prefix match works only with '==' and '!='",
        "~=1 | '~=' needs at least two release numbers, such as ~=1.0",
        ">=1.0+local | a local version (+local) works only with '==' and '!='",
        "==2.0a1.* | a '.*' prefix must be a release number only",
        ">=lolwat | 'lolwat' is not a PEP 440 version",
      })
  void aRefusalSaysWhatIsWrong(String text, String reason) {
    assertThatThrownBy(() -> VersionSpecifier.parse(text))
        .hasMessageStartingWith("'" + text + "' is not a version specifier: ")
        .hasMessageContaining(reason);
  }

  @Test
  void aBadClauseInASetIsNamedWithTheWholeSet() {
    assertThatThrownBy(() -> VersionSpecifier.parse(">=3.8, =>4"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "'=>4' is not a version specifier: '=>' is not an operator; use one of ~= == != <= >="
                + " < > === (in '>=3.8, =>4')");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "1.0dev",
        "1.0.DEV1",
        "1.0-alpha1",
        "1.0.BETA",
        "1.0C1",
        "1.0-RC",
        "1.0post",
        "1.0-POST1",
        "1.0-5",
        "1.01",
        "1.0a05",
        "1.0c056",
        "1.0.post000",
        "1.1.dev09000",
        "00!1.2",
        "0100!0.0",
        "v1.0",
        "  \r \f \u000b v1.0\t\n"
      })
  void everyOperatorTakesEverySpellingOfAVersion(String version) {
    for (String op : List.of("~=", "==", "!=", "<=", ">=", "<", ">")) {
      assertThat(VersionSpecifier.Clause.parse(op + version).version())
          .contains(Pep440Version.of(version));
    }
    assertThat(VersionSpecifier.Clause.parse("==1.0+AbC").version())
        .contains(Pep440Version.of("1.0+abc"));
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "==1.0 | false",
        ">=1.0 | false",
        "<=1.0 | false",
        "~=1.0 | false",
        "<1.0 | false",
        ">1.0 | false",
        "<1.0.dev1 | true",
        ">1.0.dev1 | true",
        "!=1.0.dev1 | false",
        "==1.0.* | false",
        "==1.0.dev1 | true",
        ">=1.0.dev1 | true",
        "<=1.0.dev1 | true",
        "~=1.0.dev1 | true",
        "===1.0a1 | true",
        "===lolwat | false",
        ">=1.0,<2.0a5 | true",
        "'' | false",
      })
  void aSetThatNamesAPreReleaseAcceptsPreReleases(String specifier, boolean mentions) {
    assertThat(VersionSpecifier.parse(specifier).mentionsPreRelease()).isEqualTo(mentions);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        // specifier | version | by default | with pre-releases allowed
        ">=1.0 | 2.0.dev1 | false | true",
        ">=2.0.dev1 | 2.0a1 | true | true",
        "==2.0.* | 2.0a1.dev1 | false | true",
        "<=2.0 | 1.0.dev1 | false | true",
        "<=2.0.dev1 | 1.0a1 | true | true",
        "<2.0 | 2.0a1 | false | false",
        "<2.0a2 | 2.0a1 | true | true",
        ">=1.0,<2.0a5 | 2.0a1 | true | true",
        "!=1.0a1 | 2.0a1 | false | true",
        "<1.0.dev1 | 0.9a1 | true | true",
        "'' | 1.0a1 | false | true",
        "'' | 1.0 | true | true",
        "~=1.0 | 1.1.0.dev1 | false | true",
        "~=1.0 | 3.0.0.dev1 | false | false",
        ">=1.0 | 1.0.0.dev1 | false | false",
        "~=1.0 | 1.1.0 | true | true",
      })
  void preReleasesMatchByDefaultOnlyWhenTheSetNamesOne(
      String specifier, String version, boolean byDefault, boolean allowed) {
    VersionSpecifier set = VersionSpecifier.parse(specifier);
    Pep440Version candidate = Pep440Version.of(version);
    assertThat(set.contains(candidate)).isEqualTo(byDefault);
    assertThat(set.contains(candidate, false)).isEqualTo(byDefault);
    assertThat(set.contains(candidate, true)).isEqualTo(allowed);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        // specifier | allow pre-releases | offered | kept
        "'' | false | 1.0,2.0a1 | 1.0",
        ">=1.0.dev1 | false | 1.0,2.0a1 | 1.0,2.0a1",
        "'' | false | 1.0a1 | 1.0a1",
        ">=1.2.3 | false | 1.2,1.5a1 | 1.5a1",
        ">=1.2.3 | false | 1.3,1.5a1 | 1.3",
        ">=1.0 | false | 2.0a1 | 2.0a1",
        "!=2.0a1 | false | 1.0a2,1.0,2.0a1 | 1.0",
        "==2.0a1 | false | 2.0a1 | 2.0a1",
        ">2.0a1 | false | 2.0a1,3.0a2,3.0 | 3.0a2,3.0",
        "<2.0a1 | false | 1.0a2,1.0,2.0a1 | 1.0a2,1.0",
        "~=2.0a1 | false | 1.0,2.0a1,3.0a2,3.0 | 2.0a1",
        ">=1.0 | true | 1.0,2.0a1 | 1.0,2.0a1",
        ">=1.0 | false | 1.0,2.0a1 | 1.0",
        "===1.0 | false | 1.0,1.0.0,2.0 | 1.0",
        "!=1.0 | false | 1.0,2.0 | 2.0",
        ">=3 | false | 1.0,2.0 | ''",
      })
  void filteringKeepsPreReleasesOnlyWhenNothingElseMatches(
      String specifier, boolean allowPreReleases, String offered, String kept) {
    List<Pep440Version> versions = versions(offered);
    assertThat(
            VersionSpecifier.parse(specifier)
                .filter(versions, java.util.function.Function.identity(), allowPreReleases))
        .containsExactlyElementsOf(versions(kept));
    if (!allowPreReleases) {
      assertThat(VersionSpecifier.parse(specifier).filter(versions))
          .containsExactlyElementsOf(versions(kept));
    }
  }

  private static List<Pep440Version> versions(String commaSeparated) {
    return Arrays.stream(commaSeparated.split(","))
        .filter(s -> !s.isBlank())
        .map(Pep440Version::of)
        .toList();
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "1.0 | ===1.0 | true",
        "foobar | ===foobar | true",
        "foobar | ===baz | false",
        "lolwat | ===LOLWAT | true",
        "LoLWaT | ===lOlwAt | true",
        "1.01 | ===1.1 | false",
        "1.01 | ===1.01 | true",
        "1.a1 | ===1.a1 | true",
        "1a1 | ===1.a1 | false",
        "0!1.0 | ===1.0 | false",
        "1.0-1 | ===1.0.post1 | false",
        "not a valid version | ==1.0 | false",
        "not a valid version | !=1.0 | false",
        "not a valid version | !=1.* | false",
        "invalid | ===invalid | true",
        "1.0.0 | ==1.0 | true",
      })
  void arbitraryEqualityComparesTheTextAsWritten(
      String candidate, String specifier, boolean expected) {
    assertThat(VersionSpecifier.Clause.parse(specifier).matchesText(candidate)).isEqualTo(expected);
  }

  @Test
  void aSetNeedsEveryClause() {
    VersionSpecifier set = VersionSpecifier.parse(">=3.8,<4,!=3.9.1");
    assertThat(set.clauses()).hasSize(3);
    assertThat(set.contains(Pep440Version.of("3.8"))).isTrue();
    assertThat(set.contains(Pep440Version.of("3.9.1"))).isFalse();
    assertThat(set.contains(Pep440Version.of("3.12.7"))).isTrue();
    assertThat(set.contains(Pep440Version.of("4.0"))).isFalse();
    assertThat(set.contains(Pep440Version.of("3.7.17"))).isFalse();
  }

  @Test
  void blankClausesAndSpacesAreIgnoredAsPipIgnoresThem() {
    assertThat(VersionSpecifier.parse(">=1.0,").clauses()).hasSize(1);
    assertThat(VersionSpecifier.parse(",>=1.0").clauses()).hasSize(1);
    assertThat(VersionSpecifier.parse(" >= 1.0 ,, < 2 ").toString()).isEqualTo(">=1.0,<2");
    assertThat(VersionSpecifier.parse("  ").isEmpty()).isTrue();
    assertThat(VersionSpecifier.parse("")).isEqualTo(VersionSpecifier.any());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "!=2.0 | !=2.0",
        "< 2 | <2",
        "~=2.0 | ~=2.0",
        "== 2.1.* | ==2.1.*",
        ">=3.8.0 | >=3.8.0",
        ">=1.0-RC-1 | >=1.0rc1",
        "===LolWat | ===LolWat",
        ">=3.8, <4 | >=3.8,<4",
      })
  void aSpecifierPrintsInNormalForm(String text, String printed) {
    assertThat(VersionSpecifier.parse(text).toString()).isEqualTo(printed);
  }

  @Test
  void setsWithTheSameClausesInAnyOrderAreEqual() {
    assertThat(VersionSpecifier.parse(">=1.0,<2"))
        .isEqualTo(VersionSpecifier.parse("<2, >=1.0"))
        .hasSameHashCodeAs(VersionSpecifier.parse("<2, >=1.0"));
    assertThat(VersionSpecifier.parse("==2.8.0")).isEqualTo(VersionSpecifier.parse("==2.8"));
    assertThat(VersionSpecifier.parse("==2.0.*")).isNotEqualTo(VersionSpecifier.parse("==2.*"));
    assertThat(VersionSpecifier.parse("~=1.18.0")).isNotEqualTo(VersionSpecifier.parse("~=1.18"));
  }

  @Test
  void aClauseSaysWhatItCompares() {
    VersionSpecifier.Clause prefix = VersionSpecifier.Clause.parse("!=2.2.*");
    assertThat(prefix.operator()).isEqualTo(VersionSpecifier.Operator.NOT_EQUAL);
    assertThat(prefix.isWildcard()).isTrue();
    assertThat(prefix.version()).contains(Pep440Version.of("2.2"));
    VersionSpecifier.Clause arbitrary = VersionSpecifier.Clause.parse("===lolwat");
    assertThat(arbitrary.operator().symbol()).isEqualTo("===");
    assertThat(arbitrary.version()).isEmpty();
  }
}
