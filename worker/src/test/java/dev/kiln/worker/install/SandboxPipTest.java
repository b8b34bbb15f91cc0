package dev.kiln.worker.install;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.installer.LockedSet;
import dev.kiln.installer.resolve.PipReport;
import dev.kiln.testkit.PythonBuildTools;
import dev.kiln.testkit.SdistBuilder;
import dev.kiln.testkit.WheelBuilder;
import dev.kiln.worker.sandbox.Sandbox;
import dev.kiln.worker.sandbox.SandboxLimits;
import dev.kiln.worker.sandbox.SandboxOutcome;
import dev.kiln.worker.testsupport.CacheServiceFixture;
import dev.kiln.worker.testsupport.TestRootfs;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * pip under the bookworm runtime's Python 3.11.2 in the real sandbox, against the real
 * cache-service proxying an index of wheels and an sdist built here.
 */
class SandboxPipTest {
  @TempDir static Path shared;
  @TempDir Path temp;
  private static CacheServiceFixture cache;
  private static Path rootfs;
  private static Path pip;

  @BeforeAll
  static void prepare() throws Exception {
    rootfs = TestRootfs.bookworm();
    cache = CacheServiceFixture.start(shared);
    List<Path> tools = PythonBuildTools.copyTo(cache.wheels());
    pip = unzip(tools.get(0), shared.resolve("pip"));
    WheelBuilder.wheel("greeting", "1.0").writeTo(cache.wheels());
    WheelBuilder.wheel("greeting", "2.0").requires("only-source").writeTo(cache.wheels());
    SdistBuilder.sdist("only-source", "0.5")
        .module("only_source/__init__.py", "VALUE = 5\n")
        .writeTo(cache.wheels());
  }

  @AfterAll
  static void stop() {
    if (cache != null) {
      cache.close();
    }
  }

  private SandboxPip sandboxPip() {
    return new SandboxPip(
        new Sandbox(Sandbox.Settings.defaults()),
        URI.create(cache.baseUrl()),
        SandboxLimits.defaults());
  }

  @Test
  void aResolutionUnderTheRuntimesPythonPicksTheNewestAndReportsHashesAndTheLocalProject()
      throws Exception {
    Path source = Files.createDirectories(temp.resolve("source"));
    Files.writeString(source.resolve("requirements.txt"), "greeting>=1\n-e .\n");
    Files.writeString(
        source.resolve("setup.py"),
        "from setuptools import setup\nsetup(name='web', version='1.0', py_modules=['app'])\n");
    Files.writeString(source.resolve("app.py"), "print('hi')\n");
    Path out = Files.createDirectories(temp.resolve("out"));
    List<String> output = new ArrayList<>();

    SandboxOutcome outcome =
        sandboxPip()
            .resolve(
                new SandboxPip.Workspace(rootfs, pip, source, null, out),
                List.of("-r", "requirements.txt"),
                output::add);

    assertThat(outcome.succeeded()).as(String.join("\n", output)).isTrue();
    LockedSet set =
        PipReport.read(Files.readAllBytes(out.resolve("report.json")), "/app", "requirements.txt");
    assertThat(set.distributions())
        .extracting(d -> d.normalizedName() + "==" + d.version())
        .containsExactly("greeting==2.0", "only-source==0.5");
    assertThat(set.distributions().get(1).files().get(0).filename())
        .isEqualTo("only_source-0.5.tar.gz");
    assertThat(set.localProjects()).containsExactly(new dev.kiln.installer.LocalProject(".", true));
  }

  @Test
  void aCiBuildThatPipResolvesInstallsThePep735GroupsWithTheirIncludes() throws Exception {
    // A uv app with a private index is resolved by pip: its test groups come in as requirements.
    Path source = Files.createDirectories(temp.resolve("uv-app"));
    Files.writeString(
        source.resolve("pyproject.toml"),
        """
        [project]
        name = "web"
        version = "1.0"
        dependencies = []

        [dependency-groups]
        dev = [{include-group = "test"}]
        test = ["greeting==1.0"]

        [build-system]
        requires = ["setuptools"]
        build-backend = "setuptools.build_meta"
        """);
    Files.writeString(source.resolve("app.py"), "print('hi')\n");
    Path out = Files.createDirectories(temp.resolve("out"));
    List<String> output = new ArrayList<>();
    List<String> groups =
        dev.kiln.installer.lock.Locks.ciDependencyGroups(
            "uv", Files.readAllBytes(source.resolve("pyproject.toml")));

    assertThat(groups).containsExactly("dev");
    Files.writeString(
        source.resolve(Resolution.GROUP_REQUIREMENTS),
        String.join(
                "\n",
                dev.kiln.installer.lock.Locks.dependencyGroupLines(
                    Files.readAllBytes(source.resolve("pyproject.toml")), groups))
            + "\n");

    SandboxOutcome outcome =
        sandboxPip()
            .resolve(
                new SandboxPip.Workspace(rootfs, pip, source, null, out),
                Resolution.requested(false, false, false, groups).args(),
                output::add);

    assertThat(outcome.succeeded()).as(String.join("\n", output)).isTrue();
    LockedSet set =
        PipReport.read(Files.readAllBytes(out.resolve("report.json")), "/app", "pyproject.toml");
    assertThat(set.distributions())
        .extracting(d -> d.normalizedName() + "==" + d.version())
        .containsExactly("greeting==1.0");
  }

  @Test
  void anSdistBuildsIntoAWheelWithTheBackendItDeclares() throws Exception {
    Path input = Files.createDirectories(temp.resolve("in"));
    Files.copy(
        cache.wheels().resolve("only_source-0.5.tar.gz"), input.resolve("only_source-0.5.tar.gz"));
    Path out = Files.createDirectories(temp.resolve("out"));
    List<String> output = new ArrayList<>();

    SandboxOutcome outcome =
        sandboxPip()
            .buildWheel(
                new SandboxPip.Workspace(rootfs, pip, null, input, out),
                SandboxPip.INPUT_DIR + "/only_source-0.5.tar.gz",
                output::add);

    assertThat(outcome.succeeded()).as(String.join("\n", output)).isTrue();
    try (var files = Files.list(out)) {
      assertThat(files.map(f -> f.getFileName().toString()))
          .containsExactly("only_source-0.5-py3-none-any.whl");
    }
  }

  static Path unzip(Path wheel, Path target) throws Exception {
    try (InputStream in = Files.newInputStream(wheel);
        ZipInputStream zip = new ZipInputStream(in)) {
      for (ZipEntry entry; (entry = zip.getNextEntry()) != null; ) {
        Path file = target.resolve(entry.getName()).normalize();
        if (!file.startsWith(target) || entry.isDirectory()) {
          continue;
        }
        Files.createDirectories(file.getParent());
        Files.copy(zip, file);
      }
    }
    return target;
  }
}
