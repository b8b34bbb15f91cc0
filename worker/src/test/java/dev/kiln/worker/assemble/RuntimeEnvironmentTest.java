package dev.kiln.worker.assemble;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class RuntimeEnvironmentTest {

  @Test
  void defaultsWithoutAppValues() {
    RuntimeEnvironment env = RuntimeEnvironment.forApp(Map.of());

    assertThat(env.variables())
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                "PATH", "/opt/kiln/deps/bin:/usr/local/bin:/usr/bin:/bin",
                "PYTHONPATH", "/app:/opt/kiln/deps",
                "PYTHONUNBUFFERED", "true",
                "LANG", "en_US.UTF-8",
                "PORT", "8080",
                "HOME", "/app",
                "FORWARDED_ALLOW_IPS", "*",
                "GUNICORN_CMD_ARGS", "--worker-tmp-dir /dev/shm --access-logfile -"));
    assertThat(env.port()).isEqualTo(8080);
  }

  @Test
  void appValuesWinForLangPortPythonPathConcurrencyAndGunicornArgs() {
    RuntimeEnvironment env =
        RuntimeEnvironment.forApp(
            Map.of(
                "LANG",
                "de_DE.UTF-8",
                "PORT",
                "5000",
                "PYTHONPATH",
                "/app/src",
                "WEB_CONCURRENCY",
                "4",
                "GUNICORN_CMD_ARGS",
                "--timeout 60"));

    assertThat(env.variables())
        .containsEntry("LANG", "de_DE.UTF-8")
        .containsEntry("PORT", "5000")
        .containsEntry("WEB_CONCURRENCY", "4")
        .containsEntry("GUNICORN_CMD_ARGS", "--timeout 60")
        // The packages live in /opt/kiln/deps, so it stays on the path whatever the app says.
        .containsEntry("PYTHONPATH", "/app/src:/opt/kiln/deps");
    assertThat(env.port()).isEqualTo(5000);
  }

  @Test
  void kilnValuesWinForUnbufferedHomeAndForwardedIps() {
    RuntimeEnvironment env =
        RuntimeEnvironment.forApp(
            Map.of("PYTHONUNBUFFERED", "", "HOME", "/root", "FORWARDED_ALLOW_IPS", "10.0.0.1"));

    assertThat(env.variables())
        .containsEntry("PYTHONUNBUFFERED", "true")
        .containsEntry("HOME", "/app")
        .containsEntry("FORWARDED_ALLOW_IPS", "*");
  }

  @Test
  void dependencyScriptsArePrependedToTheAppsPath() {
    RuntimeEnvironment env = RuntimeEnvironment.forApp(Map.of("PATH", "/app/bin:/usr/bin:/bin"));

    assertThat(env.variables()).containsEntry("PATH", "/opt/kiln/deps/bin:/app/bin:/usr/bin:/bin");
  }

  @Test
  void unsetWebConcurrencyIsLeftToTheLauncher() {
    assertThat(RuntimeEnvironment.forApp(Map.of()).variables())
        .doesNotContainKey("WEB_CONCURRENCY");
  }

  @Test
  void portOutsideTheTcpRangeIsRejected() {
    assertThatThrownBy(() -> RuntimeEnvironment.forApp(Map.of("PORT", "70000")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("PORT is '70000'")
        .hasMessageContaining("1 to 65535");
  }

  @Test
  void variableNamesMustBeShellNames() {
    assertThatThrownBy(() -> RuntimeEnvironment.forApp(Map.of("MY-VAR", "x")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'MY-VAR' is not valid");
  }
}
