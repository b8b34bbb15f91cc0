package dev.kiln.installer.wheel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.installer.TargetEnvironment;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The target's tag priority against what packaging.tags produced for the same interpreter (the
 * {@code *.tags} files beside this test; cp311 is the real {@code sys_tags()} of a Debian 12 host,
 * the others {@code cpython_tags()} + {@code compatible_tags()} with the glibc pinned).
 */
class SupportedTagsTest {

  @ParameterizedTest
  @CsvSource({
    "3.12.7, 2.36, x86_64, cp312-glibc2.36-x86_64.tags",
    "3.11.7, 2.36, x86_64, cp311-glibc2.36-x86_64.tags",
    "3.9.18, 2.31, aarch64, cp39-glibc2.31-aarch64.tags",
    "3.13.1, 2.17, x86_64, cp313-glibc2.17-x86_64.tags",
  })
  void theTargetRanksTagsExactlyAsSysTagsWould(
      String python, String glibc, String machine, String expectedFile) throws IOException {
    List<String> expected = read(expectedFile);
    List<String> actual =
        new TargetEnvironment(python, glibc, machine)
            .supportedTags().stream().map(WheelTag::toString).toList();
    assertThat(actual).containsExactlyElementsOf(expected);
  }

  @Test
  void cpython312OnBookwormStartsWithItsOwnAbiThenAbi3ThenNone() {
    List<String> tags =
        TargetEnvironment.linuxX86_64("3.12.7", "2.36").supportedTags().stream()
            .map(WheelTag::toString)
            .toList();
    assertThat(tags)
        .startsWith(
            "cp312-cp312-manylinux_2_36_x86_64",
            "cp312-cp312-manylinux_2_35_x86_64",
            "cp312-cp312-manylinux_2_34_x86_64")
        .containsSubsequence(
            "cp312-cp312-manylinux_2_17_x86_64",
            "cp312-cp312-manylinux2014_x86_64",
            "cp312-cp312-manylinux_2_5_x86_64",
            "cp312-cp312-manylinux1_x86_64",
            "cp312-cp312-linux_x86_64",
            "cp312-abi3-manylinux_2_36_x86_64",
            "cp312-none-manylinux_2_36_x86_64",
            "cp311-abi3-manylinux_2_36_x86_64",
            "cp32-abi3-linux_x86_64",
            "py312-none-manylinux_2_36_x86_64",
            "py3-none-manylinux_2_36_x86_64",
            "py311-none-manylinux_2_36_x86_64",
            "py30-none-linux_x86_64",
            "cp312-none-any",
            "py312-none-any",
            "py3-none-any",
            "py311-none-any")
        .endsWith("py30-none-any")
        .doesNotHaveDuplicates()
        .noneMatch(tag -> tag.contains("musllinux") || tag.contains("2_37"));
    assertThat(tags.get(36)).isEqualTo("cp312-abi3-manylinux_2_36_x86_64");
    assertThat(tags.get(72)).isEqualTo("cp312-none-manylinux_2_36_x86_64");
  }

  @Test
  void platformTagsRunFromTheRuntimesGlibcDownToTheArchitecturesBaseline() {
    assertThat(PlatformTags.linux("2.36", "x86_64"))
        .hasSize(36)
        .startsWith("manylinux_2_36_x86_64", "manylinux_2_35_x86_64")
        .containsSubsequence(
            "manylinux_2_17_x86_64",
            "manylinux2014_x86_64",
            "manylinux_2_16_x86_64",
            "manylinux_2_12_x86_64",
            "manylinux2010_x86_64",
            "manylinux_2_11_x86_64",
            "manylinux_2_5_x86_64",
            "manylinux1_x86_64",
            "linux_x86_64")
        .endsWith("manylinux1_x86_64", "linux_x86_64");
    assertThat(PlatformTags.linux("2.28", "aarch64"))
        .startsWith("manylinux_2_28_aarch64")
        .endsWith("manylinux_2_17_aarch64", "manylinux2014_aarch64", "linux_aarch64")
        .noneMatch(tag -> tag.contains("2010") || tag.contains("manylinux1"));
    assertThat(PlatformTags.linux("2.4", "x86_64")).containsExactly("linux_x86_64");
    assertThat(PlatformTags.manylinux("2.17", "x86_64"))
        .startsWith("manylinux_2_17_x86_64", "manylinux2014_x86_64")
        .doesNotContain("linux_x86_64");
  }

  @Test
  void aMachineIsSpelledAsTagsSpellIt() {
    assertThat(PlatformTags.arch("X86-64")).isEqualTo("x86_64");
    assertThat(PlatformTags.linux("2.36", "ppc64le")).contains("manylinux_2_17_ppc64le");
    assertThatThrownBy(() -> PlatformTags.linux("2.36", " "))
        .hasMessageContaining("is not a machine architecture");
    assertThatThrownBy(() -> PlatformTags.linux("bookworm", "x86_64"))
        .hasMessageContaining("glibc 'bookworm' is not a version such as 2.36");
  }

  @Test
  void aTargetListsItsPlatformTags() {
    assertThat(TargetEnvironment.linuxX86_64("3.12.7", "2.36").platformTags())
        .isEqualTo(PlatformTags.linux("2.36", "x86_64"));
  }

  private static List<String> read(String name) throws IOException {
    try (InputStream in = SupportedTagsTest.class.getResourceAsStream(name)) {
      assertThat(in).as(name).isNotNull();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8)
          .lines()
          .filter(line -> !line.isBlank() && !line.startsWith("#"))
          .toList();
    }
  }
}
