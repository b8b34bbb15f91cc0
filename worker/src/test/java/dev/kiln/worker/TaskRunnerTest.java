package dev.kiln.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.events.BuildTask;
import dev.kiln.events.TaskKind;
import dev.kiln.events.TaskResult;
import dev.kiln.testkit.GitRepo;
import dev.kiln.worker.fetch.SourceFetcher;
import dev.kiln.worker.fetch.SourceSnapshots;
import dev.kiln.worker.fs.BackgroundDeleter;
import dev.kiln.worker.steps.StepFailure;
import dev.kiln.worker.testsupport.RecordingLog;
import dev.kiln.worker.testsupport.Tasks;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TaskRunnerTest {
  @TempDir Path tmp;
  private BackgroundDeleter deleter;
  private BuildTask task;

  @BeforeEach
  void repository() throws Exception {
    deleter = new BackgroundDeleter(tmp.resolve("work/trash"));
    GitRepo repo = GitRepo.init(tmp.resolve("repos/acme/repo"));
    String commit = repo.commit(Map.of("requirements.txt", "\n"), "app");
    task = Tasks.detect("acme", "web", repo.url(), commit);
  }

  @AfterEach
  void close() {
    deleter.close();
  }

  private TaskRunner runner(TaskSteps steps) {
    return new TaskRunner(
        "w1",
        new SourceFetcher(
            tmp.resolve("work"),
            deleter,
            Duration.ofMinutes(1),
            tmp.resolve("repos"),
            dev.kiln.worker.fetch.FetchLimits.DEFAULT,
            Map.of()),
        new SourceSnapshots(
            tmp.resolve("work"),
            new dev.kiln.cache.client.CacheServiceClient("http://127.0.0.1:9")),
        steps);
  }

  @Test
  void aTaskKindWithoutAStepFailsAsUnsupported() {
    TaskResult result = runner(TaskSteps.none()).run(task, new RecordingLog());

    assertThat(result.outcome()).isEqualTo(TaskResult.Outcome.FAILED);
    assertThat(result.failure().code()).isEqualTo("worker::unsupported-task");
    assertThat(result.worker()).isEqualTo("w1");
  }

  @Test
  void aStepFailureKeepsItsCodeAndIsFramedInTheLog() {
    RecordingLog log = new RecordingLog();
    TaskResult result =
        runner(
                TaskSteps.none()
                    .with(
                        TaskKind.DETECT,
                        ctx -> {
                          throw new StepFailure(
                              "python-version::eol", "Python 2.7 is end of life.\nUse 3.12.");
                        }))
            .run(task, log);

    assertThat(result.failure().code()).isEqualTo("python-version::eol");
    assertThat(log.lines())
        .contains("ERROR  !     Error: python-version::eol", "ERROR  !     Use 3.12.");
  }

  @Test
  void aFailureTheStepAlreadyFramedInTheLogIsNotFramedAgain() {
    RecordingLog log = new RecordingLog();
    TaskResult result =
        runner(
                TaskSteps.none()
                    .with(
                        TaskKind.DETECT,
                        ctx -> {
                          ctx.log().error(" !     Error: No run command.");
                          throw StepFailure.alreadyShown(
                              "run-command::not-found", "No run command.");
                        }))
            .run(task, log);

    assertThat(result.failure().code()).isEqualTo("run-command::not-found");
    assertThat(String.join("\n", log.lines()).split("No run command", -1)).hasSize(2);
  }

  @Test
  void aStepThatReturnsAnIncompleteResultIsAnInternalError() {
    TaskResult result =
        runner(
                TaskSteps.none()
                    .with(TaskKind.DETECT, ctx -> new TaskOutput(null, null, null, null, null)))
            .run(task, new RecordingLog());

    assertThat(result.failure().code()).isEqualTo("worker::internal-error");
    assertThat(result.failure().message()).contains("plan");
  }

  @Test
  void aVeryLongFailureMessageIsCutToFitTheEvent() throws Exception {
    TaskResult result =
        runner(
                TaskSteps.none()
                    .with(
                        TaskKind.DETECT,
                        ctx -> {
                          throw new StepFailure("install::failed", "x".repeat(10_000));
                        }))
            .run(task, new RecordingLog());

    assertThat(result.failure().message()).hasSizeLessThanOrEqualTo(4000);
    result.validate();
  }
}
