package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.events.PushEvent;
import dev.kiln.testkit.GitRepo;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;

/**
 * {@code deploy/compose.yaml} runs a farm from Kiln's image with docker-compose: a broker, the
 * cache-service, a coordinator and three workers, with secrets made by {@code deploy/make-env}.
 */
class ComposeFileTest {
  private static final Path DEPLOY = Path.of("../deploy").toAbsolutePath().normalize();
  private static final String ID = UUID.randomUUID().toString().substring(0, 8);
  private static final String TAG = "kiln:compose-" + ID;
  private static final String PROJECT = "kilntest" + ID;

  @TempDir static Path work;
  private static Map<String, String> environment;

  @BeforeAll
  static void startTheFarm() throws Exception {
    TestImages.requireDockerDaemon();
    if (run(List.of("docker-compose", "version"), Map.of()).exit != 0) {
      String how = "install it with apt-get install docker-compose (.ci/run does)";
      if ("true".equals(System.getenv("CI"))) {
        fail("CI=true but docker-compose is not installed; " + how);
      }
      assumeTrue(false, "docker-compose is not installed; " + how);
    }
    TestKilnImage.build(TAG, line -> {});
    Path env = work.resolve("farm.env");
    Result secrets = run(List.of(DEPLOY.resolve("make-env").toString(), env.toString()), Map.of());
    assertThat(secrets.exit).as(secrets.output).isZero();
    environment =
        Map.of(
            "KILN_IMAGE", TAG,
            "KILN_ENV_FILE", env.toString(),
            "KILN_HTTP_PUBLISH", String.valueOf(BrokerCommandTest.freePort()));
    // The repos volume (the git remote's pushes, read by the workers) is a host directory here, so
    // the test can also put repositories there for POST /v1/pushes: the same path in every
    // container, written by the coordinator, read-only for the workers, as the named volume is.
    Files.createDirectories(work.resolve("repos"));
    String repos = work.resolve("repos").toString();
    Files.writeString(
        work.resolve("repos.yaml"),
        "services:\n  coordinator:\n    volumes: ['"
            + repos
            + ":/var/lib/kiln/repos']\n"
            + java.util.stream.IntStream.rangeClosed(1, 3)
                .mapToObj(
                    i ->
                        "  worker-"
                            + i
                            + ":\n    volumes: ['"
                            + repos
                            + ":/var/lib/kiln/repos:ro']\n")
                .collect(java.util.stream.Collectors.joining()));
    Result up = compose("up", "-d");
    assertThat(up.exit).as(up.output + "\n" + compose("logs", "--no-color").output).isZero();
  }

  @AfterAll
  static void stopTheFarm() throws Exception {
    if (environment != null) {
      compose("down", "-v", "--timeout", "20");
    }
    if (DockerClientFactory.instance().isDockerAvailable()) {
      try {
        DockerClientFactory.instance().client().removeImageCmd(TAG).withForce(true).exec();
      } catch (RuntimeException notBuilt) {
        // Nothing to remove.
      }
    }
  }

