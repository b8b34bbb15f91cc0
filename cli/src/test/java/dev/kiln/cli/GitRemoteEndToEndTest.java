package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.testkit.GitRepo;
import dev.kiln.testkit.LocalRegistry;
import dev.kiln.testkit.PythonBuildTools;
import dev.kiln.testkit.StaticIndexServer;
import dev.kiln.testkit.WheelBuilder;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code git push} to the git remote of a whole farm ({@code kiln up}'s: embedded broker, real
 * workers fetching the pushed commit from the farm's bare repository, real installs from a local
 * index, the offline Debian runtime, Debian's registry as the target).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GitRemoteEndToEndTest {
  @TempDir static Path temp;
  private StaticIndexServer index;
  private LocalRegistry registry;
  private Farm farm;
  private FarmSettings settings;
  private final StringWriter farmLog = new StringWriter();

  @BeforeAll
  void startFarm() throws Exception {
    Path wheels = Files.createDirectories(temp.resolve("wheels"));
    PythonBuildTools.copyTo(wheels);
    WheelBuilder.wheel("helper-lib", "0.5")
        .module("helper_lib/__init__.py", "NAME = 'helper'\n")
        .writeTo(wheels);
    index = StaticIndexServer.start(wheels);
    registry = LocalRegistry.start();
    settings =
        FarmSettings.local(
            temp.resolve("home"), index.indexUrl(), registry.address(), 2, "offline");
    farm = Farm.start(settings, farmLog::append);
  }

  @AfterAll
  void stopFarm() throws Exception {
    if (farm != null) {
      farm.close();
    }
    if (registry != null) {
      registry.close();
    }
    if (index != null) {
      index.close();
    }
  }

  private record GitResult(int exit, String output) {}

  /** git push with the farm's operator token (kiln up creates the tenant on its first push). */
  private GitResult push(GitRepo repo, String tenant, String app) throws Exception {
    String token = FarmSecrets.loadOrCreate(settings.home()).operatorToken();
    String remote =
        farm.endpoints().coordinatorUrl().replaceFirst("^http://", "http://kiln:" + token + "@")
            + "/git/"
            + tenant
            + "/"
            + app
            + ".git";
    List<String> command = new ArrayList<>(List.of("git", "push", remote, "main"));
    ProcessBuilder builder =
        new ProcessBuilder(command).directory(repo.dir().toFile()).redirectErrorStream(true);
    builder.environment().put("GIT_TERMINAL_PROMPT", "0");
    builder.environment().put("GIT_CONFIG_NOSYSTEM", "1");
    builder.environment().put("GIT_CONFIG_GLOBAL", "/dev/null");
    Process process = builder.start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(10, TimeUnit.MINUTES)).isTrue();
    System.out.println(output); // what the pushing terminal shows
    return new GitResult(process.exitValue(), output);
  }

  @Test
  void gitPushBuildsTheAppAndShowsTheBuildLogAndDigest() throws Exception {
    GitRepo repo = GitRepo.init(temp.resolve("src/web"));
    String commit =
        repo.commit(
            Map.of(
                "app.py", "import helper_lib\n",
                "requirements.txt", "helper-lib==0.5\n",
                ".python-version", "3.11\n",
                "Procfile", "web: python app.py\n"),
            "the app");

    GitResult push = push(repo, "e2e", "web");

    assertThat(push.exit()).as(push.output() + "\nfarm:\n" + farmLog).isZero();
    assertThat(push.output())
        .contains("remote: -----> Building e2e/web main@" + commit.substring(0, 12))
        .contains("remote: -----> Image: " + registry.address() + "/e2e/web:")
        .containsPattern("remote: -----> Digest: sha256:[0-9a-f]{64}")
        .contains("* [new branch]      main -> main");
    // Lines of the workers' steps, not only the coordinator's.
    assertThat(push.output().lines().filter(l -> l.startsWith("remote: -----> ")).count())
        .isGreaterThan(4);
  }

  @Test
  void gitPushOfAnAppWhoseBuildFailsExitsNonZero() throws Exception {
    GitRepo repo = GitRepo.init(temp.resolve("src/missing"));
    repo.commit(
        Map.of(
            "app.py", "print('hi')\n",
            "requirements.txt", "no-such-package==1.0\n",
            ".python-version", "3.11\n",
            "Procfile", "web: python app.py\n"),
        "the app");

    GitResult push = push(repo, "e2e", "missing");

    assertThat(push.exit()).as(push.output()).isNotZero();
    assertThat(push.output())
        .contains("install::package-not-found")
        .contains("[remote rejected] main -> main (build failed)");
  }
}
