package dev.kiln.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.events.BuildIds;
import dev.kiln.events.BuildTask;
import dev.kiln.events.TaskKind;
import dev.kiln.testkit.GitRepo;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** A push whose build outlasts the git remote's wait, and the push that follows it again. */
@ExtendWith(SharedKafka.class)
class GitRemoteTimeoutKafkaTest {
  @TempDir Path tmp;

  @Test
  void aBuildLongerThanTheWaitRejectsThePushAndAPushAgainFollowsItToItsEnd() throws Exception {
    AtomicBoolean detectAnswers = new AtomicBoolean(false);
    try (Harness harness = new Harness()) {
      ScriptedWorkers workers =
          harness.workers(
              task -> detectAnswers.get() ? ScriptedWorkers.succeedEverything(task) : null);
      Path sourceRoot = tmp.resolve("repos");
      CoordinatorVerticle coordinator =
          new CoordinatorVerticle(harness.config().withSourceRoot(sourceRoot))
              .withGitRemote(new GitRemoteConfig(1024 * 1024, Duration.ofSeconds(3), 2));
      harness.deploy(coordinator);
      String remote =
          "http://git:"
              + TestSecurity.ACME_TOKEN
              + "@127.0.0.1:"
              + coordinator.actualHttpPort()
              + "/git/acme/web.git";
      GitRepo repo = GitRepo.init(tmp.resolve("web"));
      String commit = repo.commit(Map.of("app.py", "print('hi')\n"), "the app");
      String buildId = BuildIds.of("acme", "web", commit);

      String[] first = push(repo.dir(), remote, line -> {});

      assertThat(first[0]).as(first[1]).isEqualTo("1");
      assertThat(first[1])
          .contains(
              "remote:  !     No result after 3 s; the build carries on: `kiln status " + buildId)
          .contains("[remote rejected] main -> main (build still running)");
      assertThat(harness.tasksSeen(TaskKind.DETECT)).hasSize(1);

      // The worker finishes the step; the same commit pushed again follows the same build.
      detectAnswers.set(true);
      BuildTask detect = harness.tasksSeen(TaskKind.DETECT).get(0);
      // The step ends once the second push says it follows the build: no sleeping, no race.
      String[] second =
          push(
              repo.dir(),
              remote,
              line -> {
                if (line.contains("of this commit is running; following it")) {
                  Awaits.await(workers.publish(ScriptedWorkers.succeedEverything(detect)));
                }
              });

      assertThat(second[0]).as(second[1]).isEqualTo("0");
      assertThat(second[1])
          .contains("remote: -----> Build " + buildId + " of this commit is running; following it")
          .contains("remote: -----> Digest: sha256:")
          .contains("* [new branch]      main -> main");
      assertThat(harness.tasksSeen(TaskKind.DETECT)).hasSize(1);
    }
  }

  /** {exit code, output} of a git push of main; each output line is seen as it comes. */
  private static String[] push(Path dir, String remote, Consumer<String> onLine) throws Exception {
    ProcessBuilder builder =
        new ProcessBuilder(List.of("git", "push", remote, "main"))
            .directory(dir.toFile())
            .redirectErrorStream(true);
    builder.environment().put("GIT_TERMINAL_PROMPT", "0");
    builder.environment().put("GIT_CONFIG_NOSYSTEM", "1");
    builder.environment().put("GIT_CONFIG_GLOBAL", "/dev/null");
    Process process = builder.start();
    StringBuilder output = new StringBuilder();
    try (BufferedReader lines =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line = lines.readLine(); line != null; line = lines.readLine()) {
        output.append(line).append('\n');
        onLine.accept(line);
      }
    }
    assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
    return new String[] {Integer.toString(process.exitValue()), output.toString()};
  }
}
