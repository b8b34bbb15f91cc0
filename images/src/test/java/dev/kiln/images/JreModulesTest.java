package dev.kiln.images;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class JreModulesTest {

  /** Referenced so this test's classes need java.sql; jdeps must see it. */
  static final Class<?> USES_JAVA_SQL = java.sql.Timestamp.class;

  @Test
  void jdepsFindsWhatTheCodeUsesAndTheRuntimeOnlyModulesAreAdded() throws Exception {
    Path testClasses = Path.of("target/test-classes").toAbsolutePath();
    List<String> progress = new ArrayList<>();

    List<String> modules =
        JreModules.forClasspath(KilnClasspath.of(testClasses.toString()), progress::add);

    assertThat(progress).isEmpty();
    assertThat(modules).contains("java.base", "java.sql").containsAll(JreModules.RUNTIME_ONLY);
    assertThat(modules).isSorted().doesNotHaveDuplicates();
  }

  @Test
  void whenJdepsCannotAnalyseTheClasspathTheKnownListIsUsedAndSaidSo() throws Exception {
    Path broken = Path.of("target/test-classes/not-a-jar.jar").toAbsolutePath();
    java.nio.file.Files.writeString(broken, "not a zip");
    List<String> progress = new ArrayList<>();

    List<String> modules =
        JreModules.forClasspath(new KilnClasspath(List.of(broken)), progress::add);

    assertThat(modules).containsAll(JreModules.KNOWN).containsAll(JreModules.RUNTIME_ONLY);
    assertThat(progress).singleElement().asString().startsWith("jdeps could not analyse");
  }
}
