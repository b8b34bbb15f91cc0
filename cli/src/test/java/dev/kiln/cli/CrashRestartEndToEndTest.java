package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.events.Digest;
import dev.kiln.events.EventCodec;
import dev.kiln.events.PushEvent;
import dev.kiln.testkit.GitRepo;
import dev.kiln.testkit.StaticIndexServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kiln up} killed with SIGKILL in the middle of a build, then started again on the same
 * home: the embedded broker's log survived, so the coordinator restores the build, re-issues its
 * current task, and the build finishes; the builds before the crash are still listed.
 */
class CrashRestartEndToEndTest {
  @TempDir Path temp;

  @Test
  void aFarmKilledMidBuildFinishesTheBuildWhenStartedAgain() throws Exception {
    Path wheels = Files.createDirectories(temp.resolve("wheels"));
    Path gunicorn =
        Files.copy(
            Path.of("..", "samples", "index", "files", "gunicorn-26.2.0-py3-none-any.whl")
                .toAbsolutePath()
                .normalize(),
            wheels.resolve("gunicorn-26.2.0-py3-none-any.whl"));
    String requirements = "gunicorn==26.2.0 --hash=sha256:" + Digest.compute(gunicorn).hex() + "\n";
    Path home = temp.resolve("home");
    try (StaticIndexServer index = StaticIndexServer.start(wheels)) {
      Process farm = startFarm(home, index.indexUrl());
      String first;
      String slow;
      try {
        first = push(home, "quick", requirements, null);
        awaitState(home, first, "SUCCEEDED", Duration.ofMinutes(5));
        // A post_compile hook that takes a while: the farm dies while it runs.
        slow = push(home, "slow", requirements, "#!/bin/sh\nsleep 20\necho done > built.txt\n");
        awaitState(home, slow, "ASSEMBLING", Duration.ofMinutes(5));
      } finally {
        farm.destroyForcibly().waitFor(); // SIGKILL: no shutdown hook, nothing flushed by us
      }
      assertThat(farm.exitValue()).isNotZero();

      Files.deleteIfExists(home.resolve("farm.json"));
      Process again = startFarm(home, index.indexUrl());
      try {
        JsonNode finished = awaitState(home, slow, "SUCCEEDED", Duration.ofMinutes(5));
        assertThat(finished.path("image").asText()).isNotEmpty();
        JsonNode list = get(home, "/v1/builds?tenant=crash");
        List<String> ids = new ArrayList<>();
        list.path("builds").forEach(b -> ids.add(b.path("buildId").asText()));
        assertThat(ids).contains(first, slow);
      } finally {
        again.destroy();
        again.waitFor();
      }
    }
  }

  private Process startFarm(Path home, String indexUrl) throws Exception {
    Path log = Files.createTempFile(temp, "farm", ".log");
    Process process =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName(),
                "up",
                "--home",
                home.toString(),
                "--http-port",
                "0",
                "--cache-port",
                "0",
                "--workers",
                "1",
                "--runtime-catalog",
                "offline",
                "--upstream-index",
                indexUrl)
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    await()
        .atMost(Duration.ofMinutes(5))
        .pollInterval(Duration.ofMillis(500))
        .failFast(
            "kiln up stopped: " + log, () -> !process.isAlive() && logOf(log).contains("Error"))
        .until(() -> Files.exists(home.resolve("farm.json")) && healthy(home));
    return process;
  }

  private static String logOf(Path log) {
    try {
      return Files.readString(log);
    } catch (Exception e) {
      return "";
    }
  }

  private String push(Path home, String app, String requirements, String postCompile)
      throws Exception {
    GitRepo repo = GitRepo.init(home.resolve("repos").resolve("crash").resolve(app));
    Map<String, String> files =
        postCompile == null
            ? Map.of(
                "requirements.txt", requirements,
                ".python-version", "3.11\n",
                "app.py", "app = None\n",
                "Procfile", "web: gunicorn app:app\n")
            : Map.of(
                "requirements.txt", requirements,
                ".python-version", "3.11\n",
                "app.py", "app = None\n",
                "Procfile", "web: gunicorn app:app\n",
                "bin/post_compile", postCompile);
    String commit = repo.commit(files, app);
    PushEvent push =
        new PushEvent("crash", app, repo.url(), "main", commit, null, Map.of(), Instant.now());
    return new CoordinatorClient(
            FarmEndpoints.read(home).coordinatorUrl(), FarmSecrets.clientToken(null, home))
        .push(push)
        .buildId();
  }

  private JsonNode awaitState(Path home, String buildId, String state, Duration timeout) {
    return await()
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(250))
        .until(
            () -> get(home, "/v1/builds/" + buildId),
            build -> {
              String now = build.path("state").asText();
              assertThat(now).as(build.toString()).isNotEqualTo("FAILED");
              return state.equals(now);
            });
  }

  private static boolean healthy(Path home) {
    try {
      HttpResponse<String> answer =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(
                          URI.create(FarmEndpoints.read(home).coordinatorUrl() + "/health"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      return answer.statusCode() == 200;
    } catch (Exception e) {
      return false;
    }
  }

  private static JsonNode get(Path home, String path) throws Exception {
    HttpResponse<String> answer =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(FarmEndpoints.read(home).coordinatorUrl() + path))
                    .header("Authorization", "Bearer " + FarmSecrets.clientToken(null, home))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    return EventCodec.mapper().readTree(answer.body());
  }
}
