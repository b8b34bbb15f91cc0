package dev.kiln.worker.install;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.cache.client.CacheServiceClient;
import dev.kiln.events.BuildPlanSummary;
import dev.kiln.events.DependencyLayer;
import dev.kiln.events.Digest;
import dev.kiln.testkit.WheelBuilder;
import dev.kiln.worker.detect.DependencySetKey;
import dev.kiln.worker.fs.BackgroundDeleter;
import dev.kiln.worker.steps.StepContext;
import dev.kiln.worker.steps.StepFailure;
import dev.kiln.worker.testsupport.CacheServiceFixture;
import dev.kiln.worker.testsupport.RecordingLog;
import dev.kiln.worker.testsupport.Tasks;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * INSTALL by Kiln's own engine against the real cache-service and an index of real wheels, on a
 * worker with no build sandbox and a {@code python3} that does not exist: a locked set installs
 * without any pip process, because there is none to run.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class InstallStepTest {
  @TempDir static Path shared;
  private static CacheServiceFixture cache;
  private static BackgroundDeleter deleter;
  private static String libSha;
  private static String depSha;
  private static String extraSha;

  @TempDir Path tmp;

  @BeforeAll
  static void startCacheServiceWithWheels() throws Exception {
    cache = CacheServiceFixture.start(shared);
    libSha =
        sha256(
            WheelBuilder.wheel("demo-lib", "1.0")
                .requires("demo-dep>=1")
                .consoleScript("demo-cli", "demo_lib:main")
                .module("demo_lib/__init__.py", "def main():\n    print('demo')\n")
                .file("demo_lib-1.0.data/data/share/demo/readme.txt", "data\n".getBytes())
                .file("demo_lib-1.0.data/scripts/demo-tool", "#!python\nprint('tool')\n".getBytes())
                .writeTo(cache.wheels()));
    depSha = sha256(WheelBuilder.wheel("demo-dep", "1.2").writeTo(cache.wheels()));
    extraSha = sha256(WheelBuilder.wheel("demo-extra", "3.0").writeTo(cache.wheels()));
    // Same name and version as demo-extra 3.0 can never be: a wheel that writes outside its root.
    Files.write(cache.wheels().resolve("evil_pkg-1.0-py3-none-any.whl"), zipSlipWheel());
    deleter = new BackgroundDeleter(shared.resolve("worker/trash"));
  }

  @AfterAll
  static void stop() throws Exception {
    deleter.awaitIdle(30, TimeUnit.SECONDS);
    deleter.close();
    cache.close();
  }

  /** A worker whose own python3 does not exist: any pip run would fail the install. */
  private InstallStep installStep() {
    return new InstallStep(
        cache.client(),
        new InstallStep.Settings(
            shared.resolve("worker"), "/nonexistent/no-pip-here/python3", Duration.ofMinutes(1)),
        deleter);
  }

  private StepContext context(
      String manager, Map<String, String> files, List<String> packageManagerFiles, RecordingLog log)
      throws Exception {
    Path app = Files.createDirectories(tmp.resolve("app-" + manager + "-" + files.hashCode()));
    Map<String, byte[]> bytes = new LinkedHashMap<>();
    for (Map.Entry<String, String> file : files.entrySet()) {
      Files.writeString(app.resolve(file.getKey()), file.getValue());
      bytes.put(file.getKey(), file.getValue().getBytes(StandardCharsets.UTF_8));
    }
    BuildPlanSummary plan =
        Tasks.plan("3.11.2", manager, packageManagerFiles, List.copyOf(files.keySet()));
    String key =
        DependencySetKey.compute(
            "3.11.2", TargetPlatform.linuxX86_64("2.36"), manager, null, bytes);
    return new StepContext(Tasks.install(plan, key, Map.of()), app, log);
  }

  /**
   * A CI build's context: the key is made other than a normal build's of the same files, as the
   * planner's is (a CI build installs more from the same inputs).
   */
  private StepContext ciContext(
      String manager, Map<String, String> files, List<String> packageManagerFiles, RecordingLog log)
      throws Exception {
    StepContext normal = context(manager, files, packageManagerFiles, log);
    Map<String, byte[]> bytes = new LinkedHashMap<>();
    files.forEach((name, text) -> bytes.put(name, text.getBytes(StandardCharsets.UTF_8)));
    bytes.put("\0ci", new byte[0]);
    String key =
        DependencySetKey.compute(
            "3.11.2", TargetPlatform.linuxX86_64("2.36"), manager, null, bytes);
    return new StepContext(
        Tasks.install(normal.task().plan(), key, Map.of()).withCi(true), normal.sourceDir(), log);
  }

  private StepContext hashedRequirements(String requirements, RecordingLog log) throws Exception {
    return context(
        "pip", Map.of("requirements.txt", requirements), List.of("requirements.txt"), log);
  }

  private static String pinned(String name, String version, String sha) {
    return name + "==" + version + " --hash=sha256:" + sha + "\n";
  }

  @Test
  @Order(1) // the first install of these wheels: every one is fetched and unpacked
  void hashedRequirementsInstallWithoutPipIntoTheLayerLayout() throws Exception {
    RecordingLog log = new RecordingLog();

    DependencyLayer layer =
        installStep()
            .run(
                hashedRequirements(
                    "# the layout test\n"
                        + pinned("demo-lib", "1.0", libSha)
                        + pinned("demo-dep", "1.2", depSha),
                    log));

    assertThat(layer.reused()).isFalse();
    assertThat(layer.distributions()).containsExactly("demo-dep==1.2", "demo-lib==1.0");
    assertThat(layer.resolved())
        .extracting(DependencyLayer.Distribution::name, d -> d.sha256().hex())
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("demo-dep", depSha),
            org.assertj.core.groups.Tuple.tuple("demo-lib", libSha));
    assertThat(layer.resolvedSet()).isNotNull();
    Map<String, TarArchiveEntry> entries = new LinkedHashMap<>();
    Map<String, String> contents = new LinkedHashMap<>();
    readLayer(cache.client(), layer, entries, contents);
    assertThat(entries)
        .containsKeys(
            "demo_lib/__init__.py",
            "demo_dep/__init__.py",
            "demo_lib-1.0.dist-info/METADATA",
            "bin/demo-cli",
            "bin/demo-tool",
            "share/demo/readme.txt");
    assertThat(contents.get("bin/demo-cli")).startsWith("#!/usr/bin/env python3\n");
    assertThat(contents.get("bin/demo-tool")).startsWith("#!/usr/bin/env python3\n");
    assertThat(entries.keySet()).noneMatch(name -> name.endsWith(".pyc"));
    assertThat(log.text())
        .contains("-----> Reading requirements.txt for Python 3.11.2: 2 distributions")
        .contains("2 wheels fetched, 2 unpacked fresh, 0 reused");
  }

  @Test
  void aNewSetOfKnownWheelsReusesTheirFragmentsAndOnlyUnpacksTheNewOne() throws Exception {
    installStep()
        .run(
            hashedRequirements(
                pinned("demo-lib", "1.0", libSha) + pinned("demo-dep", "1.2", depSha),
                new RecordingLog()));
    RecordingLog log = new RecordingLog();

    DependencyLayer layer =
        installStep()
            .run(
                hashedRequirements(
                    pinned("demo-lib", "1.0", libSha)
                        + pinned("demo-dep", "1.2", depSha)
                        + pinned("demo-extra", "3.0", extraSha),
                    log));

    assertThat(layer.distributions()).hasSize(3);
    assertThat(log.text()).contains("1 wheels fetched, 1 unpacked fresh, 2 reused");
  }

  @Test
  void differentLockFilesOfTheSameDistributionsShareOneLayer() throws Exception {
    DependencyLayer fromRequirements =
        installStep()
            .run(
                hashedRequirements(
                    "# the same two wheels\n"
                        + pinned("demo-dep", "1.2", depSha)
                        + pinned("demo-lib", "1.0", libSha),
                    new RecordingLog()));
    RecordingLog log = new RecordingLog();

    DependencyLayer fromPylock =
        installStep()
            .run(
                context(
                    "pylock",
                    Map.of("pylock.toml", pylock(Map.of("demo-lib", libSha, "demo-dep", depSha))),
                    List.of("pylock.toml"),
                    log));

    assertThat(fromPylock.key()).isNotEqualTo(fromRequirements.key());
    assertThat(fromPylock.blob()).isEqualTo(fromRequirements.blob());
    assertThat(fromPylock.resolvedSet()).isEqualTo(fromRequirements.resolvedSet());
    assertThat(log.text()).contains("Reusing the dependency layer of the same 2 distributions");
  }

  @Test
  void theSameInputsAreOneActionCacheLookup() throws Exception {
    String requirements = pinned("demo-dep", "1.2", depSha) + "# once more\n";
    DependencyLayer first = installStep().run(hashedRequirements(requirements, new RecordingLog()));
    RecordingLog log = new RecordingLog();

    DependencyLayer second = installStep().run(hashedRequirements(requirements, log));

    assertThat(second.reused()).isTrue();
    assertThat(second.blob()).isEqualTo(first.blob());
    assertThat(log.text()).contains("Reusing the installed dependencies");
  }

  @Test
  void aPylockHashTheIndexFileDoesNotHaveFailsWithHashMismatchAndInstallsNothing()
      throws Exception {
    String wrong = "0".repeat(64);
    StepContext ctx =
        context(
            "pylock",
            Map.of("pylock.toml", pylock(Map.of("demo-dep", wrong))),
            List.of("pylock.toml"),
            new RecordingLog());

    assertThatThrownBy(() -> installStep().run(ctx))
        .isInstanceOfSatisfying(
            StepFailure.class, e -> assertThat(e.code()).isEqualTo("install::hash-mismatch"))
        .hasMessageContaining("demo_dep-1.2-py3-none-any.whl")
        .hasMessageContaining(depSha);
  }

  @Test
  void aRequirementsHashNoFileOfTheIndexHasFailsWithHashMismatch() throws Exception {
    StepContext ctx =
        hashedRequirements(pinned("demo-dep", "1.2", "1".repeat(64)), new RecordingLog());

    assertThatThrownBy(() -> installStep().run(ctx))
        .isInstanceOfSatisfying(
            StepFailure.class, e -> assertThat(e.code()).isEqualTo("install::hash-mismatch"))
        .hasMessageContaining("demo-dep");
  }

  @Test
  void aZipSlipWheelFailsAsUnsafeAndWritesNothingOutsideTheScratchArea() throws Exception {
    String evilSha = sha256(cache.wheels().resolve("evil_pkg-1.0-py3-none-any.whl"));
    StepContext ctx = hashedRequirements(pinned("evil-pkg", "1.0", evilSha), new RecordingLog());

    assertThatThrownBy(() -> installStep().run(ctx))
        .isInstanceOfSatisfying(
            StepFailure.class, e -> assertThat(e.code()).isEqualTo("install::unsafe-wheel"))
        .hasMessageContaining("evil-pkg");
    assertThat(filesNamed(shared.getParent(), "kiln-zip-slip.txt", 6)).isEmpty();
  }

  /**
   * Files called {@code name} under {@code root}; the walk shares the machine's temp directory with
   * other processes, so a directory deleted while it is walked is skipped, not an error.
   */
  private static List<Path> filesNamed(Path root, String name, int depth) throws IOException {
    List<Path> found = new java.util.ArrayList<>();
    Files.walkFileTree(
        root,
        java.util.EnumSet.noneOf(java.nio.file.FileVisitOption.class),
        depth,
        new java.nio.file.SimpleFileVisitor<>() {
          @Override
          public java.nio.file.FileVisitResult visitFile(
              Path file, java.nio.file.attribute.BasicFileAttributes attrs) {
            if (file.getFileName().toString().equals(name)) {
              found.add(file);
            }
            return java.nio.file.FileVisitResult.CONTINUE;
          }

          @Override
          public java.nio.file.FileVisitResult visitFileFailed(Path file, IOException e) {
            return java.nio.file.FileVisitResult.CONTINUE;
          }
        });
    return found;
  }

  @Test
  void aWheelWhoseBytesAreNotItsLockedHashFailsAndLeavesNoFragment() throws Exception {
    Path wheel = WheelBuilder.wheel("tampered-lib", "1.0").writeTo(cache.wheels());
    String locked = sha256(wheel);
    // The index's file is replaced by other bytes under the same name after the lock was written.
    WheelBuilder.wheel("tampered-lib", "1.0")
        .module("tampered_lib/__init__.py", "import os; os.system('echo pwned')\n")
        .writeTo(cache.wheels());
    StepContext ctx = hashedRequirements(pinned("tampered-lib", "1.0", locked), new RecordingLog());
    long fragmentsBefore = fragmentCount();

    assertThatThrownBy(() -> installStep().run(ctx))
        .isInstanceOfSatisfying(
            StepFailure.class, e -> assertThat(e.code()).isEqualTo("install::hash-mismatch"))
        .hasMessageContaining("tampered-lib")
        .hasMessageContaining(locked);
    assertThat(fragmentCount()).isEqualTo(fragmentsBefore);
    assertThat(cache.client().projectFiles("tampered-lib"))
        .noneMatch(file -> file.sha256().hex().equals(locked));
  }

  @Test
  void unpinnedRequirementsNeedTheSandboxAndSaySo() throws Exception {
    StepContext ctx = hashedRequirements("demo-lib>=1\n", new RecordingLog());

    assertThatThrownBy(() -> installStep().run(ctx))
        .isInstanceOfSatisfying(
            StepFailure.class, e -> assertThat(e.code()).isEqualTo("sandbox::unavailable"))
        .hasMessageContaining("requirements.txt")
        .hasMessageContaining("lock file");
  }

  @Test
  void aStaleUvLockFailsWithItsCodeAndTheCommandThatFixesIt() throws Exception {
    String pyproject =
        "[project]\nname = \"web\"\nversion = \"0.1.0\"\nrequires-python = \">=3.11\"\n"
            + "dependencies = [\"demo-lib\", \"demo-extra\"]\n";
    StepContext ctx =
        context(
            "uv",
            Map.of(
                "pyproject.toml",
                pyproject,
                "uv.lock",
                uvLock(Map.of("demo-lib", libSha, "demo-dep", depSha), List.of("demo-lib")),
                ".python-version",
                "3.11\n"),
            List.of("uv.lock"),
            new RecordingLog());

    assertThatThrownBy(() -> installStep().run(ctx))
        .isInstanceOfSatisfying(
            StepFailure.class, e -> assertThat(e.code()).isEqualTo("uv-lock::stale"))
        .hasMessageContaining("uv lock");
  }

  @Test
  void aFreshUvLockInstallsItsMainDependenciesOnly() throws Exception {
    String pyproject =
        "[project]\nname = \"web\"\nversion = \"0.1.0\"\nrequires-python = \">=3.11\"\n"
            + "dependencies = [\"demo-lib\"]\n\n[dependency-groups]\ndev = [\"demo-extra\"]\n";
    RecordingLog log = new RecordingLog();

    DependencyLayer layer =
        installStep()
            .run(
                context(
                    "uv",
                    Map.of(
                        "pyproject.toml",
                        pyproject,
                        "uv.lock",
                        uvLockWithDevGroup(),
                        ".python-version",
                        "3.11\n"),
                    List.of("uv.lock"),
                    log));

    assertThat(layer.distributions()).containsExactly("demo-dep==1.2", "demo-lib==1.0");
    assertThat(layer.localProjects()).isEmpty();
  }

  @Test
  @Order(Integer.MAX_VALUE) // after the tests that count first installs of these sets
  void aCiBuildInstallsHashedTestRequirementsTooAndANormalBuildDoesNot() throws Exception {
    Map<String, String> files =
        Map.of(
            "requirements.txt",
            pinned("demo-lib", "1.0", libSha) + pinned("demo-dep", "1.2", depSha),
            "requirements-test.txt",
            "-r requirements.txt\n" + pinned("demo-extra", "3.0", extraSha));
    RecordingLog ciLog = new RecordingLog();

    DependencyLayer ci =
        installStep().run(ciContext("pip", files, List.of("requirements.txt"), ciLog));
    DependencyLayer normal =
        installStep().run(context("pip", files, List.of("requirements.txt"), new RecordingLog()));

    assertThat(ci.distributions())
        .containsExactly("demo-dep==1.2", "demo-extra==3.0", "demo-lib==1.0");
    assertThat(ciLog.text())
        .contains(
            "-----> Reading requirements.txt and requirements-test.txt for Python 3.11.2: 3"
                + " distributions");
    assertThat(normal.distributions()).containsExactly("demo-dep==1.2", "demo-lib==1.0");
  }

  @Test
  @Order(Integer.MAX_VALUE) // after the tests that count first installs of these sets
  void aCiBuildOfAUvLockInstallsTheDevGroup() throws Exception {
    String pyproject =
        "[project]\nname = \"web\"\nversion = \"0.1.0\"\nrequires-python = \">=3.11\"\n"
            + "dependencies = [\"demo-lib\"]\n\n[dependency-groups]\ndev = [\"demo-extra\"]\n";

    DependencyLayer layer =
        installStep()
            .run(
                ciContext(
                    "uv",
                    Map.of(
                        "pyproject.toml",
                        pyproject,
                        "uv.lock",
                        uvLockWithDevGroup(),
                        ".python-version",
                        "3.11\n"),
                    List.of("uv.lock"),
                    new RecordingLog()));

    assertThat(layer.distributions())
        .containsExactly("demo-dep==1.2", "demo-extra==3.0", "demo-lib==1.0");
  }

  private static long fragmentCount() throws Exception {
    Path fragments = shared.resolve("worker/fragments");
    if (!Files.isDirectory(fragments)) {
      return 0;
    }
    try (Stream<Path> files = Files.list(fragments)) {
      return files.count();
    }
  }

  // ------------------------------------------------------------------ fixtures

  static String pylock(Map<String, String> shaByName) {
    StringBuilder text =
        new StringBuilder(
            "lock-version = \"1.0\"\ncreated-by = \"kiln-test\"\nrequires-python = \">=3.9\"\n");
    shaByName.keySet().stream()
        .sorted()
        .forEach(
            name -> {
              String version =
                  name.equals("demo-lib") ? "1.0" : name.equals("demo-dep") ? "1.2" : "3.0";
              String file = name.replace('-', '_') + "-" + version + "-py3-none-any.whl";
              text.append("\n[[packages]]\nname = \"")
                  .append(name)
                  .append("\"\nversion = \"")
                  .append(version)
                  .append("\"\n[[packages.wheels]]\nname = \"")
                  .append(file)
                  .append("\"\nurl = \"https://files.example.test/")
                  .append(file)
                  .append("\"\nhashes = { sha256 = \"")
                  .append(shaByName.get(name))
                  .append("\" }\n");
            });
    return text.toString();
  }

  /** A uv.lock of a virtual project depending on {@code rootDependencies}. */
  static String uvLock(Map<String, String> shaByName, List<String> rootDependencies) {
    StringBuilder text =
        new StringBuilder("version = 1\nrevision = 2\nrequires-python = \">=3.11\"\n");
    for (String name : shaByName.keySet().stream().sorted().toList()) {
      String version = name.equals("demo-lib") ? "1.0" : name.equals("demo-dep") ? "1.2" : "3.0";
      String file = name.replace('-', '_') + "-" + version + "-py3-none-any.whl";
      text.append("\n[[package]]\nname = \"")
          .append(name)
          .append("\"\nversion = \"")
          .append(version)
          .append("\"\nsource = { registry = \"https://pypi.org/simple\" }\n");
      if (name.equals("demo-lib")) {
        text.append("dependencies = [\n    { name = \"demo-dep\" },\n]\n");
      }
      text.append("wheels = [\n    { url = \"https://files.example.test/")
          .append(file)
          .append("\", hash = \"sha256:")
          .append(shaByName.get(name))
          .append("\" },\n]\n");
    }
    text.append(
        "\n[[package]]\nname = \"web\"\nversion = \"0.1.0\"\nsource = { virtual = \".\" }\n");
    text.append("dependencies = [\n");
    rootDependencies.forEach(d -> text.append("    { name = \"").append(d).append("\" },\n"));
    text.append("]\n\n[package.metadata]\nrequires-dist = [");
    text.append(
        String.join(", ", rootDependencies.stream().map(d -> "{ name = \"" + d + "\" }").toList()));
    text.append("]\n");
    return text.toString();
  }

  private static String uvLockWithDevGroup() {
    String base =
        uvLock(
            Map.of("demo-lib", libSha, "demo-dep", depSha, "demo-extra", extraSha),
            List.of("demo-lib"));
    return base.replace(
            "]\n\n[package.metadata]\n",
            "]\n\n[package.dev-dependencies]\ndev = [\n    { name = \"demo-extra\" },\n]\n\n[package.metadata]\n")
        + "\n[package.metadata.requires-dev]\ndev = [{ name = \"demo-extra\" }]\n";
  }

  private static byte[] zipSlipWheel() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      zip.putNextEntry(new ZipEntry("../../../../kiln-zip-slip.txt"));
      zip.write("escaped\n".getBytes(StandardCharsets.UTF_8));
      zip.putNextEntry(new ZipEntry("evil_pkg-1.0.dist-info/METADATA"));
      zip.write(
          "Metadata-Version: 2.1\nName: evil-pkg\nVersion: 1.0\n".getBytes(StandardCharsets.UTF_8));
      zip.putNextEntry(new ZipEntry("evil_pkg-1.0.dist-info/WHEEL"));
      zip.write(
          "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
              .getBytes(StandardCharsets.UTF_8));
      zip.putNextEntry(new ZipEntry("evil_pkg-1.0.dist-info/RECORD"));
      zip.write(
          "../../../../kiln-zip-slip.txt,,\nevil_pkg-1.0.dist-info/METADATA,,\n"
              .getBytes(StandardCharsets.UTF_8));
    }
    return bytes.toByteArray();
  }

  private static String sha256(Path file) throws Exception {
    return Digest.compute(file).hex();
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
      try (java.io.InputStream in = Files.newInputStream(tar);
          org.apache.commons.compress.archivers.tar.TarArchiveInputStream archive =
              new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(in)) {
        // Stored in image form: every name under opt/kiln/deps/, those three directories first;
        // the tests name entries relative to the dependency root.
        List<String> parents = new ArrayList<>();
        for (TarArchiveEntry entry; (entry = archive.getNextEntry()) != null; ) {
          if (parents.size() < 3) {
            parents.add(entry.getName());
            continue;
          }
          assertThat(entry.getName()).startsWith("opt/kiln/deps/");
          String name = entry.getName().substring("opt/kiln/deps/".length());
          entries.put(name, entry);
          if (entry.isFile()) {
            contents.put(
                name, new String(archive.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
          }
        }
        assertThat(parents).containsExactly("opt/", "opt/kiln/", "opt/kiln/deps/");
      }
    } finally {
      Files.deleteIfExists(tar);
    }
  }
}
