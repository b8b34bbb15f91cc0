package dev.kiln.worker.install;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.installer.wheel.PlatformTags;
import org.junit.jupiter.api.Test;

class TargetPlatformTest {

  @Test
  void everyManylinuxBaselineUpToTheRuntimesGlibcIsAcceptedNewestFirst() {
    TargetPlatform bookworm = TargetPlatform.linuxX86_64("2.36");

    assertThat(bookworm.pipPlatforms())
        .startsWith("manylinux_2_36_x86_64", "manylinux_2_35_x86_64")
        .contains("manylinux_2_28_x86_64", "manylinux_2_27_x86_64")
        .containsSubsequence(
            "manylinux_2_17_x86_64",
            "manylinux2014_x86_64",
            "manylinux_2_12_x86_64",
            "manylinux2010_x86_64",
            "manylinux_2_5_x86_64",
            "manylinux1_x86_64")
        .endsWith("linux_x86_64")
        .doesNotContain("manylinux_2_37_x86_64")
        .doesNotHaveDuplicates();
    assertThat(bookworm.id()).isEqualTo("linux/amd64 glibc 2.36");
  }

  @Test
  void anOlderGlibcNeverAcceptsWheelsBuiltForANewerOne() {
    assertThat(TargetPlatform.linuxX86_64("2.31").pipPlatforms())
        .contains("manylinux_2_31_x86_64", "manylinux_2_28_x86_64")
        .doesNotContain("manylinux_2_32_x86_64", "manylinux_2_34_x86_64");
  }

  @Test
  void aPlanWithoutAGlibcGetsTheManylinux2014Baseline() {
    assertThat(TargetPlatform.forRuntimeGlibc(null)).isEqualTo(TargetPlatform.LINUX_X86_64);
    assertThat(TargetPlatform.LINUX_X86_64.pipPlatforms())
        .startsWith("manylinux_2_17_x86_64", "manylinux2014_x86_64")
        .doesNotContain("manylinux_2_18_x86_64");
  }

  @Test
  void pipGetsTheSamePlatformListAsTheInstallEngine() {
    assertThat(TargetPlatform.linuxX86_64("2.36").pipPlatforms())
        .isEqualTo(PlatformTags.linux("2.36", "x86_64"));
    assertThat(TargetPlatform.linuxX86_64("2.3").pipPlatforms())
        .isEqualTo(PlatformTags.linux("2.5", "x86_64"));
  }

  @Test
  void aGlibcThatIsNotAVersionIsRefused() {
    assertThatThrownBy(() -> TargetPlatform.linuxX86_64("bookworm"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("such as 2.36");
  }
}
