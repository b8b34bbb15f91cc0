package dev.kiln.installer.pep;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Cases from PEP 440 and the packaging project's version tests. */
class Pep440VersionTest {

  /** In PEP 440 order, lowest first; no two are equal. */
  static final List<String> ORDERED =
      withEpochs(
          List.of(
              "1.0.dev0",
              "1.0.dev456",
              "1.0.dev456+local",
              "1.0a0",
              "1.0a0.post0.dev0",
              "1.0a0.post0",
              "1.0a1.dev1",
              "1.0a1.dev1+local",
              "1.0a1",
              "1.0a1+local",
              "1.0b0",
              "1.0b1.dev456",
              "1.0b2",
              "1.0b2.post345.dev456",
              "1.0b2.post345",
              "1.0b2-346",
              "1.0rc0",
              "1.0rc1.dev1",
              "1.0c1",
              "1.0rc2",
              "1.0",
              "1.0.post0.dev0",
              "1.0.post0",
              "1.0.post456.dev34",
              "1.0.post456",
              "1.0.post456+local",
              "1.0.1.dev1",
              "1.0.1a1",
              "1.0.1",
              "1.0.1+local",
              "1.0.1.post1",
              "1.1.dev1",
              "1.2+a",
              "1.2+abc",
              "1.2+abcdef",
              "1.2+def",
              "1.2+0",
              "1.2+1",
              "1.2+1.abc",
              "1.2+1.1",
              "1.2+1.1.0",
              "1.2+2",
              "1.2+123",
              "1.2+123456",
              "1.2.r32+123456",
              "1.2.rev33+123456"));

  private static List<String> withEpochs(List<String> versions) {
    List<String> all = new ArrayList<>(versions);
    versions.forEach(v -> all.add("1!" + v));
    return List.copyOf(all);
  }

  @Test
  void everyPairOfTheOrderedListComparesAsPep440Says() {
    for (int i = 0; i < ORDERED.size(); i++) {
      Pep440Version left = Pep440Version.of(ORDERED.get(i));
      for (int j = 0; j < ORDERED.size(); j++) {
        Pep440Version right = Pep440Version.of(ORDERED.get(j));
        assertThat(Integer.signum(left.compareTo(right)))
            .as("%s vs %s", ORDERED.get(i), ORDERED.get(j))
            .isEqualTo(Integer.compare(i, j));
        assertThat(left.equals(right)).isEqualTo(i == j);
      }
    }
  }

  @Test
  void sortingAShuffledListRestoresPep440Order() {
    List<Pep440Version> shuffled =
        new ArrayList<>(ORDERED.stream().map(Pep440Version::of).toList());
    Collections.shuffle(shuffled, new Random(440));
    Collections.sort(shuffled);
    assertThat(shuffled)
        .containsExactlyElementsOf(ORDERED.stream().map(Pep440Version::of).toList());
  }

