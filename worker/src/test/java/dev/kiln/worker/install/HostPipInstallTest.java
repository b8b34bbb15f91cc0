package dev.kiln.worker.install;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.cache.client.CacheServiceClient;
import dev.kiln.events.BuildTask;
import dev.kiln.events.DependencyLayer;
import dev.kiln.testkit.WheelBuilder;
import dev.kiln.worker.detect.DependencySetKey;
import dev.kiln.worker.fs.BackgroundDeleter;
import dev.kiln.worker.steps.StepContext;
import dev.kiln.worker.steps.StepFailure;
import dev.kiln.worker.testsupport.CacheServiceFixture;
import dev.kiln.worker.testsupport.RecordingLog;
import dev.kiln.worker.testsupport.Tasks;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * INSTALL of apps that set {@code PIP_EXTRA_INDEX_URL}: real pip on the worker against the real
 * cache-service and a real index of real wheels (the extra index is that index itself), which is
 * how those builds install until private indexes are proxied by the cache-service.
 */
class HostPipInstallTest {
  @TempDir static Path shared;
  private static CacheServiceFixture cache;
  private static BackgroundDeleter deleter;

  @TempDir Path tmp;

  @BeforeAll
  static void startCacheServiceWithWheels() throws Exception {
    cache = CacheServiceFixture.start(shared);
    WheelBuilder.wheel("demo-lib", "1.0")
        .requires("demo-dep>=1")
        .consoleScript("demo-cli", "demo_lib:main")
        .module("demo_lib/__init__.py", "def main():\n    print('demo')\n")
        .writeTo(cache.wheels());
    WheelBuilder.wheel("demo-dep", "1.2").writeTo(cache.wheels());
    // Two releases of one package for different Pythons: which one lands shows which Python the
    // install was for (the worker's own python3 is older than the target).
    WheelBuilder.wheel("py-picky", "1.0").requiresPython(">=3.9").writeTo(cache.wheels());
    WheelBuilder.wheel("py-picky", "2.0").requiresPython(">=3.12").writeTo(cache.wheels());
    // Platform wheels as projects publish them: an old release for the manylinux2014 baseline, a
    // new one only for glibc 2.28+ (numpy 2.3, pandas 2.3 do this), one needing glibc 2.34.
    WheelBuilder.wheel("numeric-lib", "1.0")
        .tag("cp312", "cp312", "manylinux_2_17_x86_64.manylinux2014_x86_64")
        .writeTo(cache.wheels());
    WheelBuilder.wheel("numeric-lib", "2.0")
        .tag("cp312", "cp312", "manylinux_2_28_x86_64")
        .writeTo(cache.wheels());
    WheelBuilder.wheel("frames-lib", "2.0")
        .tag("cp312", "cp312", "manylinux_2_24_x86_64.manylinux_2_28_x86_64")
        .writeTo(cache.wheels());
    WheelBuilder.wheel("new-glibc-lib", "1.0")
        .tag("cp312", "cp312", "manylinux_2_34_x86_64")
        .writeTo(cache.wheels());
    deleter = new BackgroundDeleter(shared.resolve("worker/trash"));
  }

  @AfterAll
  static void stop() throws Exception {
    deleter.awaitIdle(30, TimeUnit.SECONDS);
    deleter.close();
    cache.close();
  }

  private static Map<String, String> extraIndex() {
    return Map.of("PIP_EXTRA_INDEX_URL", cache.upstream().indexUrl());
  }

  private InstallStep installStep() {
    return new InstallStep(
        cache.client(), InstallStep.Settings.defaults(shared.resolve("worker")), deleter);
  }

  private StepContext installContext(String requirements, String pythonVersion, RecordingLog log)
      throws Exception {
    Path app = Files.createDirectories(tmp.resolve("app"));
    Files.writeString(app.resolve("requirements.txt"), requirements);
    String key =
        DependencySetKey.compute(
            pythonVersion,
            TargetPlatform.linuxX86_64("2.36"),
            "pip",
            null,
            Map.of("requirements.txt", requirements.getBytes(StandardCharsets.UTF_8)));
    BuildTask task = Tasks.install(Tasks.pipPlan(pythonVersion), key, extraIndex());
    return new StepContext(task, app, log);
  }

