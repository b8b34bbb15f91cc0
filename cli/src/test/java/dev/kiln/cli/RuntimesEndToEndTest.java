package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.events.BuildFailed;
import dev.kiln.events.ImageReady;
import dev.kiln.events.TaskKind;
import dev.kiln.testkit.GitRepo;
import dev.kiln.testkit.ImageContents;
import dev.kiln.testkit.PythonBuildTools;
import dev.kiln.testkit.StaticIndexServer;
import dev.kiln.testkit.WheelBuilder;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every Python the offline catalog offers really builds: a farm on the offline runtimes (Debian
 * suites built with debootstrap on first use), a real broker, git, an index of wheels this test
 * makes, and Docker to run what was built. The version in the report, the event and the image
 * labels is the version the image's {@code python3} prints.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RuntimesEndToEndTest {
  private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(10);

  @TempDir static Path temp;
  private StaticIndexServer index;
  private Farm farm;
  private TestPushes pushes;
  private final StringWriter farmLog = new StringWriter();

  @BeforeAll
  void startFarm() throws Exception {
    TestImages.requireDockerDaemon();
    Path wheels = Files.createDirectories(temp.resolve("wheels"));
    // pip for resolving unpinned requirements in the build sandbox comes from the index.
    PythonBuildTools.copyTo(wheels);
    WheelBuilder.wheel("greeting", "1.0")
        .module("greeting/__init__.py", "def hello():\n    return 'hello'\n")
        .requiresPython(">=3.9")
        .writeTo(wheels);
    // Only a CPython 3.13 build exists: installable for the 3.13 app and nothing else.
    WheelBuilder.wheel("fast-ext", "1.0")
        .tag("cp313", "cp313", "manylinux_2_17_x86_64.manylinux2014_x86_64")
        .module("fast_ext/__init__.py", "KIND = 'cp313 wheel'\n")
        .writeTo(wheels);
    index = StaticIndexServer.start(wheels);
    FarmSettings settings =
        FarmSettings.local(temp.resolve("home"), index.indexUrl(), null, 2, "offline");
    farm = Farm.start(settings, farmLog::append);
    pushes = new TestPushes(farm, settings, farmLog, BUILD_TIMEOUT);
  }

  @AfterAll
  void stopFarm() {
    if (farm != null) {
      farm.close();
    }
    if (index != null) {
      index.close();
    }
  }

  @ParameterizedTest(name = "a {0} app runs on Python {1}")
  @CsvSource({"3.9, 3.9.2, greeting", "3.11, 3.11.2, greeting", "3.13, 3.13.5, greeting fast-ext"})
  void theReportedPythonIsThePythonTheImageRuns(String requested, String exact, String packages)
      throws Exception {
    String app = "py" + requested.replace(".", "");
    GitRepo repo = GitRepo.init(temp.resolve("repos").resolve(app));
    String commit =
        repo.commit(
            Map.of(
                ".python-version",
                requested + "\n",
                "requirements.txt",
                packages.replace(' ', '\n') + "\n",
                "app.py",
                "import greeting\nprint(greeting.hello())\n",
                "Procfile",
                "web: python3 -m http.server $PORT\n"),
            "an app on Python " + requested);

    ImageReady ready = pushes.succeeds("runtimes", app, repo);

    assertThat(ready.pythonVersion()).isEqualTo(exact);
    JsonNode report =
        new CoordinatorClient(
                farm.endpoints().coordinatorUrl(),
                FarmSecrets.clientToken(null, temp.resolve("home")))
            .get("/v1/builds/" + ready.buildId());
    assertThat(report.toString()).contains("\"pythonVersion\":\"" + exact + "\"");
    ImageContents contents =
        ImageContents.fromDockerTarball(Path.of(ready.image().replaceFirst("^tar:", "")));
    assertThat(contents.containerConfig().get("Labels").get("dev.kiln.python-version").asText())
        .isEqualTo(exact);
    String image = TestImages.load(ready.image());
    assertThat(TestImages.run(image, "python3", "--version").strip()).isEqualTo("Python " + exact);
    assertThat(TestImages.run(image, "python3", "app.py").strip()).isEqualTo("hello");
    if (packages.contains("fast-ext")) {
      assertThat(contents.files()).containsKey("opt/kiln/deps/fast_ext/__init__.py");
      assertThat(
              TestImages.run(image, "python3", "-c", "import fast_ext; print(fast_ext.KIND)")
                  .strip())
          .isEqualTo("cp313 wheel");
    }
  }

  @Test
  void aWheelBuiltOnlyForCpython313IsNotInstalledFor311() throws Exception {
    GitRepo repo = GitRepo.init(temp.resolve("repos/wrong-python"));
    String commit =
        repo.commit(
            Map.of(
                ".python-version", "3.11\n",
                "requirements.txt", "fast-ext\n",
                "Procfile", "web: python3 -m http.server $PORT\n"),
            "needs a 3.13-only wheel on 3.11");

    BuildFailed failed = pushes.fails("runtimes", "wrong-python", repo, new StringWriter());

    assertThat(failed.stage()).isEqualTo(TaskKind.INSTALL);
    assertThat(failed.code()).isEqualTo("install::package-not-found");
  }

  @Test
  void aVersionNoOfflineRuntimeHasFailsAtDetectSayingWhatIsAvailable() throws Exception {
    GitRepo repo = GitRepo.init(temp.resolve("repos/py312"));
    repo.commit(
        Map.of(
            ".python-version", "3.12\n",
            "requirements.txt", "greeting\n",
            "Procfile", "web: python3 -m http.server $PORT\n"),
        "an app on Python 3.12");

    BuildFailed failed = pushes.fails("runtimes", "py312", repo, new StringWriter());

    assertThat(failed.stage()).isEqualTo(TaskKind.DETECT);
    assertThat(failed.code()).isEqualTo("python-version::not-available");
    assertThat(failed.message()).contains("no Python 3.12").contains("3.9, 3.11, 3.13, 3.14");
  }
}
