package dev.kiln.installer.pep;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Laws every version obeys: one normal form, and a total order consistent with equality. */
class Pep440VersionPropertiesTest {

  @Property
  void theNormalFormReadsBackAsTheSameVersion(@ForAll("versions") String text) {
    Pep440Version version = Pep440Version.of(text);
    Pep440Version again = Pep440Version.of(version.normalized());
    assertThat(again).isEqualTo(version).hasSameHashCodeAs(version);
    assertThat(again.normalized()).isEqualTo(version.normalized());
  }

  @Property
  void aSpellingVariantIsTheSameVersion(@ForAll("versions") String text) {
    String variant =
        text.toUpperCase(java.util.Locale.ROOT)
            .replace(".POST", "-post")
            .replace(".DEV", "_dev")
            .replace("RC", "c");
    assertThat(Pep440Version.of("v" + variant)).isEqualTo(Pep440Version.of(text));
  }

  @Property
  void orderIsAntisymmetricAndConsistentWithEquals(
      @ForAll("versions") String a, @ForAll("versions") String b) {
    Pep440Version x = Pep440Version.of(a);
    Pep440Version y = Pep440Version.of(b);
    assertThat(Integer.signum(x.compareTo(y))).isEqualTo(-Integer.signum(y.compareTo(x)));
    assertThat(x.compareTo(y) == 0).isEqualTo(x.equals(y));
    if (x.equals(y)) {
      assertThat(x.hashCode()).isEqualTo(y.hashCode());
    }
  }

  @Property
  void orderIsTransitive(
      @ForAll("versions") String a, @ForAll("versions") String b, @ForAll("versions") String c) {
    List<Pep440Version> sorted =
        java.util.stream.Stream.of(a, b, c).map(Pep440Version::of).sorted().toList();
    assertThat(sorted.get(0)).isLessThanOrEqualTo(sorted.get(2));
    assertThat(sorted.get(0).compareTo(sorted.get(1))).isLessThanOrEqualTo(0);
    assertThat(sorted.get(1).compareTo(sorted.get(2))).isLessThanOrEqualTo(0);
  }

  @Property
  void aLocalVersionSortsRightAfterItsPublicVersion(@ForAll("versions") String text) {
    Pep440Version version = Pep440Version.of(text);
    Pep440Version withLocal = Pep440Version.of(version.publicVersion().normalized() + "+zzz.9");
    assertThat(withLocal).isGreaterThan(version.publicVersion());
    assertThat(withLocal.publicVersion()).isEqualTo(version.publicVersion());
  }

  @Property
  void developmentPreAndPostReleasesSurroundTheFinalRelease(@ForAll("releases") String release) {
    Pep440Version dev = Pep440Version.of(release + ".dev3");
    Pep440Version alpha = Pep440Version.of(release + "a1");
    Pep440Version rc = Pep440Version.of(release + "rc1");
    Pep440Version fin = Pep440Version.of(release);
    Pep440Version postDev = Pep440Version.of(release + ".post1.dev0");
    Pep440Version post = Pep440Version.of(release + ".post1");
    assertThat(List.of(post, rc, fin, postDev, alpha, dev).stream().sorted().toList())
        .containsExactly(dev, alpha, rc, fin, postDev, post);
  }

  @Provide
  Arbitrary<String> releases() {
    return Arbitraries.integers()
        .between(0, 30)
        .list()
        .ofMinSize(1)
        .ofMaxSize(4)
        .map(parts -> String.join(".", parts.stream().map(String::valueOf).toList()));
  }

  @Provide
  Arbitrary<String> versions() {
    Arbitrary<String> epoch = Arbitraries.of("", "", "", "1!", "2!");
    Arbitrary<String> pre = Arbitraries.of("", "", "a1", "b2", "rc0", "rc3");
    Arbitrary<String> post = Arbitraries.of("", "", ".post0", ".post2");
    Arbitrary<String> dev = Arbitraries.of("", "", ".dev0", ".dev5");
    Arbitrary<String> local = Arbitraries.of("", "", "", "+abc", "+1.2", "+abc.7", "+0");
    return Combinators.combine(epoch, releases(), pre, post, dev, local)
        .as((e, r, p, po, d, l) -> e + r + p + po + d + l);
  }
}