  @Test
  void installsAWheelAndItsDependencyForTheTargetPythonIntoAReproducibleLayer() throws Exception {
    RecordingLog log = new RecordingLog();
    DependencyLayer layer =
        installStep().run(installContext("demo-lib\npy-picky\n", "3.12.7", log));

    assertThat(layer.reused()).isFalse();
    assertThat(layer.distributions())
        .containsExactly("demo-dep==1.2", "demo-lib==1.0", "py-picky==2.0");
    Map<String, TarArchiveEntry> entries = new LinkedHashMap<>();
    Map<String, String> contents = new LinkedHashMap<>();
    readLayer(cache.client(), layer, entries, contents);
    assertThat(entries)
        .containsKeys(
            "demo_lib/",
            "demo_lib/__init__.py",
            "demo_dep/__init__.py",
            "bin/demo-cli",
            "py_picky-2.0.dist-info/METADATA");
    assertThat(entries.keySet())
        .allSatisfy(name -> assertThat(name).doesNotStartWith("/").doesNotStartWith("./"));
    assertThat(entries.keySet().stream().map(name -> name.replaceAll("/$", "")).toList())
        .isSorted();
    assertThat(entries.keySet()).noneMatch(name -> name.endsWith("direct_url.json"));
    assertThat(contents.values()).noneMatch(text -> text.contains(shared.toString()));
    assertThat(contents.get("bin/demo-cli")).startsWith("#!/usr/bin/env python3\n");
    assertThat(entries.get("bin/demo-cli").getMode() & 0777).isEqualTo(0755);
    assertThat(entries.values())
        .allSatisfy(
            entry -> {
              assertThat(entry.getLongUserId()).isZero();
              assertThat(entry.getLongGroupId()).isZero();
              assertThat(entry.getModTime().getTime()).isEqualTo(1000L);
            });
    assertThat(entries.keySet()).noneMatch(name -> name.endsWith(".pyc"));
    assertThat(log.text()).contains("       Successfully installed");
  }

  @Test
  void theSameDependencySetIsAnActionCacheHitWithoutRunningPip() throws Exception {
    String requirements = "demo-lib==1.0\n";
    DependencyLayer first =
        installStep().run(installContext(requirements, "3.12.7", new RecordingLog()));
    int upstreamFetches = cache.upstream().fileRequestCount();

    RecordingLog log = new RecordingLog();
    DependencyLayer second = installStep().run(installContext(requirements, "3.12.7", log));

    assertThat(second.reused()).isTrue();
    assertThat(second.blob()).isEqualTo(first.blob());
    assertThat(second.distributions()).isEqualTo(first.distributions());
    assertThat(log.text())
        .contains("Reusing the installed dependencies")
        .doesNotContain("Collecting");
    assertThat(cache.upstream().fileRequestCount()).isEqualTo(upstreamFetches);
  }

  @Test
  void theSameDependencySetGivesTheSameLayerBytesFromAnyScratchDirectory() throws Exception {
    String requirements = "demo-lib==1.0\npy-picky==1.0\n";
    DependencyLayer first =
        installStep()
            .run(installContext(requirements + "# first\n", "3.11.10", new RecordingLog()));
    DependencyLayer second;
    // Holding slot 0 sends the second install to another scratch directory.
    try (var held =
        new dev.kiln.worker.fs.ScratchSlots(shared.resolve("worker/scratch"), deleter).acquire()) {
      second =
          installStep()
              .run(installContext(requirements + "# second\n", "3.11.10", new RecordingLog()));
    }

    assertThat(second.key()).isNotEqualTo(first.key());
    assertThat(second.reused()).isFalse();
    assertThat(second.blob()).isEqualTo(first.blob());
  }

  @Test
  void aMonorepoAppInstallsRequirementsItIncludesFromElsewhereInTheRepository() throws Exception {
    Path repo = tmp.resolve("monorepo");
    Files.createDirectories(repo.resolve("services/web"));
    Files.createDirectories(repo.resolve("shared"));
    Files.writeString(repo.resolve("shared/base.txt"), "demo-dep==1.2\n");
    String requirements = "-r ../../shared/base.txt\ndemo-lib==1.0\n";
    Files.writeString(repo.resolve("services/web/requirements.txt"), requirements);
    dev.kiln.events.BuildPlanSummary plan = Tasks.pipPlan("3.12.7").withSourceDir("services/web");
    String key =
        DependencySetKey.compute(
            "3.12.7",
            TargetPlatform.linuxX86_64("2.36"),
            "pip",
            null,
            Map.of(
                "requirements.txt",
                requirements.getBytes(StandardCharsets.UTF_8),
                "../../shared/base.txt",
                "demo-dep==1.2\n".getBytes(StandardCharsets.UTF_8)));

    DependencyLayer layer =
        installStep()
            .run(new StepContext(Tasks.install(plan, key, extraIndex()), repo, new RecordingLog()));

    assertThat(layer.distributions()).containsExactly("demo-dep==1.2", "demo-lib==1.0");
  }

