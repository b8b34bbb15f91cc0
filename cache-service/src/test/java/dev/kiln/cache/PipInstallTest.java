package dev.kiln.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.testkit.StaticIndexServer;
import dev.kiln.testkit.WheelBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real pip, resolving through the cache-service from an upstream index of wheels built here. */
class PipInstallTest {
  private static final long PIP_TIMEOUT_SECONDS = 180;

  @TempDir Path work;

  @Test
  void pipInstallsThroughTheCacheAndASecondInstallFetchesNoFileFromUpstream() throws Exception {
    Path wheels = Files.createDirectories(work.resolve("wheels"));
    WheelBuilder.wheel("demo-pkg", "1.0")
        .module("demo_pkg/__init__.py", "from demo_dep import VALUE\n")
        .requires("demo-dep>=1")
        .requiresPython(">=3.8")
        .consoleScript("demo", "demo_pkg:main")
        .writeTo(wheels);
    WheelBuilder.wheel("demo-dep", "1.2")
        .module("demo_dep/__init__.py", "VALUE = 42\n")
        .writeTo(wheels);
    // Newer, but for a Python that does not exist: pip must skip it via data-requires-python.
    WheelBuilder.wheel("demo-dep", "2.0").requiresPython(">=4").writeTo(wheels);

    try (StaticIndexServer upstream = StaticIndexServer.start(wheels);
        RunningCacheService service =
            // pip cannot send a bearer token: in a farm it reaches the service through the
            // worker's index relay, which adds the farm token; here it talks to it directly.
            RunningCacheService.startWithoutAuthentication(
                CacheServiceConfig.of(work.resolve("store"), upstream.indexUrl()))) {
      Path firstTarget = work.resolve("first");
      pipInstall(service.verticle.indexUrl(), firstTarget, "demo-pkg");

      assertThat(firstTarget.resolve("demo_pkg/__init__.py")).exists();
      assertThat(firstTarget.resolve("demo_dep/__init__.py")).hasContent("VALUE = 42");
      assertThat(firstTarget.resolve("demo_dep-1.2.dist-info")).isDirectory();
      assertThat(upstream.fileRequestCount()).isEqualTo(2);

      Path secondTarget = work.resolve("second");
      pipInstall(service.verticle.indexUrl(), secondTarget, "demo-pkg");

      assertThat(secondTarget.resolve("demo_pkg/__init__.py")).exists();
      assertThat(secondTarget.resolve("demo_dep-1.2.dist-info")).isDirectory();
      assertThat(upstream.fileRequestCount())
          .as("file requests reaching upstream: %s", upstream.requestCounts())
          .isEqualTo(2);
    }
  }

  private void pipInstall(String indexUrl, Path target, String requirement) throws Exception {
    Path log = Files.createTempFile(work, "pip-", ".log");
    ProcessBuilder pip =
        new ProcessBuilder(
                List.of(
                    "python3",
                    "-m",
                    "pip",
                    "install",
                    "--no-cache-dir",
                    "--disable-pip-version-check",
                    "--no-input",
                    "--target",
                    target.toString(),
                    "--index-url",
                    indexUrl,
                    requirement))
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    isolate(pip.environment());
    Process process = pip.start();
    boolean finished = process.waitFor(PIP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    if (!finished) {
      process.destroyForcibly();
    }
    assertThat(finished ? process.exitValue() : -1)
        .as("pip install %s from %s:%n%s", requirement, indexUrl, read(log))
        .isZero();
  }

  /** Only the index under test: no machine-wide pip config, mirrors or find-links. */
  private static void isolate(Map<String, String> environment) {
    environment.keySet().removeIf(name -> name.startsWith("PIP_"));
    environment.put("PIP_CONFIG_FILE", "/dev/null");
    environment.put("PIP_DISABLE_PIP_VERSION_CHECK", "1");
  }

  private static String read(Path log) throws IOException {
    return Files.readString(log);
  }
}