  @ParameterizedTest
  @CsvSource({
    // development releases
    "1.0dev, 1.0.dev0",
    "1.0.dev, 1.0.dev0",
    "1.0dev1, 1.0.dev1",
    "1.0-dev, 1.0.dev0",
    "1.0-dev1, 1.0.dev1",
    "1.0DEV, 1.0.dev0",
    "1.0.DEV, 1.0.dev0",
    "1.0DEV1, 1.0.dev1",
    "1.0.DEV1, 1.0.dev1",
    "1.0-DEV, 1.0.dev0",
    "1.0-DEV1, 1.0.dev1",
    "1.0_dev_2, 1.0.dev2",
    // alpha
    "1.0a, 1.0a0",
    "1.0.a, 1.0a0",
    "1.0.a1, 1.0a1",
    "1.0-a, 1.0a0",
    "1.0-a1, 1.0a1",
    "1.0alpha, 1.0a0",
    "1.0.alpha, 1.0a0",
    "1.0.alpha1, 1.0a1",
    "1.0-alpha, 1.0a0",
    "1.0-alpha1, 1.0a1",
    "1.0A, 1.0a0",
    "1.0.A, 1.0a0",
    "1.0.A1, 1.0a1",
    "1.0-A, 1.0a0",
    "1.0-A1, 1.0a1",
    "1.0ALPHA, 1.0a0",
    "1.0.ALPHA, 1.0a0",
    "1.0.ALPHA1, 1.0a1",
    "1.0-ALPHA, 1.0a0",
    "1.0-ALPHA1, 1.0a1",
    "1.0_a_1, 1.0a1",
    "1.0a.1, 1.0a1",
    // beta
    "1.0b, 1.0b0",
    "1.0.b, 1.0b0",
    "1.0.b1, 1.0b1",
    "1.0-b, 1.0b0",
    "1.0-b1, 1.0b1",
    "1.0beta, 1.0b0",
    "1.0.beta, 1.0b0",
    "1.0.beta1, 1.0b1",
    "1.0-beta, 1.0b0",
    "1.0-beta1, 1.0b1",
    "1.0B, 1.0b0",
    "1.0.B, 1.0b0",
    "1.0.B1, 1.0b1",
    "1.0-B, 1.0b0",
    "1.0-B1, 1.0b1",
    "1.0BETA, 1.0b0",
    "1.0.BETA, 1.0b0",
    "1.0.BETA1, 1.0b1",
    "1.0-BETA, 1.0b0",
    "1.0-BETA1, 1.0b1",
    // release candidates
    "1.0c, 1.0rc0",
    "1.0.c, 1.0rc0",
    "1.0.c1, 1.0rc1",
    "1.0-c, 1.0rc0",
    "1.0-c1, 1.0rc1",
    "1.0rc, 1.0rc0",
    "1.0.rc, 1.0rc0",
    "1.0.rc1, 1.0rc1",
    "1.0-rc, 1.0rc0",
    "1.0-rc1, 1.0rc1",
    "1.0C, 1.0rc0",
    "1.0.C, 1.0rc0",
    "1.0.C1, 1.0rc1",
    "1.0-C, 1.0rc0",
    "1.0-C1, 1.0rc1",
    "1.0RC, 1.0rc0",
    "1.0.RC, 1.0rc0",
    "1.0.RC1, 1.0rc1",
    "1.0-RC, 1.0rc0",
    "1.0-RC1, 1.0rc1",
    "1.0pre, 1.0rc0",
    "1.0preview1, 1.0rc1",
    "1.0-PREVIEW-2, 1.0rc2",
    // post-releases
    "1.0post, 1.0.post0",
    "1.0.post, 1.0.post0",
    "1.0post1, 1.0.post1",
    "1.0-post, 1.0.post0",
    "1.0-post1, 1.0.post1",
    "1.0POST, 1.0.post0",
    "1.0.POST, 1.0.post0",
    "1.0POST1, 1.0.post1",
    "1.0r, 1.0.post0",
    "1.0rev, 1.0.post0",
    "1.0.POST1, 1.0.post1",
    "1.0.r1, 1.0.post1",
    "1.0.rev1, 1.0.post1",
    "1.0-POST, 1.0.post0",
    "1.0-POST1, 1.0.post1",
    "1.0-5, 1.0.post5",
    "1.0-r5, 1.0.post5",
    "1.0-rev5, 1.0.post5",
    "1.0_post_3, 1.0.post3",
    // local versions
    "1.0+AbC, 1.0+abc",
    "1.0+ubuntu-1, 1.0+ubuntu.1",
    "1.0+ubuntu_1.2, 1.0+ubuntu.1.2",
    "1.0+007, 1.0+7",
    "1.0+deadbeef.00, 1.0+deadbeef.0",
    "1.0+AbC-1_2, 1.0+abc.1.2",
    // integer normalization
    "1.01, 1.1",
    "1.0a05, 1.0a5",
    "1.0b07, 1.0b7",
    "1.0c056, 1.0rc56",
    "1.0rc09, 1.0rc9",
    "1.0.post000, 1.0.post0",
    "1.1.dev09000, 1.1.dev9000",
    "00!1.2, 1.2",
    "0100!0.0, 100!0.0",
    // the rest
    "v1.0, 1.0",
    "V1.0, 1.0",
    "1.0.0, 1.0.0",
    "0!1.0.2, 1.0.2",
    "7!1.0b2.post345.dev456," + " 7!1.0b2.post345.dev456",
    "1.0-RC-1, 1.0rc1",
    "2.0.0-rc.1, 2.0.0rc1",
    "1.0a1-1, 1.0a1.post1",
    "1.0-1.dev2, 1.0.post1.dev2",
    "2022.01.01, 2022.1.1",
    "1!2.0rc1.post2.dev3+Local.7," + " 1!2.0rc1.post2.dev3+local.7"
  })
  void everySpellingHasOneNormalForm(String written, String normal) {
    Pep440Version version = Pep440Version.of(written);
    assertThat(version.normalized()).isEqualTo(normal);
    assertThat(version.toString()).isEqualTo(normal);
    assertThat(version).isEqualTo(Pep440Version.of(normal));
  }