  private StepContext installContextOn(String requirements, String glibc) throws Exception {
    Path app = Files.createDirectories(tmp.resolve("app-" + (glibc == null ? "baseline" : glibc)));
    Files.writeString(app.resolve("requirements.txt"), requirements);
    dev.kiln.events.BuildPlanSummary pip = Tasks.pipPlan("3.12.7");
    dev.kiln.events.BuildPlanSummary plan =
        new dev.kiln.events.BuildPlanSummary(
            pip.strategy(),
            pip.sourceDir(),
            pip.pythonVersion(),
            pip.pythonRequested(),
            pip.pythonOrigin(),
            pip.runtimeImage(),
            glibc,
            pip.packageManager(),
            pip.packageManagerFiles(),
            pip.runCommand(),
            pip.runSource(),
            pip.runtimeEnv(),
            pip.warnings(),
            null);
    String key =
        DependencySetKey.compute(
            "3.12.7",
            TargetPlatform.forRuntimeGlibc(glibc),
            "pip",
            null,
            Map.of("requirements.txt", requirements.getBytes(StandardCharsets.UTF_8)));
    return new StepContext(Tasks.install(plan, key, extraIndex()), app, new RecordingLog());
  }

  @Test
  void wheelsAreChosenForTheRuntimesRealGlibcNotTheOldestBaseline() throws Exception {
    DependencyLayer bookworm =
        installStep().run(installContextOn("numeric-lib\nframes-lib\n", "2.36"));

    assertThat(bookworm.distributions()).containsExactly("frames-lib==2.0", "numeric-lib==2.0");
  }

  @Test
  void anOlderGlibcNeverGetsAWheelBuiltForANewerOne() throws Exception {
    assertThat(installStep().run(installContextOn("numeric-lib\n", "2.31")).distributions())
        .containsExactly("numeric-lib==2.0");
    StepContext needs234 = installContextOn("new-glibc-lib\n", "2.31");

    assertThatThrownBy(() -> installStep().run(needs234))
        .isInstanceOfSatisfying(
            StepFailure.class, e -> assertThat(e.code()).isEqualTo("install::package-not-found"));
  }

  @Test
  void aPlanWithoutAGlibcStaysOnTheManylinux2014Baseline() throws Exception {
    assertThat(installStep().run(installContextOn("numeric-lib\n", null)).distributions())
        .containsExactly("numeric-lib==1.0");
  }

  @Test
  void anOlderTargetPythonGetsTheReleaseThatSupportsIt() throws Exception {
    DependencyLayer layer =
        installStep().run(installContext("py-picky\n", "3.10.15", new RecordingLog()));

    assertThat(layer.distributions()).containsExactly("py-picky==1.0");
  }

  @Test
  void aPackageThatIsNotOnTheIndexFailsWithPackageNotFoundNamingIt() throws Exception {
    StepContext ctx =
        installContext("demo-lib\nnot-on-the-index==4.2\n", "3.12.7", new RecordingLog());

    assertThatThrownBy(() -> installStep().run(ctx))
        .isInstanceOf(StepFailure.class)
        .satisfies(
            e -> assertThat(((StepFailure) e).code()).isEqualTo("install::package-not-found"))
        .hasMessageContaining("not-on-the-index")
        .hasMessageContaining("requirements.txt")
        .hasMessageContaining("Check the package name and version");
  }

  @Test
  void aVersionThatDoesNotExistListsTheVersionsTheIndexHas() throws Exception {
    StepContext ctx = installContext("demo-dep==9.9\n", "3.12.7", new RecordingLog());

    assertThatThrownBy(() -> installStep().run(ctx))
        .isInstanceOf(StepFailure.class)
        .satisfies(
            e -> assertThat(((StepFailure) e).code()).isEqualTo("install::package-not-found"))
        .hasMessageContaining("demo-dep")
        .hasMessageContaining("1.2");
  }

