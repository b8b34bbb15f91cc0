package dev.kiln.installer.pep;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.installer.TargetEnvironment;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Laws that tie specifiers to the version order, and markers to their printed form. */
class SpecifierAndMarkerPropertiesTest {
  private static final MarkerEnvironment TARGET =
      MarkerEnvironment.of(TargetEnvironment.linuxX86_64("3.12.7", "2.36"));

  @Property
  void inclusiveComparisonsFollowTheOrderOfPublicVersions(
      @ForAll("versions") String candidate, @ForAll("publicVersions") String bound) {
    Pep440Version v = Pep440Version.of(candidate);
    Pep440Version b = Pep440Version.of(bound);
    int order = v.publicVersion().compareTo(b);
    assertThat(clause(">=", bound).matches(v)).isEqualTo(order >= 0);
    assertThat(clause("<=", bound).matches(v)).isEqualTo(order <= 0);
  }

  @Property
  void exclusiveComparisonsNeverAcceptMoreThanInclusiveOnes(
      @ForAll("versions") String candidate, @ForAll("publicVersions") String bound) {
    Pep440Version v = Pep440Version.of(candidate);
    if (clause(">", bound).matches(v)) {
      assertThat(clause(">=", bound).matches(v)).isTrue();
      assertThat(clause("==", bound).matches(v)).isFalse();
    }
    if (clause("<", bound).matches(v)) {
      assertThat(clause("<=", bound).matches(v)).isTrue();
      assertThat(clause("==", bound).matches(v)).isFalse();
    }
  }

  @Property
  void notEqualIsTheOppositeOfEqual(
      @ForAll("versions") String candidate, @ForAll("versions") String other) {
    Pep440Version v = Pep440Version.of(candidate);
    assertThat(clause("!=", other).matches(v)).isEqualTo(!clause("==", other).matches(v));
    assertThat(clause("==", candidate).matches(v)).isTrue();
  }

  @Property
  void aCompatibleReleaseIsAtLeastItsVersionAndSharesItsPrefix(
      @ForAll("versions") String candidate, @ForAll("publicVersions") String bound) {
    Pep440Version b = Pep440Version.of(bound);
    if (b.releaseLength() < 2) {
      return;
    }
    Pep440Version v = Pep440Version.of(candidate);
    String prefix =
        String.join(
            ".",
            b.release().subList(0, b.releaseLength() - 1).stream().map(String::valueOf).toList());
    String epoch = b.epoch() == 0 ? "" : b.epoch() + "!";
    boolean expected =
        clause(">=", bound).matches(v) && clause("==", epoch + prefix + ".*").matches(v);
    assertThat(clause("~=", bound).matches(v)).isEqualTo(expected);
  }

  @Property
  void aSpecifierSetReadsBackFromItsPrintedForm(
      @ForAll("publicVersions") String a, @ForAll("versions") String b) {
    VersionSpecifier set = VersionSpecifier.parse(">=" + a + ", !=" + b);
    assertThat(VersionSpecifier.parse(set.toString())).isEqualTo(set);
  }

  @Property
  void aMarkerReadsBackFromItsPrintedFormAndEvaluatesTheSame(@ForAll("markers") String text) {
    Marker marker = Marker.parse(text);
    Marker again = Marker.parse(marker.toString());
    assertThat(again).isEqualTo(marker);
    assertThat(again.toString()).isEqualTo(marker.toString());
    assertThat(again.evaluate(TARGET, Set.of("test")))
        .isEqualTo(marker.evaluate(TARGET, Set.of("test")));
  }

  private static VersionSpecifier.Clause clause(String op, String version) {
    return VersionSpecifier.Clause.parse(op + version);
  }

  @Provide
  Arbitrary<String> publicVersions() {
    Arbitrary<String> release =
        Arbitraries.integers()
            .between(0, 4)
            .list()
            .ofMinSize(1)
            .ofMaxSize(3)
            .map(parts -> String.join(".", parts.stream().map(String::valueOf).toList()));
    Arbitrary<String> epoch = Arbitraries.of("", "", "", "", "1!");
    Arbitrary<String> pre = Arbitraries.of("", "", "", "a1", "b0", "rc2");
    Arbitrary<String> post = Arbitraries.of("", "", "", ".post0", ".post1");
    Arbitrary<String> dev = Arbitraries.of("", "", "", ".dev0", ".dev1");
    return Combinators.combine(epoch, release, pre, post, dev)
        .as((e, r, p, po, d) -> e + r + p + po + d);
  }

  @Provide
  Arbitrary<String> versions() {
    Arbitrary<String> local = Arbitraries.of("", "", "", "+local", "+1.abc");
    return Combinators.combine(publicVersions(), local).as((v, l) -> v + l);
  }

  @Provide
  Arbitrary<String> markers() {
    Arbitrary<String> comparison =
        Arbitraries.oneOf(
            Combinators.combine(
                    Arbitraries.of(
                        "python_version",
                        "python_full_version",
                        "os_name",
                        "sys_platform",
                        "platform_machine",
                        "implementation_name"),
                    Arbitraries.of("==", "!=", "<", "<=", ">", ">=", "in", "not in"),
                    Arbitraries.of("3.8", "3.12", "3.12.7", "linux", "posix", "x86_64", "cpython"))
                .as((variable, op, value) -> variable + " " + op + " '" + value + "'"),
            Arbitraries.of("Test", "Socks", "dev_tools")
                .map(extra -> "extra == \"" + extra + "\""));
    return Arbitraries.recursive(
        () -> comparison,
        inner ->
            Combinators.combine(inner, Arbitraries.of("and", "or"), inner)
                .as((left, op, right) -> "(" + left + ") " + op + " " + right),
        0,
        3);
  }
}
