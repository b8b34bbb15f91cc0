package dev.kiln.worker.detect;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.worker.install.TargetPlatform;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DependencySetKeyTest {
  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String key(Map<String, byte[]> files) {
    return DependencySetKey.compute("3.12.7", TargetPlatform.LINUX_X86_64, "pip", null, files);
  }

  @Test
  void fileOrderDoesNotMatter() {
    Map<String, byte[]> forward = new LinkedHashMap<>();
    forward.put("requirements.txt", utf8("-r base.txt\n"));
    forward.put("base.txt", utf8("flask\n"));
    Map<String, byte[]> backward = new LinkedHashMap<>();
    backward.put("base.txt", utf8("flask\n"));
    backward.put("requirements.txt", utf8("-r base.txt\n"));

    assertThat(key(forward)).isEqualTo(key(backward)).matches("[0-9a-f]{64}");
  }

  @Test
  void boundariesBetweenFieldsAreUnambiguous() {
    assertThat(key(Map.of("a", utf8("bc")))).isNotEqualTo(key(Map.of("ab", utf8("c"))));
    assertThat(key(Map.of("requirements.txt", utf8("")))).isNotEqualTo(key(Map.of()));
  }

  @Test
  void platformAndPackageManagerAreInTheKey() {
    Map<String, byte[]> files = Map.of("requirements.txt", utf8("flask\n"));
    TargetPlatform arm = new TargetPlatform("linux/arm64", "cp", List.of("manylinux2014_aarch64"));

    assertThat(DependencySetKey.compute("3.12.7", arm, "pip", null, files))
        .isNotEqualTo(key(files));
    assertThat(
            DependencySetKey.compute("3.12.7", TargetPlatform.LINUX_X86_64, "pipenv", null, files))
        .isNotEqualTo(key(files));
  }
}
