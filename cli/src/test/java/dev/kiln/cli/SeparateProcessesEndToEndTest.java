package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.events.Digest;
import dev.kiln.testkit.GitRepo;
import dev.kiln.testkit.StaticIndexServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A farm of separate processes, started the way an operator (or compose) would: {@code kiln
 * broker}, {@code kiln coordinator}, {@code kiln cache-service}, two {@code kiln worker}s and
 * {@code kiln deployer}, sharing only Kafka, the cache-service URL and the farm's secrets. Pushed
 * apps build to images, and the deployer sees them.
 */
class SeparateProcessesEndToEndTest {
  private static final String PYTHON_APP = "app = None\n";

  @TempDir Path temp;

  @Test
  void aFarmOfOneProcessPerServiceBuildsPushedApps() throws Exception {
    Path wheels = Files.createDirectories(temp.resolve("wheels"));
    Path gunicorn =
        Files.copy(
            Path.of("..", "samples", "index", "files", "gunicorn-26.2.0-py3-none-any.whl")
                .toAbsolutePath()
                .normalize(),
            wheels.resolve("gunicorn-26.2.0-py3-none-any.whl"));
    String requirements = "gunicorn==26.2.0 --hash=sha256:" + Digest.compute(gunicorn).hex() + "\n";
    Path home = temp.resolve("home");
    FarmSecrets.loadOrCreate(home); // the operator makes the farm's secrets once and hands them on
    Path logs = Files.createDirectories(temp.resolve("logs"));
    String kafka = "127.0.0.1:" + BrokerCommandTest.freePort();
    int cachePort = BrokerCommandTest.freePort();
    String cacheUrl = "http://127.0.0.1:" + cachePort;

    try (StaticIndexServer index = StaticIndexServer.start(wheels);
        ServiceProcesses farm = new ServiceProcesses(logs)) {
      String[] common = {"--home", home.toString(), "--kafka", kafka};
      farm.start(
          "broker",
          "The broker is up on (\\S+)",
          "broker",
          "--data",
          temp.resolve("kafka").toString(),
          "--listen",
          kafka);
      // The coordinator creates the topics the cache-service reads its tenants from.
      String coordinatorUrl =
          farm.start(
                  "coordinator",
                  "The coordinator is up on (\\S+)",
                  args(common, "coordinator", "--http-port", "0", "--cache-url", cacheUrl))
              .found();
      farm.start(
          "cache-service",
          "The cache-service is up on (\\S+)",
          args(
              common,
              "cache-service",
              "--cache-port",
              String.valueOf(cachePort),
              "--upstream-index",
              index.indexUrl()));
      for (String id : new String[] {"worker-a", "worker-b"}) {
        farm.start(
            id,
            "The worker (\\S+) is up",
            args(
                common,
                "worker",
                "--cache-url",
                cacheUrl,
                "--worker-id",
                id,
                "--runtime-catalog",
                "offline",
                "--metrics-port",
                "0"));
      }
      Path deployments = temp.resolve("deployments.jsonl");
      farm.start(
          "deployer",
          "The deployer is up",
          args(common, "deployer", "--deployments", deployments.toString()));

      FarmEndpoints endpoints = new FarmEndpoints(kafka, coordinatorUrl, cacheUrl, "");
      for (String app : new String[] {"first", "second"}) {
        GitRepo repo = GitRepo.init(temp.resolve("src").resolve(app));
        repo.commit(
            Map.of(
                "requirements.txt",
                requirements,
                ".python-version",
                "3.11\n",
                "app.py",
                PYTHON_APP + "# " + app + "\n",
                "Procfile",
                "web: gunicorn app:app\n"),
            app);
        StringWriter log = new StringWriter();
        PushCommand.Result result =
            PushCommand.push(
                endpoints,
                home,
                repo.dir().toString(),
                "split",
                app,
                null,
                null,
                Map.of(),
                Duration.ofMinutes(5),
                new PrintWriter(log, true));

        assertThat(result.exitCode()).as(log + farm.logs()).isZero();
        assertThat(result.outcome().imageReady().image()).contains(app);
      }
      await()
          .atMost(Duration.ofMinutes(1))
          .untilAsserted(
              () ->
                  assertThat(Files.exists(deployments) ? Files.readString(deployments) : "")
                      .as(farm.logs())
                      .contains("\"app\":\"first\"")
                      .contains("\"app\":\"second\""));
    }
  }

  private static String[] args(String[] common, String command, String... more) {
    String[] all = new String[1 + common.length + more.length];
    all[0] = command;
    System.arraycopy(common, 0, all, 1, common.length);
    System.arraycopy(more, 0, all, 1 + common.length, more.length);
    return all;
  }
}