  @Test
  void everyServiceComesUpAndTheCoordinatorAnswersWithTheGeneratedOperatorToken() throws Exception {
    Map<String, String> ready =
        Map.of(
            "broker", "The broker is up on broker:9092",
            "coordinator", "The coordinator is up",
            "cache-service", "The cache-service is up",
            "worker-1", "The worker worker-1 is up",
            "worker-2", "The worker worker-2 is up",
            "worker-3", "The worker worker-3 is up");
    await()
        .atMost(Duration.ofMinutes(5))
        .pollInterval(Duration.ofSeconds(2))
        .untilAsserted(
            () -> {
              for (Map.Entry<String, String> service : ready.entrySet()) {
                assertThat(compose("logs", "--no-color", service.getKey()).output)
                    .as(service.getKey())
                    .contains(service.getValue());
              }
            });

    String token =
        secret(
            Files.readAllLines(Path.of(environment.get("KILN_ENV_FILE"))), "KILN_OPERATOR_TOKEN");
    HttpResponse<String> builds =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create(
                            "http://127.0.0.1:"
                                + environment.get("KILN_HTTP_PUBLISH")
                                + "/v1/builds?tenant=compose"))
                    .header("Authorization", "Bearer " + token)
                    .timeout(Duration.ofSeconds(30))
                    .build(),
                HttpResponse.BodyHandlers.ofString());

    assertThat(builds.statusCode()).as(builds.body()).isEqualTo(200);
    assertThat(builds.body()).contains("\"builds\":[]");
  }

  /**
   * A build whose {@code bin/post_compile} runs in the sandbox: bubblewrap in a compose worker,
   * under Docker's masked {@code /proc}, with no more than the file's CAP_SYS_ADMIN and unconfined
   * seccomp/AppArmor. The step sees a {@code /proc} of its own, where it is process 1's child.
   */
  @Test
  void aPushedAppWithABuildStepBuildsInTheSandboxOfAComposeWorker() throws Exception {
    awaitUp("coordinator", "The coordinator is up");
    GitRepo repo = GitRepo.init(work.resolve("repos/steps/hello"));
    String commit =
        repo.commit(
            Map.of(
                "app.py", "print('hello from compose')\n",
                "requirements.txt", "",
                ".python-version", "3.11\n",
                "Procfile", "web: python app.py\n",
                "bin/post_compile",
                    "#!/bin/sh\nset -e\n"
                        + "echo \"sandbox init: $(cat /proc/1/comm)\" > /app/proc.txt\n"
                        + "test \"$(ls /proc | grep -c '^[0-9]')\" -lt 10\n"),
            "an app with a build step");
    CoordinatorClient coordinator =
        new CoordinatorClient(
            "http://127.0.0.1:" + environment.get("KILN_HTTP_PUBLISH"),
            secret(
                Files.readAllLines(Path.of(environment.get("KILN_ENV_FILE"))),
                "KILN_OPERATOR_TOKEN"));

    String buildId =
        coordinator
            .push(
                new PushEvent(
                    "steps",
                    "hello",
                    "file:///var/lib/kiln/repos/steps/hello",
                    "main",
                    commit,
                    null,
                    Map.of(),
                    Instant.now()))
            .buildId();

    JsonNode build =
        await()
            .atMost(Duration.ofMinutes(5))
            .pollInterval(Duration.ofSeconds(2))
            .until(
                () -> coordinator.get("/v1/builds/" + buildId),
                b -> Set.of("SUCCEEDED", "FAILED").contains(b.path("state").asText()));
    assertThat(build.path("state").asText())
        .as(build + "\n" + compose("logs", "--no-color", "--tail", "60").output)
        .isEqualTo("SUCCEEDED");
  }

  /**
   * {@code git push} to the coordinator's git remote: the coordinator stores the push in the shared
   * repos volume, a worker in another container builds it from there, and git shows the build log
   * and the digest.
   */
  @Test
  void aGitPushToTheCoordinatorBuildsOnAWorkerInAnotherContainer() throws Exception {
    awaitUp("coordinator", "The coordinator is up");
    awaitUp("worker-1", "The worker worker-1 is up");
    GitRepo repo = GitRepo.init(work.resolve("pushed"));
    repo.commit(
        Map.of(
            "app.py", "print('pushed with git')\n",
            "requirements.txt", "",
            ".python-version", "3.11\n",
            "Procfile", "web: python app.py\n"),
        "an app pushed with git");
    String token =
        secret(
            Files.readAllLines(Path.of(environment.get("KILN_ENV_FILE"))), "KILN_OPERATOR_TOKEN");
    String remote =
        "http://git:"
            + token
            + "@127.0.0.1:"
            + environment.get("KILN_HTTP_PUBLISH")
            + "/git/pushers/hello.git";

    Result push =
        run(
            List.of("git", "-C", repo.dir().toString(), "push", remote, "main"),
            Map.of("GIT_TERMINAL_PROMPT", "0"));

    assertThat(push.exit)
        .as(push.output + "\n" + compose("logs", "--no-color", "--tail", "60").output)
        .isZero();
    assertThat(push.output).contains("remote: -----> ").contains("remote: -----> Digest: sha256:");
  }

  @Test
  void attackFromABuildOnAWorkerFindsNeitherTheOperatorTokenNorTheSealingKeyInItsContainer()
      throws Exception {
    awaitUp("worker-1", "The worker worker-1 is up");
    List<String> secrets = Files.readAllLines(Path.of(environment.get("KILN_ENV_FILE")));
    String operatorToken = secret(secrets, "KILN_OPERATOR_TOKEN");
    String secretKey = secret(secrets, "KILN_SECRET_KEY");

    String worker = compose("exec", "-T", "worker-1", "env").output;
    String cacheService = compose("exec", "-T", "cache-service", "env").output;

    assertThat(worker)
        .contains("KILN_FARM_TOKEN=" + secret(secrets, "KILN_FARM_TOKEN"))
        .doesNotContain(operatorToken)
        .doesNotContain(secretKey);
    assertThat(cacheService).contains("KILN_SECRET_KEY=" + secretKey).doesNotContain(operatorToken);
  }

  private static String secret(List<String> lines, String name) {
    return lines.stream()
        .filter(line -> line.startsWith(name + "="))
        .findFirst()
        .orElseThrow()
        .substring(name.length() + 1);
  }

  private static void awaitUp(String service, String line) {
    await()
        .atMost(Duration.ofMinutes(5))
        .pollInterval(Duration.ofSeconds(2))
        .untilAsserted(
            () -> assertThat(compose("logs", "--no-color", service).output).contains(line));
  }

  @Test
  void makeEnvNeverOverwritesTheFarmsSecrets() throws Exception {
    Path env = Path.of(environment.get("KILN_ENV_FILE"));
    String before = Files.readString(env);

    Result again = run(List.of(DEPLOY.resolve("make-env").toString(), env.toString()), Map.of());

    assertThat(again.exit).isEqualTo(1);
    assertThat(again.output).contains("exists");
    assertThat(Files.readString(env)).isEqualTo(before);
    assertThat(
            java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(env)))
        .isEqualTo("rw-------");
  }

  private static Result compose(String... arguments) throws IOException, InterruptedException {
    List<String> command =
        new ArrayList<>(
            List.of(
                "docker-compose",
                "-f",
                DEPLOY.resolve("compose.yaml").toString(),
                "-f",
                work.resolve("repos.yaml").toString(),
                "-p",
                PROJECT));
    command.addAll(List.of(arguments));
    return run(command, environment);
  }

  record Result(int exit, String output) {}

  private static Result run(List<String> command, Map<String, String> env)
      throws IOException, InterruptedException {
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
    builder.environment().putAll(env);
    Process process;
    try {
      process = builder.start();
    } catch (IOException notInstalled) {
      return new Result(127, notInstalled.getMessage());
    }
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(10, TimeUnit.MINUTES)) {
      process.destroyForcibly();
      fail(command + " did not finish within 10 minutes");
    }
    return new Result(process.exitValue(), output);
  }
}
