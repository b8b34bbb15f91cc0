package dev.kiln.buildpack;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A level's Python versions on a farm's runtimes ({@link RuntimeCatalog#atLevel}), as a farm's
 * workers plan a tenant's builds: the offline farm runs bullseye 3.9.2, bookworm 3.11.2, trixie
 * 3.13.5 and forky 3.14.8.
 */
class LevelsOnTheFarmTest {
  @TempDir Path app;

  private final RuntimeCatalog farm = RuntimeCatalog.loadOffline();

  private PlanResult plan(int version) throws Exception {
    BuildpackLevel level = BuildpackLevel.of(version);
    return new BuildPlanner(farm)
        .atLevel(level)
        .plan(app, BuildInputs.builder().level(level).build());
  }

  @org.junit.jupiter.api.BeforeEach
  void procfile() throws IOException {
    write("Procfile", "web: gunicorn app:app\n");
  }

  private void write(String name, String content) throws IOException {
    Path file = app.resolve(name);
    Files.createDirectories(file.getParent());
    Files.writeString(file, content);
  }

  @Test
  void anUnpinnedAppGetsTheLevelsDefaultMinorAtTheFarmsNewestPatch() throws Exception {
    write("requirements.txt", "");

    PlanResult at351 = plan(351);
    assertThat(at351.succeeded()).as(at351.logLines().toString()).isTrue();
    // v351 knows 3.14.0–3.14.7; the farm already runs 3.14.8, which an unpinned app gets.
    assertThat(at351.python().version()).isEqualTo("3.14.8");
    assertThat(at351.runtime().image()).isEqualTo("debootstrap:forky");

    PlanResult at289 = plan(289);
    assertThat(at289.python().version()).isEqualTo("3.13.5");
    assertThat(at289.runtime().image()).isEqualTo("debootstrap:trixie");
  }

  @Test
  void aMinorTheLevelDoesNotKnowIsRefusedEvenWhenTheFarmRunsIt() throws Exception {
    write("requirements.txt", "");
    write(".python-version", "3.9\n");
    // The farm has bullseye's 3.9.2, but 3.9 had reached its end of life by v351.
    assertThat(plan(351).error().orElseThrow().code()).isEqualTo(Codes.PYTHON_VERSION_EOL);
    assertThat(plan(289).python().version()).isEqualTo("3.9.2");

    write(".python-version", "3.14\n");
    // v289 predates Python 3.14.
    assertThat(plan(289).error().orElseThrow().code())
        .isEqualTo(Codes.PYTHON_VERSION_UNKNOWN_MAJOR);
  }

  @Test
  void aVersionTheLevelKnowsButTheFarmLacksFailsNamingWhatTheFarmRuns() throws Exception {
    write("requirements.txt", "");
    write(".python-version", "3.12\n");

    Diagnostic error = plan(351).error().orElseThrow();
    assertThat(error.code()).isEqualTo(Codes.PYTHON_VERSION_NOT_ON_FARM);
    assertThat(error.message())
        .contains("Python 3.12.")
        .contains("level 351")
        .contains("3.11.2")
        .contains("3.14.8")
        .contains(".python-version");

    write(".python-version", "3.14.2\n");
    assertThat(plan(351).error().orElseThrow().code()).isEqualTo(Codes.PYTHON_VERSION_NOT_ON_FARM);
  }

  @Test
  void theJoinedCatalogOffersOnlyTheFarmsRuntimes() throws Exception {
    RuntimeCatalog joined = farm.atLevel(BuildpackLevel.of(351).catalog());
    assertThat(joined.defaultMinor()).isEqualTo("3.14");
    assertThat(joined.minors()).containsExactly("3.10", "3.11", "3.12", "3.13", "3.14");
    assertThat(joined.runtimes())
        .extracting(RuntimeCatalog.Runtime::python)
        .containsExactly("3.11.2", "3.13.5", "3.14.8");
    assertThat(joined.runtimeFor("3.12.4")).isEmpty();
    assertThat(joined.newestPatch("3.14")).contains("3.14.8");
    assertThat(joined.isDeprecated("3.10")).isTrue();
  }
}
