package dev.kiln.buildpack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RuntimeCatalogTest {
  @TempDir Path temp;

  @Test
  void defaultCatalogIsTheAppPlatformList() {
    RuntimeCatalog catalog = RuntimeCatalog.loadDefault();
    assertThat(catalog.defaultMinor()).isEqualTo("3.13");
    assertThat(catalog.minors()).containsExactly("3.9", "3.10", "3.11", "3.12", "3.13");
    assertThat(catalog.patches("3.9")).first().isEqualTo("3.9.12");
    assertThat(catalog.patches("3.9")).last().isEqualTo("3.9.20");
    assertThat(catalog.patches("3.10")).hasSize(12).startsWith("3.10.4").endsWith("3.10.15");
    assertThat(catalog.patches("3.11")).hasSize(11);
    assertThat(catalog.newestPatch("3.12")).contains("3.12.7");
    assertThat(catalog.newestPatch("3.13")).contains("3.13.5");
    assertThat(catalog.newestPatch("3.14")).isEmpty();
    assertThat(catalog.imageFor("3.12.7"))
        .contains("docker.io/library/python:3.12.7-slim-bookworm");
    assertThat(catalog.imageFor("3.10.4")).contains("docker.io/library/python:3.10.4-slim");
    assertThat(catalog.imageFor("3.12")).isEmpty();
    assertThat(catalog.imageFor("3.12.8")).isEmpty();
    assertThat(catalog.isDeprecated("3.9")).isTrue();
    assertThat(catalog.isDeprecated("3.10")).isFalse();
  }

  @Test
  void defaultCatalogSaysWhichGlibcEachImageHas() {
    RuntimeCatalog catalog = RuntimeCatalog.loadDefault();
    assertThat(catalog.runtimeFor("3.12.7"))
        .contains(
            new RuntimeCatalog.Runtime(
                "3.12.7", "docker.io/library/python:3.12.7-slim-bookworm", "2.36"));
    // Older -slim tags were bullseye: the catalog promises only what every one of them has.
    assertThat(catalog.runtimeFor("3.10.4").orElseThrow().glibc()).isEqualTo("2.31");
    assertThat(catalog.runtimeFor("3.12")).isEmpty();
  }

  @Test
  void offlineCatalogListsExactlyTheDebianSuitesKilnCanBuild() {
    RuntimeCatalog catalog = RuntimeCatalog.loadOffline();
    assertThat(catalog.runtimes())
        .containsExactly(
            new RuntimeCatalog.Runtime("3.9.2", "debootstrap:bullseye", "2.31"),
            new RuntimeCatalog.Runtime("3.11.2", "debootstrap:bookworm", "2.36"),
            new RuntimeCatalog.Runtime("3.13.5", "debootstrap:trixie", "2.41"),
            new RuntimeCatalog.Runtime("3.14.8", "debootstrap:forky", "2.43"));
    assertThat(catalog.defaultMinor()).isEqualTo("3.13");
    assertThat(catalog.newestPatch("3.11")).contains("3.11.2");
    assertThat(catalog.patches("3.12")).isEmpty();
    assertThat(catalog.isDeprecated("3.9")).isTrue();
  }

  @Test
  void offlineMinorResolvesToTheVersionTheImageReallyHas() throws Exception {
    PlanResult plan = planWith(RuntimeCatalog.loadOffline(), "3.11\n");
    assertThat(plan.error()).isEmpty();
    assertThat(plan.python().version()).isEqualTo("3.11.2");
    assertThat(plan.runtime())
        .isEqualTo(new RuntimeCatalog.Runtime("3.11.2", "debootstrap:bookworm", "2.36"));
    assertThat(plan.toJson()).contains("\"glibc\" : \"2.36\"");
    assertThat(plan.logLines()).anySatisfy(line -> assertThat(line).contains("Python 3.11.2"));
  }

  @Test
  void offlineVersionsWithoutADebianSuiteAreNotAvailableAndSayWhatIs() throws Exception {
    PlanResult minor = planWith(RuntimeCatalog.loadOffline(), "3.12\n");
    assertThat(minor.error().orElseThrow().code()).isEqualTo(Codes.PYTHON_VERSION_NOT_AVAILABLE);
    assertThat(minor.error().orElseThrow().message())
        .contains("no Python 3.12")
        .contains("3.9, 3.11, 3.13, 3.14");

    PlanResult patch = planWith(RuntimeCatalog.loadOffline(), "3.11.10\n");
    assertThat(patch.error().orElseThrow().code()).isEqualTo(Codes.PYTHON_VERSION_NOT_AVAILABLE);
    assertThat(patch.error().orElseThrow().message()).contains("Available 3.11 versions: 3.11.2");
  }

  @Test
  void addingAPythonVersionIsOnlyCatalogData() throws Exception {
    Path file = temp.resolve("catalog.json");
    Files.writeString(
        file,
        """
        {"extends": "offline", "defaultMinor": "3.14",
         "runtimes": [{"python": "3.14.10", "image": "debootstrap:sid", "glibc": "2.43"}],
         "images": {"3.13.5": {"image": "registry:mirror.local/python:3.13.5", "glibc": "2.36"}}}
        """);
    RuntimeCatalog catalog = RuntimeCatalog.load(file);
    assertThat(catalog.newestPatch("3.14")).contains("3.14.10");
    assertThat(catalog.runtimeFor("3.14.10"))
        .contains(new RuntimeCatalog.Runtime("3.14.10", "debootstrap:sid", "2.43"));
    assertThat(catalog.runtimeFor("3.14.8").orElseThrow().image()).isEqualTo("debootstrap:forky");
    assertThat(catalog.runtimeFor("3.13.5"))
        .contains(
            new RuntimeCatalog.Runtime("3.13.5", "registry:mirror.local/python:3.13.5", "2.36"));
    assertThat(planWith(catalog, "").python().version()).isEqualTo("3.14.10");
  }

  @Test
  void operatorFileExtendingTheDefaultAddsAMinorAndPinsImages() throws Exception {
    Path file = temp.resolve("catalog.json");
    Files.writeString(
        file,
        """
        {"extends": "default", "defaultMinor": "3.14",
         "minors": {"3.14": {"patches": "0-1", "imageTemplate": "registry:mirror.local/python:{version}"}},
         "images": {"3.12.7": "tar:/images/python-3.12.7.tar", "3.11": "docker:python-3.11"}}
        """);
    RuntimeCatalog catalog = RuntimeCatalog.load(file);
    assertThat(catalog.defaultMinor()).isEqualTo("3.14");
    assertThat(catalog.newestPatch("3.14")).contains("3.14.1");
    assertThat(catalog.imageFor("3.14.0")).contains("registry:mirror.local/python:3.14.0");
    assertThat(catalog.imageFor("3.12.7")).contains("tar:/images/python-3.12.7.tar");
    assertThat(catalog.imageFor("3.11.3")).contains("docker:python-3.11");
    assertThat(catalog.imageFor("3.9.20")).contains("docker.io/library/python:3.9.20-slim");
  }

  @Test
  void operatorFileWithoutExtendsReplacesTheCatalog() throws Exception {
    Path file = temp.resolve("catalog.json");
    Files.writeString(
        file,
        """
        {"schemaVersion": 1, "defaultMinor": "3.12", "imageTemplate": "registry:r/python:{version}",
         "minors": {"3.12": {"patches": ["0-2", 7]}}}
        """);
    RuntimeCatalog catalog = RuntimeCatalog.load(file);
    assertThat(catalog.minors()).containsExactly("3.12");
    assertThat(catalog.patches("3.12")).containsExactly("3.12.0", "3.12.1", "3.12.2", "3.12.7");
  }

  @Test
  void plannerUsesTheCatalogItIsGiven() throws Exception {
    RuntimeCatalog catalog =
        RuntimeCatalog.loadDefault().withOverride("3.14.0", "registry:r/python:3.14.0");
    Path app = Files.createDirectories(temp.resolve("app"));
    Files.writeString(app.resolve(".python-version"), "3.14\n");
    Files.writeString(app.resolve("requirements.txt"), "");
    Files.writeString(app.resolve("Procfile"), "web: python -m http.server $PORT\n");
    PlanResult plan = new BuildPlanner(catalog).plan(app, BuildInputs.defaults());
    assertThat(plan.error()).isEmpty();
    assertThat(plan.python().version()).isEqualTo("3.14.0");
    assertThat(plan.runtimeImage()).isEqualTo("registry:r/python:3.14.0");
  }

  @Test
  void overrideOfAMinorChangesEveryPatchAndUnknownMinorIsRefused() {
    RuntimeCatalog catalog = RuntimeCatalog.loadDefault().withOverride("3.13", "docker:py313");
    assertThat(catalog.imageFor("3.13.0")).contains("docker:py313");
    assertThat(catalog.imageFor("3.13.5")).contains("docker:py313");
    assertThat(RuntimeCatalog.loadDefault().imageFor("3.13.5"))
        .isNotEqualTo(catalog.imageFor("3.13.5"));
    assertThatThrownBy(() -> catalog.withOverride("3.15", "x"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> catalog.withOverride("latest", "x"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void invalidCatalogFilesFailWithACodeAndSayWhatIsWrong() throws Exception {
    assertInvalid("{not json", "not valid JSON");
    assertInvalid("[]", "JSON object");
    assertInvalid(
        "{\"defaultMinor\": \"3.12\", \"imageTemplate\": \"x:{version}\", \"minors\": {\"3.12\": {\"patches\": \"7-2\"}}}",
        "'7-2' is not a number or a range");
    assertInvalid(
        "{\"defaultMinor\": \"3.13\", \"imageTemplate\": \"x:{version}\", \"minors\": {\"3.12\": {\"patches\": \"0\"}}}",
        "default minor 3.13 has no versions");
    assertInvalid(
        "{\"defaultMinor\": \"3.12\", \"minors\": {\"3.12\": {\"patches\": \"0\"}}}",
        "no imageTemplate");
    assertInvalid("{\"defaultMinor\": \"3.12.1\"}", "not a minor version");
    assertInvalid("{\"extends\": \"other\"}", "\"extends\" can only be \"default\" or \"offline\"");
    assertInvalid(
        "{\"defaultMinor\": \"3.12\", \"runtimes\": [{\"python\": \"3.12\", \"image\": \"x\"}]}",
        "the exact version its image contains");
    assertInvalid(
        "{\"defaultMinor\": \"3.12\", \"runtimes\": [{\"python\": \"3.12.1\"}]}",
        "needs an \"image\"");
    assertInvalid(
        "{\"defaultMinor\": \"3.12\", \"runtimes\": [{\"python\": \"3.12.1\", \"image\": \"x\", \"glibc\": \"bookworm\"}]}",
        "ldd --version");
    assertInvalid("{\"defaultMinor\": \"3.12\", \"runtimes\": {}}", "must be a list");
  }

  private PlanResult planWith(RuntimeCatalog catalog, String pythonVersionFile) throws Exception {
    Path app = Files.createDirectories(temp.resolve("app-" + System.nanoTime()));
    if (!pythonVersionFile.isEmpty()) {
      Files.writeString(app.resolve(".python-version"), pythonVersionFile);
    }
    Files.writeString(app.resolve("requirements.txt"), "");
    Files.writeString(app.resolve("Procfile"), "web: python -m http.server $PORT\n");
    return new BuildPlanner(catalog).plan(app, BuildInputs.defaults());
  }

  @Test
  void missingCatalogFileIsUnreadable() {
    assertThatThrownBy(() -> RuntimeCatalog.load(temp.resolve("nope.json")))
        .isInstanceOfSatisfying(
            BuildpackException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Codes.RUNTIME_CATALOG_UNREADABLE);
              assertThat(e.getMessage()).contains("KILN_RUNTIME_CATALOG");
            });
  }

  private void assertInvalid(String json, String fragment) throws Exception {
    Path file = Files.writeString(temp.resolve("bad.json"), json);
    assertThatThrownBy(() -> RuntimeCatalog.load(file))
        .isInstanceOfSatisfying(
            BuildpackException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Codes.RUNTIME_CATALOG_INVALID);
              assertThat(e.getMessage()).contains(fragment).contains("docs/buildpack.md");
            });
  }
}
