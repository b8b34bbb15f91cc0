package dev.kiln.buildpack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class AppSpecTest {
  private static final String WHOLE_SPEC =
      """
      name: shop
      region: ams
      services:
        - name: web
          source_dir: /
          run_command: gunicorn shop.wsgi
          envs:
            - key: DJANGO_SETTINGS_MODULE
              value: shop.settings
              scope: RUN_AND_BUILD_TIME
            - key: SECRET
              type: SECRET
              value: EV[1:abc]
      workers:
        - name: queue
          source_dir: worker
          dockerfile_path: worker/Dockerfile
          build_command: make assets
      """;

  @Test
  void topLevelComponentFieldsAreRead() throws Exception {
    AppSpec spec =
        AppSpec.fromYaml(
            """
        source_dir: services/api
        build_command: python manage.py compilemessages
        run_command: gunicorn api.wsgi
        envs:
          - key: LANG
            value: C.UTF-8
        """,
            null);
    assertThat(spec)
        .isEqualTo(
            new AppSpec(
                "services/api",
                null,
                "python manage.py compilemessages",
                "gunicorn api.wsgi",
                List.of(new AppSpec.Env("LANG", "C.UTF-8", AppSpec.Scope.RUN_AND_BUILD_TIME))));
  }

  @Test
  void wholeSpecUsesTheFirstServiceUnlessAComponentIsNamed() throws Exception {
    AppSpec first = AppSpec.fromYaml(WHOLE_SPEC, null);
    assertThat(first.sourceDir()).isEqualTo("/");
    assertThat(first.runCommand()).isEqualTo("gunicorn shop.wsgi");
    assertThat(first.runTimeEnv())
        .containsEntry("DJANGO_SETTINGS_MODULE", "shop.settings")
        .containsKey("SECRET");

    AppSpec worker = AppSpec.fromYaml(WHOLE_SPEC, "queue");
    assertThat(worker.sourceDir()).isEqualTo("worker");
    assertThat(worker.dockerfilePath()).isEqualTo("worker/Dockerfile");
    assertThat(worker.buildCommand()).isEqualTo("make assets");
    assertThat(worker.envs()).isEmpty();
  }

  @Test
  void envScopesDecideWhetherAVariableReachesTheBuildTheImageOrBoth() throws Exception {
    AppSpec spec =
        AppSpec.fromYaml(
            """
            envs:
              - key: SHARED
                value: app-level
              - key: OVERRIDDEN
                value: app-level
            services:
              - name: web
                envs:
                  - key: BOTH
                    value: b
                  - key: BUILD_ONLY
                    value: secret-token
                    scope: BUILD_TIME
                  - key: RUN_ONLY
                    value: r
                    scope: run_time
                  - key: OVERRIDDEN
                    value: component
                    scope: RUN_TIME
            """,
            null);

    assertThat(spec.buildTimeEnv())
        .containsOnlyKeys("SHARED", "BOTH", "BUILD_ONLY")
        .containsEntry("BUILD_ONLY", "secret-token");
    assertThat(spec.runTimeEnv())
        .containsOnlyKeys("SHARED", "BOTH", "RUN_ONLY", "OVERRIDDEN")
        .containsEntry("OVERRIDDEN", "component");
  }

  @Test
  void runTimeEnvsReachThePlanAndDefaultsStayWhereTheUserSetNothing(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path app) throws Exception {
    java.nio.file.Files.writeString(app.resolve("requirements.txt"), "");
    java.nio.file.Files.writeString(app.resolve("Procfile"), "web: python app.py\n");
    AppSpec spec =
        AppSpec.fromYaml(
            """
            envs:
              - key: PORT
                value: "9000"
                scope: RUN_TIME
              - key: LANG
                value: C.UTF-8
                scope: BUILD_TIME
              - key: FEATURE
                value: "on"
            """,
            null);
    PlanResult plan =
        new BuildPlanner(RuntimeCatalog.loadDefault())
            .plan(app, BuildInputs.builder().appSpec(spec).build());

    assertThat(plan.runtimeEnvironment())
        .containsEntry("PORT", "9000")
        .containsEntry("FEATURE", "on")
        .containsEntry("LANG", "en_US.UTF-8")
        .containsEntry("PYTHONUNBUFFERED", "true");
  }

  @Test
  void unknownComponentNameListsTheComponents() {
    assertThatThrownBy(() -> AppSpec.fromYaml(WHOLE_SPEC, "api"))
        .isInstanceOfSatisfying(
            BuildpackException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Codes.APP_SPEC_COMPONENT_NOT_FOUND);
              assertThat(e.getMessage()).contains("'api'").contains("web").contains("queue");
            });
  }

  @Test
  void emptyDocumentIsAnEmptySpec() throws Exception {
    assertThat(AppSpec.fromYaml("", null)).isEqualTo(AppSpec.empty());
    assertThat(AppSpec.fromYaml("# nothing\n", null)).isEqualTo(AppSpec.empty());
  }

  @Test
  void malformedSpecsFailWithAClearMessage() {
    assertInvalid("services: [\n", "not valid YAML");
    assertInvalid("- a\n- b\n", "top level must be a mapping");
    assertInvalid("services: web\n", "'services' must be a list");
    assertInvalid("run_command: [a, b]\n", "'run_command' in the top level must be a string");
    assertInvalid("envs:\n  - value: x\n", "needs a 'key'");
    assertInvalid(
        "envs:\n  - key: X\n    scope: SOMETIMES\n",
        "use RUN_TIME, BUILD_TIME or RUN_AND_BUILD_TIME");
    assertInvalid("envs:\n  - key: 1X\n", "not an environment variable name");
  }

  private static void assertInvalid(String yaml, String fragment) {
    assertThatThrownBy(() -> AppSpec.fromYaml(yaml, null))
        .isInstanceOfSatisfying(
            BuildpackException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Codes.APP_SPEC_INVALID);
              assertThat(e.getMessage()).contains(fragment);
            });
  }
}