  @Test
  void aBrokenRequirementsFileFailsWithInstallFailedAndPipsOutput() throws Exception {
    StepContext ctx =
        installContext("demo-lib\n--no-such-pip-option\n", "3.12.7", new RecordingLog());

    assertThatThrownBy(() -> installStep().run(ctx))
        .isInstanceOf(StepFailure.class)
        .satisfies(e -> assertThat(((StepFailure) e).code()).isEqualTo("install::failed"))
        .hasMessageContaining("no-such-pip-option");
  }

  private StepContext pipenvContext(String pipfileLock, RecordingLog log) throws Exception {
    Path app = Files.createDirectories(tmp.resolve("pipenv-app"));
    Files.writeString(app.resolve("Pipfile"), "[packages]\ndemo-lib = \"*\"\n");
    Files.writeString(app.resolve("Pipfile.lock"), pipfileLock);
    String key =
        DependencySetKey.compute(
            "3.12.7",
            TargetPlatform.linuxX86_64("2.36"),
            "pipenv",
            null,
            Map.of("Pipfile.lock", pipfileLock.getBytes(StandardCharsets.UTF_8)));
    dev.kiln.events.BuildPlanSummary plan =
        new dev.kiln.events.BuildPlanSummary(
            "buildpack",
            ".",
            "3.12.7",
            "3.12",
            "Pipfile.lock",
            null,
            "2.36",
            "pipenv",
            java.util.List.of("Pipfile", "Pipfile.lock"),
            "gunicorn app:app",
            "procfile",
            Map.of(),
            java.util.List.of(),
            null);
    return new StepContext(Tasks.install(plan, key, extraIndex()), app, log);
  }

  private static String sha256(byte[] bytes) throws Exception {
    return "sha256:"
        + java.util.HexFormat.of()
            .formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  private static String pipfileLock(String libHash, String depHash) {
    return """
        {"_meta": {"requires": {"python_version": "3.12"}},
         "default": {
           "demo-lib": {"hashes": ["%s"], "version": "==1.0"},
           "demo-dep": {"hashes": ["%s"], "version": "==1.2"}},
         "develop": {"py-picky": {"hashes": ["%s"], "version": "==2.0"}}}
        """
        .formatted(libHash, depHash, depHash);
  }

  @Test
  void aPipenvAppInstallsExactlyTheDefaultSectionOfItsLockWithHashesChecked() throws Exception {
    String libHash =
        sha256(Files.readAllBytes(cache.wheels().resolve("demo_lib-1.0-py3-none-any.whl")));
    String depHash =
        sha256(Files.readAllBytes(cache.wheels().resolve("demo_dep-1.2-py3-none-any.whl")));
    RecordingLog log = new RecordingLog();

    DependencyLayer layer = installStep().run(pipenvContext(pipfileLock(libHash, depHash), log));

    assertThat(layer.distributions()).containsExactly("demo-dep==1.2", "demo-lib==1.0");
    assertThat(log.text()).contains("Pipfile.lock (2 pinned packages, hashes checked)");
  }

  @Test
  void aPipenvLockWithAWrongHashFailsTheInstall() throws Exception {
    String libHash =
        sha256(Files.readAllBytes(cache.wheels().resolve("demo_lib-1.0-py3-none-any.whl")));
    String wrong = "sha256:" + "0".repeat(64);

    assertThatThrownBy(
            () -> installStep().run(pipenvContext(pipfileLock(libHash, wrong), new RecordingLog())))
        .isInstanceOf(StepFailure.class)
        .satisfies(e -> assertThat(((StepFailure) e).code()).isEqualTo("install::failed"))
        .hasMessageContaining("HASHES");
  }

  static void readLayer(
      CacheServiceClient client,
      DependencyLayer layer,
      Map<String, TarArchiveEntry> entries,
      Map<String, String> contents)
      throws Exception {
    Path tar = Files.createTempFile("layer", ".tar");
    try {
      client.getBlob(layer.blob(), tar).orElseThrow();
      assertThat(Files.size(tar)).isEqualTo(layer.size());
      try (InputStream in = Files.newInputStream(tar);
          TarArchiveInputStream archive = new TarArchiveInputStream(in)) {
        for (TarArchiveEntry entry; (entry = archive.getNextEntry()) != null; ) {
          entries.put(entry.getName(), entry);
          if (entry.isFile()) {
            contents.put(
                entry.getName(), new String(archive.readAllBytes(), StandardCharsets.UTF_8));
          }
        }
      }
    } finally {
      Files.deleteIfExists(tar);
    }
  }
}
