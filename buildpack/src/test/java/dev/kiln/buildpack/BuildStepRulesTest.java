package dev.kiln.buildpack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BuildStepRulesTest {
  @TempDir Path app;

  private static final Predicate<String> NOTHING_INSTALLED = module -> false;

  private static Predicate<String> installed(String... modules) {
    return Set.of(modules)::contains;
  }

  private void write(String path, String content) throws Exception {
    Files.createDirectories(app.resolve(path).getParent());
    Files.writeString(app.resolve(path), content);
  }

  @Test
  void anAppWithoutHooksDjangoNltkOrBuildCommandHasNoSteps() throws Exception {
    write("app.py", "");
    BuildStepRules.Plan plan = BuildStepRules.plan(app, Map.of(), NOTHING_INSTALLED, null);
    assertThat(plan.isEmpty()).isTrue();
    assertThat(plan.notes()).isEmpty();
    assertThat(plan.warnings()).isEmpty();
  }

  @Test
  void stepsComeInTheBuildpacksOrder() throws Exception {
    write("bin/pre_compile", "echo pre\n");
    write("bin/post_compile", "echo post\n");
    write("nltk.txt", "stopwords\n\n# comment\npunkt\nstopwords\n");
    write("manage.py", "");
    BuildStepRules.Plan plan =
        BuildStepRules.plan(app, Map.of(), installed("django", "nltk"), "  make assets ");

    assertThat(plan.preCompile())
        .contains(new BuildStepRules.Hook("pre_compile", "bin/pre_compile"));
    assertThat(plan.afterInstall())
        .containsExactly(
            new BuildStepRules.NltkDownload(java.util.List.of("stopwords", "punkt")),
            new BuildStepRules.Collectstatic("manage.py"),
            new BuildStepRules.Hook("post_compile", "bin/post_compile"),
            new BuildStepRules.BuildCommand("make assets"));
  }

  @Test
  void collectstaticIsSilentlySkippedWithoutDjango() throws Exception {
    write("manage.py", "");
    BuildStepRules.Plan plan = BuildStepRules.plan(app, Map.of(), NOTHING_INSTALLED, null);
    assertThat(plan.afterInstall()).isEmpty();
    assertThat(plan.notes()).isEmpty();
  }

  @Test
  void collectstaticFindsTheShallowestManagePyWithinThreeLevels() throws Exception {
    write("b/manage.py", "");
    write("a/deeper/manage.py", "");
    assertThat(BuildStepRules.manageFile(app)).contains("b/manage.py");
    write("a/manage.py", "");
    assertThat(BuildStepRules.manageFile(app)).contains("a/manage.py");

    Files.delete(app.resolve("a/manage.py"));
    Files.delete(app.resolve("b/manage.py"));
    Files.delete(app.resolve("a/deeper/manage.py"));
    write("one/two/three/manage.py", "");
    BuildStepRules.Plan plan = BuildStepRules.plan(app, Map.of(), installed("django"), null);
    assertThat(plan.afterInstall()).isEmpty();
    assertThat(plan.notes())
        .containsExactly("Skipping Django collectstatic since no manage.py file found.");
  }

  @Test
  void disableCollectstaticSkipsItUnlessEmptyOrZero() throws Exception {
    write("manage.py", "");
    for (String off : new String[] {"1", "true", "yes"}) {
      BuildStepRules.Plan plan =
          BuildStepRules.plan(app, Map.of("DISABLE_COLLECTSTATIC", off), installed("django"), null);
      assertThat(plan.afterInstall()).isEmpty();
      assertThat(plan.notes()).singleElement().asString().contains("DISABLE_COLLECTSTATIC is set");
    }
    for (String on : new String[] {"", "0"}) {
      BuildStepRules.Plan plan =
          BuildStepRules.plan(app, Map.of("DISABLE_COLLECTSTATIC", on), installed("django"), null);
      assertThat(plan.afterInstall())
          .containsExactly(new BuildStepRules.Collectstatic("manage.py"));
    }
  }

  @Test
  void theLegacyDisableFileSkipsCollectstaticWithADeprecationWarning() throws Exception {
    write("manage.py", "");
    write(".heroku/collectstatic_disabled", "");
    BuildStepRules.Plan plan = BuildStepRules.plan(app, Map.of(), installed("django"), null);
    assertThat(plan.afterInstall()).isEmpty();
    assertThat(plan.warnings())
        .singleElement()
        .extracting(Diagnostic::code)
        .isEqualTo(Codes.COLLECTSTATIC_DISABLED_FILE_DEPRECATED);
  }

  @Test
  void nltkWithoutNltkTxtWarnsAndNltkTxtWithoutNltkDoesNothing() throws Exception {
    BuildStepRules.Plan noList = BuildStepRules.plan(app, Map.of(), installed("nltk"), null);
    assertThat(noList.afterInstall()).isEmpty();
    assertThat(noList.warnings())
        .extracting(Diagnostic::code)
        .containsExactly(Codes.NLTK_NO_NLTK_TXT);

    write("nltk.txt", "stopwords\n");
    BuildStepRules.Plan noNltk = BuildStepRules.plan(app, Map.of(), NOTHING_INSTALLED, null);
    assertThat(noNltk.afterInstall()).isEmpty();
    assertThat(noNltk.warnings()).isEmpty();
  }

  @Test
  void anNltkTxtLineThatIsNotACorpusIdIsACodedFailure() throws Exception {
    write("nltk.txt", "stopwords\n../../etc/passwd\n");
    assertThatThrownBy(() -> BuildStepRules.plan(app, Map.of(), installed("nltk"), null))
        .isInstanceOfSatisfying(
            BuildpackException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Codes.NLTK_INVALID_CORPUS_NAME);
              assertThat(e.getMessage()).contains("../../etc/passwd");
            });
  }

  @Test
  void aHookThatLinksOutOfTheAppIsNotAHook() throws Exception {
    Path outside = Files.createTempFile("outside", ".sh");
    Files.createDirectories(app.resolve("bin"));
    Files.createSymbolicLink(app.resolve("bin/post_compile"), outside);
    assertThat(BuildStepRules.plan(app, Map.of(), NOTHING_INSTALLED, null).afterInstall())
        .isEmpty();
    Files.delete(outside);
  }

  @Test
  void buildStepsGetTheBuildEnvironmentButNotPathOrPythonHome() {
    Map<String, String> env =
        BuildStepEnvironment.forSteps(
            Map.of(
                "SECRET_KEY",
                "s3cret",
                "PATH",
                ".:/evil",
                "PYTHONHOME",
                "/x",
                "LANG",
                "de_DE.UTF-8"));
    assertThat(env)
        .containsEntry("SECRET_KEY", "s3cret")
        .containsEntry("LANG", "de_DE.UTF-8")
        .containsEntry("PYTHONUNBUFFERED", "1")
        .containsEntry("PATH", "/opt/kiln/deps/bin:/usr/local/bin:/usr/bin:/bin")
        .containsEntry("PYTHONPATH", "/app:/opt/kiln/deps")
        .doesNotContainKey("PYTHONHOME");
    assertThat(env.get("PATH").split(":")).doesNotContain(".", "");
  }
}
