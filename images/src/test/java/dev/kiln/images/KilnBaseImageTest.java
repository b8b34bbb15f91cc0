package dev.kiln.images;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which cached base tarballs are reused; building is covered by the image tests in cli. */
class KilnBaseImageTest {
  private final KilnBaseImage base =
      KilnBaseImage.fromRunningJdk(List.of("jdk.zipfs", "java.base"));

  @Test
  void aCachedBaseOfTheSameJdkModulesPackagesAndFormatIsReused() {
    assertThat(base.reusable(labels())).isTrue();
    assertThat(base.modules()).containsExactly("java.base", "jdk.zipfs");
  }

  @Test
  void aBaseFromAnotherJdkBuildOtherModulesPackagesOrFormatIsBuiltAgain() {
    for (Map.Entry<String, String> change :
        Map.of(
                KilnBaseImage.JAVA_VERSION_LABEL, "17.0.1+12",
                KilnBaseImage.MODULES_LABEL, "java.base",
                KilnBaseImage.PACKAGES_LABEL, "python3,git",
                KilnBaseImage.FORMAT_LABEL, "0")
            .entrySet()) {
      Map<String, String> labels = labels();
      labels.put(change.getKey(), change.getValue());
      assertThat(base.reusable(labels)).as(change.toString()).isFalse();
    }
    Map<String, String> unlabelled = labels();
    unlabelled.remove(KilnBaseImage.MODULES_LABEL);
    assertThat(base.reusable(unlabelled)).isFalse();
  }

  @Test
  void theNamesSayTheSuiteAndTheJavaFeatureRelease() {
    String feature = String.valueOf(Runtime.version().feature());
    assertThat(base.reference()).isEqualTo("kiln/base:bookworm-jre" + feature);
    assertThat(base.tarballName()).isEqualTo("kiln-base-bookworm-jre" + feature + ".tar");
    assertThat(base.packages()).contains("python3", "git", "bubblewrap", "ca-certificates");
  }

  private Map<String, String> labels() {
    Map<String, String> labels = new HashMap<>();
    labels.put(KilnBaseImage.FORMAT_LABEL, KilnBaseImage.FORMAT);
    labels.put(KilnBaseImage.JAVA_VERSION_LABEL, Runtime.version().toString());
    labels.put(KilnBaseImage.MODULES_LABEL, "java.base,jdk.zipfs");
    labels.put(KilnBaseImage.PACKAGES_LABEL, String.join(",", KilnBaseImage.PACKAGES));
    labels.put("org.opencontainers.image.description", "anything");
    return labels;
  }
}
