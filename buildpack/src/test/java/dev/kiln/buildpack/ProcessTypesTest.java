package dev.kiln.buildpack;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every process type a Procfile or an app spec names ends up in the plan, web first. */
class ProcessTypesTest {
  @TempDir Path app;

  private void write(String name, String content) throws IOException {
    Files.writeString(app.resolve(name), content);
  }

  private PlanResult plan(AppSpec spec) {
    return new BuildPlanner(RuntimeCatalog.loadDefault())
        .plan(app, BuildInputs.builder().appSpec(spec).build());
  }

  @Test
  void everyProcfileTypeIsRecordedAndWebIsTheRunCommand() throws Exception {
    write("requirements.txt", "gunicorn\n");
    write(
        "Procfile",
        "worker: celery -A shop worker\nweb: gunicorn shop.wsgi\n# a comment\n"
            + "release: python manage.py migrate\nworker: ignored second line\n");

    PlanResult plan = plan(AppSpec.empty());

    assertThat(plan.run().command()).isEqualTo("gunicorn shop.wsgi");
    assertThat(plan.processes())
        .containsExactly(
            Map.entry("web", "gunicorn shop.wsgi"),
            Map.entry("worker", "celery -A shop worker"),
            Map.entry("release", "python manage.py migrate"));
    assertThat(String.join("\n", plan.logLines())).contains("Process types: web, worker, release");
  }

  @Test
  void theAppSpecsWorkersAndJobsOnTheSameSourceAreProcessesToo() throws Exception {
    write("requirements.txt", "gunicorn\n");
    write("Procfile", "web: gunicorn app:app\n");
    AppSpec spec =
        AppSpec.fromYaml(
            """
            services:
              - name: web
                run_command: gunicorn app:app --workers 2
            workers:
              - name: queue
                run_command: python worker.py
              - name: other-repo
                source_dir: elsewhere
                run_command: python other.py
              - name: containerised
                dockerfile_path: Dockerfile.worker
                run_command: ./run
            jobs:
              - name: migrate
                source_dir: /
                run_command: python manage.py migrate
            """,
            "web");

    PlanResult plan = plan(spec);

    assertThat(plan.processes())
        .containsExactly(
            Map.entry("web", "gunicorn app:app --workers 2"),
            Map.entry("queue", "python worker.py"),
            Map.entry("migrate", "python manage.py migrate"));
  }
}
