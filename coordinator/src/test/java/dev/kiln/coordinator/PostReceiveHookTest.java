package dev.kiln.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.events.BuildIds;
import dev.kiln.events.ImageReady;
import dev.kiln.testkit.GitRepo;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deploy/hooks/post-receive} in a real bare repository: a real {@code git push} to it runs
 * the hook, which asks a running coordinator to build the pushed branch.
 */
@ExtendWith(SharedKafka.class)
class PostReceiveHookTest {
  private static final Path HOOK = Path.of("..", "deploy", "hooks", "post-receive");

  @TempDir static Path tmp;

  private static Harness harness;
  private static Path sourceRoot;
  private static int port;

  @BeforeAll
  static void startFarm() throws Exception {
    harness = new Harness();
    sourceRoot = tmp.resolve("repos");
    harness.workers(ScriptedWorkers::succeedEverything);
    CoordinatorVerticle coordinator =
        new CoordinatorVerticle(harness.config().withSourceRoot(sourceRoot));
    harness.deploy(coordinator);
    port = coordinator.actualHttpPort();
  }

  @AfterAll
  static void stopFarm() {
    harness.close();
  }

  /** A bare repository of the tenant's, with the hook installed and configured. */
  private static Path bareRepository(String tenant, String app, String token) throws Exception {
    Path bare = sourceRoot.resolve(tenant).resolve(app + ".git");
    Files.createDirectories(bare);
    GitRepo.run(bare, "init", "--quiet", "--bare", "--initial-branch=main");
    Path hook = bare.resolve("hooks").resolve("post-receive");
    Files.createDirectories(hook.getParent());
    Files.copy(HOOK, hook, StandardCopyOption.REPLACE_EXISTING);
    Files.setPosixFilePermissions(hook, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path tokenFile = tmp.resolve(tenant + "-" + app + ".token");
    Files.writeString(tokenFile, token + "\n", StandardCharsets.UTF_8);
    GitRepo.run(bare, "config", "kiln.url", "http://127.0.0.1:" + port);
    GitRepo.run(bare, "config", "kiln.tenant", tenant);
    GitRepo.run(bare, "config", "kiln.tokenFile", tokenFile.toString());
    return bare;
  }

  private static String push(GitRepo repo, Path bare, String... refspecs) throws Exception {
    List<String> command = new ArrayList<>(List.of("git", "push", bare.toString()));
    command.addAll(List.of(refspecs));
    ProcessBuilder builder =
        new ProcessBuilder(command).directory(repo.dir().toFile()).redirectErrorStream(true);
    builder.environment().put("GIT_CONFIG_NOSYSTEM", "1");
    builder.environment().put("GIT_CONFIG_GLOBAL", "/dev/null");
    Process process = builder.start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).as(output).isZero(); // a post-receive hook never fails a push
    return output;
  }

  @Test
  void aPushToTheBareRepositoryBuildsEachUpdatedBranch() throws Exception {
    Path bare = bareRepository("acme", "hooked", TestSecurity.ACME_TOKEN);
    GitRepo repo = GitRepo.init(Files.createTempDirectory(tmp, "hooked-"));
    String main = repo.commit(Map.of("app.py", "print('main')\n"), "main");
    repo.git("checkout", "--quiet", "-b", "staging");
    String staging = repo.commit(Map.of("app.py", "print('staging')\n"), "staging");
    repo.git("tag", "v1");

    String output = push(repo, bare, "main", "staging", "v1");

    String mainBuild = BuildIds.of("acme", "hooked", main);
    String stagingBuild = BuildIds.of("acme", "hooked", staging);
    assertThat(output)
        .contains("remote: kiln: main: build " + mainBuild + " accepted")
        .contains("remote: kiln: staging: build " + stagingBuild + " accepted");
    await()
        .atMost(Duration.ofSeconds(60))
        .untilAsserted(
            () ->
                assertThat(harness.imageReady.bodies(ImageReady.class))
                    .extracting(ImageReady::buildId, ImageReady::ref)
                    .contains(
                        org.assertj.core.groups.Tuple.tuple(mainBuild, "refs/heads/main"),
                        org.assertj.core.groups.Tuple.tuple(stagingBuild, "refs/heads/staging")));
  }

  @Test
  void aRefusedPushSaysWhyInThePushersTerminal() throws Exception {
    Path bare = bareRepository("acme", "misconfigured", TestSecurity.GLOBEX_TOKEN);
    GitRepo repo = GitRepo.init(Files.createTempDirectory(tmp, "misconfigured-"));
    repo.commit(Map.of("app.py", "print('hi')\n"), "the app");

    String output = push(repo, bare, "main");

    assertThat(output)
        .contains("remote: kiln: main was not built (HTTP 403)")
        .contains("may push only for itself");
  }
}
