package dev.kiln.coordinator;

import dev.kiln.events.AppSpec;
import dev.kiln.events.BuildPlanSummary;
import dev.kiln.events.BuildTask;
import dev.kiln.events.CodedMessage;
import dev.kiln.events.DependencyLayer;
import dev.kiln.events.Digest;
import dev.kiln.events.PushEvent;
import dev.kiln.events.TaskResult;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Events as the pusher and the workers would send them. */
final class Fixtures {
  static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
  static final String OTHER_COMMIT = "89abcdef0123456789abcdef0123456789abcdef";
  static final String DEPENDENCY_KEY = "a".repeat(64);

  private Fixtures() {}

  static PushEvent push(String tenant, String app, String commit) {
    return new PushEvent(
        tenant,
        app,
        "file:///srv/git/" + tenant + "/" + app + ".git",
        "refs/heads/main",
        commit,
        new AppSpec(
            null, null, null, null, java.util.List.of(new AppSpec.EnvVar("DEBUG", "0", null))),
        Map.of("PIP_NO_CACHE", "1"),
        Instant.parse("2025-01-01T00:00:00Z"));
  }

  static PushEvent push() {
    return push("acme", "web", COMMIT);
  }

  static Digest digest(char c) {
    return Digest.of("sha256:" + String.valueOf(c).repeat(64));
  }

  static BuildPlanSummary plan(String packageManager) {
    return new BuildPlanSummary(
        "buildpack",
        ".",
        "3.12.7",
        "3.12",
        ".python-version",
        "docker.io/library/python:3.12.7-slim-bookworm",
        "2.36",
        packageManager,
        packageManager == null ? List.of() : List.of("requirements.txt"),
        "gunicorn app:app",
        "Procfile",
        Map.of("PORT", "8080"),
        List.of(new CodedMessage("runtime-txt::deprecated", "use .python-version")),
        null);
  }

  static BuildPlanSummary dockerfilePlan() {
    return new BuildPlanSummary(
        "dockerfile",
        ".",
        null,
        null,
        null,
        null,
        null,
        null,
        List.of(),
        null,
        null,
        Map.of(),
        List.of(),
        null);
  }

  static DependencyLayer layer(String key) {
    return new DependencyLayer(
        key, digest('c'), 12345, List.of("flask==3.0.0", "gunicorn==23.0.0"), false);
  }

  static TaskResult detected(BuildTask task, BuildPlanSummary plan, String dependencyKey) {
    return new TaskResult(
        task.buildId(),
        task.taskId(),
        task.kind(),
        task.attempt(),
        TaskResult.Outcome.SUCCEEDED,
        null,
        plan,
        dependencyKey,
        null,
        null,
        null,
        "worker-1",
        10);
  }

  static TaskResult installed(BuildTask task, DependencyLayer layer) {
    return new TaskResult(
        task.buildId(),
        task.taskId(),
        task.kind(),
        task.attempt(),
        TaskResult.Outcome.SUCCEEDED,
        null,
        null,
        task.dependencyKey(),
        layer,
        null,
        null,
        "worker-1",
        10);
  }

  static TaskResult assembled(BuildTask task, String image, Digest digest) {
    return new TaskResult(
        task.buildId(),
        task.taskId(),
        task.kind(),
        task.attempt(),
        TaskResult.Outcome.SUCCEEDED,
        null,
        null,
        null,
        null,
        image,
        digest,
        "worker-1",
        10);
  }

  static TaskResult failed(BuildTask task, String code, String message) {
    return TaskResult.failed(task, new CodedMessage(code, message), "worker-1", 10);
  }
}