  @Test
  void surroundingWhitespaceIncludingNoBreakSpacesIsIgnored() {
    assertThat(Pep440Version.of("   v1.0\t\n").normalized()).isEqualTo("1.0");
    assertThat(Pep440Version.of("\u202f1.0\t\u2029\n ").normalized()).isEqualTo("1.0");
    assertThat(Pep440Version.of("  \r \f \u000b v1.0\t\n").normalized()).isEqualTo("1.0");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "french toast",
        "1.0+a+",
        "1.0++",
        "1.0+_foobar",
        "1.0+foo&asd",
        "1.0+1+1",
        "1. 0",
        "1 .0",
        "1. 0a1",
        "1 .0a1",
        "1.0 a1",
        "1.0a 1",
        "٠١٢.٣٤٥.٦٧٨٩",
        ".",
        "..",
        "1..0",
        "1.0.",
        ".1.0",
        "1..2.3",
        "1.0+\u0130",
        "",
        "   ",
        "v",
        "1.0-",
        "1.0+",
        "1!",
        "!1.0",
        "1.0.x",
        "1.0a1a2",
        "1.0.post1.post2",
        "1.0.dev1.dev2",
        "1.0.dev1a1",
        "1.0\n2",
        "1.0 +local",
        "1.x",
        "lolwat",
        "1.0-test7"
      })
  void textThatIsNotAVersionIsRefused(String text) {
    assertThat(Pep440Version.parse(text)).isEmpty();
    assertThatThrownBy(() -> Pep440Version.of(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("version");
  }

  @Test
  void aRefusalSaysWhatAVersionLooksLike() {
    assertThatThrownBy(() -> Pep440Version.of("french toast"))
        .hasMessage(
            "'french toast' is not a PEP 440 version (such as 1.2.3, 2.0rc1, 1.0.post2, 1!2.0 or"
                + " 1.0+local)");
    assertThatThrownBy(() -> Pep440Version.of(null)).hasMessage("a version is missing");
  }

  static Stream<Arguments> parts() {
    // version, epoch, release, pre, post, dev, local, public, base
    return Stream.of(
        Arguments.of("1.0", 0, List.of(1L, 0L), null, null, null, null, "1.0", "1.0"),
        Arguments.of("1.0.dev6", 0, List.of(1L, 0L), null, null, 6L, null, "1.0.dev6", "1.0"),
        Arguments.of("1.0a1", 0, List.of(1L, 0L), "a1", null, null, null, "1.0a1", "1.0"),
        Arguments.of(
            "1.0a1.post5.dev6", 0, List.of(1L, 0L), "a1", 5L, 6L, null, "1.0a1.post5.dev6", "1.0"),
        Arguments.of("1.0rc4", 0, List.of(1L, 0L), "rc4", null, null, null, "1.0rc4", "1.0"),
        Arguments.of("1.0.post5", 0, List.of(1L, 0L), null, 5L, null, null, "1.0.post5", "1.0"),
        Arguments.of("1!1.0", 1, List.of(1L, 0L), null, null, null, null, "1!1.0", "1!1.0"),
        Arguments.of(
            "1!1.0a1.post5.dev6+deadbeef",
            1,
            List.of(1L, 0L),
            "a1",
            5L,
            6L,
            "deadbeef",
            "1!1.0a1.post5.dev6",
            "1!1.0"),
        Arguments.of(
            "1.0.post5+deadbeef",
            0,
            List.of(1L, 0L),
            null,
            5L,
            null,
            "deadbeef",
            "1.0.post5",
            "1.0"),
        Arguments.of(
            "2.1.3.4.5",
            0,
            List.of(2L, 1L, 3L, 4L, 5L),
            null,
            null,
            null,
            null,
            "2.1.3.4.5",
            "2.1.3.4.5"));
  }

  @ParameterizedTest
  @MethodSource("parts")
  void eachPartCanBeRead(
      String text,
      long epoch,
      List<Long> release,
      String pre,
      Long post,
      Long dev,
      String local,
      String publicVersion,
      String baseVersion) {
    Pep440Version version = Pep440Version.of(text);
    assertThat(version.epoch()).isEqualTo(epoch);
    assertThat(version.release()).isEqualTo(release);
    assertThat(version.preRelease().map(Object::toString).orElse(null)).isEqualTo(pre);
    assertThat(version.post().isPresent() ? version.post().getAsLong() : null).isEqualTo(post);
    assertThat(version.dev().isPresent() ? version.dev().getAsLong() : null).isEqualTo(dev);
    assertThat(version.local().orElse(null)).isEqualTo(local);
    assertThat(version.publicVersion().normalized()).isEqualTo(publicVersion);
    assertThat(version.baseVersion().normalized()).isEqualTo(baseVersion);
  }

  @ParameterizedTest
  @CsvSource({
    "1.0.dev0, true, true, false",
    "1.0a1.dev1, true, true, false",
    "1.0c1.dev1, true, true, false",
    "1.0a1, true, false, false",
    "1.0rc1, true, false, false",
    "1.0a1.post1.dev1, true, true, true",
    "1.0rc1.post1, true, false, true",
    "1.0, false, false, false",
    "1.0+dev, false, false, false",
    "1.0.post1, false, false, true",
    "1.0.post1.dev1, true, true, true",
    "1.0.post1+dev, false, false, true",
  })
  void preDevAndPostReleasesAreRecognized(
      String text, boolean preRelease, boolean devRelease, boolean postRelease) {
    Pep440Version version = Pep440Version.of(text);
    assertThat(version.isPreRelease()).isEqualTo(preRelease);
    assertThat(version.isDevRelease()).isEqualTo(devRelease);
    assertThat(version.isPostRelease()).isEqualTo(postRelease);
  }

  @Test
  void majorMinorAndMicroDefaultToZero() {
    assertThat(Pep440Version.of("2.1.0").major()).isEqualTo(2);
    assertThat(Pep440Version.of("2.1.0").minor()).isEqualTo(1);
    assertThat(Pep440Version.of("2").minor()).isZero();
    assertThat(Pep440Version.of("2.1.3").micro()).isEqualTo(3);
    assertThat(Pep440Version.of("2.1").micro()).isZero();
  }

  @Test
  void trailingZerosDoNotChangeEqualityButStayInTheNormalForm() {
    Pep440Version short_ = Pep440Version.of("1.0");
    Pep440Version long_ = Pep440Version.of("1.0.0.0");
    assertThat(short_).isEqualTo(long_).hasSameHashCodeAs(long_);
    assertThat(short_.compareTo(long_)).isZero();
    assertThat(long_.normalized()).isEqualTo("1.0.0.0");
    assertThat(Pep440Version.of("1.0rc1")).isEqualTo(Pep440Version.of("1.0c1"));
    assertThat(Pep440Version.of("1.0+deadbeef.0"))
        .isEqualTo(Pep440Version.of("1.0.0+deadbeef.00"))
        .hasSameHashCodeAs(Pep440Version.of("1.0.0+deadbeef.00"));
  }

  @Test
  void epochsOutrankEverythingElse() {
    assertThat(Pep440Version.of("1!0.1")).isGreaterThan(Pep440Version.of("2024.1"));
    assertThat(Pep440Version.of("0!2")).isEqualTo(Pep440Version.of("2"));
  }

  @Test
  void numbersLongerThanALongAreRefusedWithAReason() {
    // PEP 440 sets no limit; Kiln stops at 18 digits, far beyond any published version.
    assertThat(Pep440Version.parse("1234567890123456789012345")).isEmpty();
    assertThat(Pep440Version.of("1.000000000000000000000000001").release()).containsExactly(1L, 1L);
    assertThatThrownBy(() -> Pep440Version.of("1.1234567890123456789"))
        .hasMessageContaining("more than 18 digits");
    assertThat(Pep440Version.of("1.0+123456789012345678901234567890").local())
        .contains("123456789012345678901234567890");
  }

  @Test
  void longLocalNumbersCompareNumerically() {
    assertThat(Pep440Version.of("1.0+99999999999999999999999"))
        .isLessThan(Pep440Version.of("1.0+100000000000000000000000"))
        .isGreaterThan(Pep440Version.of("1.0+zzz"));
  }
}
