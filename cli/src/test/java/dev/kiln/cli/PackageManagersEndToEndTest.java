package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.events.BuildFailed;
import dev.kiln.events.Digest;
import dev.kiln.events.ImageReady;
import dev.kiln.installer.lock.PipfileLock;
import dev.kiln.installer.lock.PoetryLock;
import dev.kiln.testkit.GitRepo;
import dev.kiln.testkit.ImageContents;
import dev.kiln.testkit.PythonBuildTools;
import dev.kiln.testkit.SdistBuilder;
import dev.kiln.testkit.StaticIndexServer;
import dev.kiln.testkit.WheelBuilder;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every package manager, installed by Kiln's own engine, built into an image that serves HTTP 200:
 * uv (virtual and packaged root), Poetry, Pipenv, pylock.toml, requirements pinned with hashes,
 * unpinned requirements, a setup.py-only app and {@code -e .}. The index is built here: the real
 * gunicorn and packaging wheels of {@code samples/index}, a wheel with a console script and {@code
 * .data/} files, a package that exists only as an sdist, a dev-only package no image may contain,
 * and pip, setuptools and wheel for the sandbox. Real broker, git, sandbox, bookworm runtime and
 * Docker.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PackageManagersEndToEndTest {
  private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(10);
  private static final String PYTHON = "3.11\n";

  /** The app every package manager installs: it needs greet-lib and, unless noted, only-source. */
  private static final String APP =
      """
      import greet_lib

      try:
          import only_source
          SOURCE = " / only-source %s" % only_source.VALUE
      except ImportError:
          SOURCE = ""


      def app(environ, start_response):
          body = (greet_lib.greeting() + SOURCE).encode()
          start_response("200 OK", [("Content-Type", "text/plain")])
          return [body]
      """;

  @TempDir static Path temp;
  private Path wheels;
  private StaticIndexServer index;
  private Farm farm;
  private TestPushes pushes;
  private final StringWriter farmLog = new StringWriter();
  private final Map<String, IndexFile> files = new LinkedHashMap<>();

  /** A file of the index: its name, version, sha256 and size. */
  private record IndexFile(
      String name, String version, String filename, String sha256, long size) {}

  @BeforeAll
  void startFarm() throws Exception {
    TestImages.requireDockerDaemon();
    wheels = Files.createDirectories(temp.resolve("wheels"));
    PythonBuildTools.copyTo(wheels);
    Path samples = Path.of("..", "samples", "index", "files").toAbsolutePath().normalize();
    add("gunicorn", "26.2.0", copy(samples.resolve("gunicorn-26.2.0-py3-none-any.whl")));
    add("packaging", "26.3", copy(samples.resolve("packaging-26.3-py3-none-any.whl")));
    add("greet-lib", "1.0", greetLib("1.0").writeTo(wheels));
    add(
        "only-source",
        "0.5",
        SdistBuilder.sdist("only-source", "0.5")
            .module("only_source/__init__.py", "VALUE = 5\n")
            .writeTo(wheels));
    add(
        "dev-only-lib",
        "1.0",
        WheelBuilder.wheel("dev-only-lib", "1.0")
            .module("dev_only_lib/__init__.py", "")
            .writeTo(wheels));
    add(
        "demo-extra",
        "3.0",
        WheelBuilder.wheel("demo-extra", "3.0")
            .module("demo_extra/__init__.py", "")
            .writeTo(wheels));
    index = StaticIndexServer.start(wheels);
    // Every resolution sees the index as it is now: the test adds a release half way.
    FarmSettings settings =
        FarmSettings.local(temp.resolve("home"), index.indexUrl(), null, 2, "offline")
            .withIndexPageTtl(Duration.ZERO);
    farm = Farm.start(settings, farmLog::append);
    pushes = new TestPushes(farm, settings, farmLog, BUILD_TIMEOUT);
  }

  @AfterAll
  void stopFarm() {
    if (farm != null) {
      farm.close();
    }
    if (index != null) {
      index.close();
    }
  }

  private static WheelBuilder greetLib(String version) {
    return WheelBuilder.wheel("greet-lib", version)
        .module(
            "greet_lib/__init__.py",
            "def greeting():\n    return 'hello from greet-lib "
                + version
                + "'\n\n\ndef main():\n    print(greeting())\n")
        .consoleScript("greet", "greet_lib:main")
        .file(
            "greet_lib-" + version + ".data/data/share/greet/banner.txt",
            ("greet-lib " + version + "\n").getBytes(StandardCharsets.UTF_8));
  }

  private Path copy(Path wheel) throws Exception {
    return Files.copy(wheel, wheels.resolve(wheel.getFileName()));
  }

  private void add(String name, String version, Path file) throws Exception {
    files.put(
        name,
        new IndexFile(
            name,
            version,
            file.getFileName().toString(),
            Digest.compute(file).hex(),
            Files.size(file)));
  }

  private IndexFile file(String name) {
    return files.get(name);
  }

  // ------------------------------------------------------------------ the apps

  @Test
  @Order(1)
  void requirementsPinnedWithHashesInstallWithoutPipAndServe() throws Exception {
    StringWriter log = new StringWriter();
    ImageReady ready =
        build("hashed", wheelOnlyApp(Map.of("requirements.txt", hashedRequirements())), log);

    assertThat(log.toString())
        .contains("-----> Reading requirements.txt for Python 3.11.2: 3 distributions")
        .doesNotContain("Resolving")
        .doesNotContain("-----> Building")
        .doesNotContain("for the build sandbox");
    assertThat(installed(ready))
        .containsExactly("greet-lib 1.0", "gunicorn 26.2.0", "packaging 26.3");
    assertThat(serve(ready)).isEqualTo("hello from greet-lib 1.0");
    Map<String, ImageContents.Entry> image = contents(ready).files();
    assertThat(image.get("opt/kiln/deps/bin/greet").text()).startsWith("#!/usr/bin/env python3\n");
    assertThat(image.get("opt/kiln/deps/share/greet/banner.txt").text())
        .isEqualTo("greet-lib 1.0\n");
    assertThat(TestImages.run(TestImages.load(ready.image()), "greet").strip())
        .isEqualTo("hello from greet-lib 1.0");
  }

  @Test
  @Order(2)
  void aPylockOfTheSameDistributionsSharesTheLayerOfTheHashedRequirements() throws Exception {
    ImageReady hashed =
        build("hashed-twin", wheelOnlyApp(Map.of("requirements.txt", hashedRequirements())));
    StringWriter log = new StringWriter();
    ImageReady pylock = build("pylock", wheelOnlyApp(Map.of("pylock.toml", pylock())), log);

    assertThat(log.toString()).contains("Reusing the dependency layer of the same 3 distributions");
    assertThat(installed(pylock))
        .containsExactly("greet-lib 1.0", "gunicorn 26.2.0", "packaging 26.3");
    assertThat(dependencyLayer(pylock)).isEqualTo(dependencyLayer(hashed));
    assertThat(label(pylock, "dev.kiln.resolved-set"))
        .isEqualTo(label(hashed, "dev.kiln.resolved-set"));
    assertThat(serve(pylock)).isEqualTo("hello from greet-lib 1.0");
  }

  @Test
  @Order(3)
  void aUvVirtualProjectInstallsItsLockWithoutTheDevGroupAndBuildsTheSdistOnce() throws Exception {
    StringWriter log = new StringWriter();
    ImageReady ready = build("uv-virtual", uvApp(false), log);

    assertThat(log.toString())
        .contains("-----> Reading uv.lock for Python 3.11.2: 4 distributions")
        .contains("-----> Building only-source 0.5 from its sdist");
    assertThat(installed(ready))
        .containsExactly("greet-lib 1.0", "gunicorn 26.2.0", "only-source 0.5", "packaging 26.3")
        .noneMatch(d -> d.startsWith("dev-only-lib"));
    assertThat(serve(ready)).isEqualTo("hello from greet-lib 1.0 / only-source 5");
    assertThat(report(ready))
        .contains("\"filename\" : \"only_source-0.5.tar.gz\"")
        .contains("builtWheelSha256");
  }

  @Test
  @Order(4)
  void aUvPackagedRootIsBuiltIntoTheAppLayerNotTheDependencies() throws Exception {
    StringWriter log = new StringWriter();
    ImageReady ready = build("uv-packaged", uvApp(true), log);

    assertThat(log.toString())
        .contains("Reusing the dependency layer of the same 4 distributions")
        .contains("-----> Building the local project . (editable) into the app layer");
    assertThat(installed(ready))
        .noneMatch(d -> d.startsWith("web ") || d.startsWith("dev-only-lib"));
    assertThat(contents(ready).files())
        .containsKey("app/.kiln/site-packages/web-0.1.0.dist-info/METADATA");
    assertThat(serve(ready)).isEqualTo("hello from greet-lib 1.0 / only-source 5");
  }

  @Test
  @Order(5)
  void aPoetryProjectInstallsItsMainGroupOnly() throws Exception {
    ImageReady ready = build("poetry", poetryApp());

    assertThat(installed(ready))
        .containsExactly("greet-lib 1.0", "gunicorn 26.2.0", "only-source 0.5", "packaging 26.3");
    assertThat(serve(ready)).isEqualTo("hello from greet-lib 1.0 / only-source 5");
  }

  @Test
  @Order(6)
  void aPipenvAppInstallsTheDefaultSectionOfItsLock() throws Exception {
    ImageReady ready = build("pipenv", pipenvApp());

    assertThat(installed(ready))
        .containsExactly("greet-lib 1.0", "gunicorn 26.2.0", "only-source 0.5", "packaging 26.3");
    assertThat(serve(ready)).isEqualTo("hello from greet-lib 1.0 / only-source 5");
  }

  @Test
  @Order(7)
  void aStalePoetryLockFailsWithItsCodeAndTheFix() throws Exception {
    Map<String, String> app = new LinkedHashMap<>(poetryApp());
    app.put(
        "pyproject.toml",
        app.get("pyproject.toml").replace("\"only-source\"", "\"only-source\", \"demo-extra\""));
    GitRepo repo = GitRepo.init(temp.resolve("repos/poetry-stale"));
    repo.commit(app, "pyproject.toml gained a dependency, the lock did not");
    StringWriter log = new StringWriter();

    BuildFailed failed = pushes.fails("engines", "poetry-stale", repo, log);

    assertThat(failed.code()).isEqualTo("poetry-lock::stale");
    assertThat(failed.message()).contains("poetry lock");
  }

  @Test
  @Order(8)
  void aSetupPyOnlyAppIsResolvedAndANewInstallRequiresChangesWhatIsInstalled() throws Exception {
    StringWriter log = new StringWriter();
    ImageReady first =
        build(
            "setup-py", setupPyApp(Map.of(), List.of("gunicorn", "greet-lib", "only-source")), log);

    assertThat(log.toString())
        .contains("-----> Resolving setup.py for Python 3.11.2 with pip in the build sandbox");
    // gunicorn 26.2 needs packaging only for extras: a resolution leaves it out; the locks here
    // list it.
    assertThat(installed(first))
        .containsExactly("greet-lib 1.0", "gunicorn 26.2.0", "only-source 0.5");
    assertThat(contents(first).files())
        .containsKey("app/.kiln/site-packages/web-1.0.dist-info/METADATA");
    assertThat(serve(first)).isEqualTo("hello from greet-lib 1.0 / only-source 5");

    ImageReady second =
        build(
            "setup-py",
            setupPyApp(Map.of(), List.of("gunicorn", "greet-lib", "only-source", "demo-extra")));

    assertThat(installed(second)).contains("demo-extra 3.0");
    assertThat(serve(second)).isEqualTo("hello from greet-lib 1.0 / only-source 5");
  }

  @Test
  @Order(9)
  void requirementsInstallingTheAppItselfEditableServe() throws Exception {
    StringWriter log = new StringWriter();
    ImageReady ready =
        build(
            "editable",
            setupPyApp(Map.of("requirements.txt", "-e .\n"), List.of("gunicorn", "greet-lib")),
            log);

    assertThat(log.toString()).contains("Local projects (built into the app layer): -e .");
    assertThat(installed(ready)).containsExactly("greet-lib 1.0", "gunicorn 26.2.0");
    assertThat(contents(ready).files())
        .containsKey("app/.kiln/site-packages/web-1.0.dist-info/METADATA")
        .doesNotContainKey("opt/kiln/deps/web-1.0.dist-info/METADATA");
    assertThat(contents(ready).env())
        .contains("PYTHONPATH=/app:/app/.kiln/site-packages:/opt/kiln/deps");
    assertThat(serve(ready)).isEqualTo("hello from greet-lib 1.0");
  }

  @Test
  @Order(10)
  void unpinnedRequirementsResolvePerAppAndStayUntilTheyChange() throws Exception {
    Map<String, String> unpinned =
        app(Map.of("requirements.txt", "gunicorn\ngreet-lib\nonly-source\n"));
    ImageReady first = build("unpinned-a", unpinned);
    assertThat(installed(first)).contains("greet-lib 1.0", "only-source 0.5");
    assertThat(serve(first)).isEqualTo("hello from greet-lib 1.0 / only-source 5");

    // A new release reaches the index.
    add("greet-lib", "2.0", greetLib("2.0").writeTo(wheels));

    Map<String, String> changedCode = new LinkedHashMap<>(unpinned);
    changedCode.put("app.py", APP + "\n# a code change\n");
    StringWriter sameAppLog = new StringWriter();
    ImageReady sameApp = build("unpinned-a", changedCode, sameAppLog);
    ImageReady otherApp = build("unpinned-b", unpinned);

    assertThat(sameAppLog.toString()).contains("Reused dependency layer");
    assertThat(installed(sameApp)).contains("greet-lib 1.0");
    assertThat(installed(otherApp)).contains("greet-lib 2.0");
    assertThat(serve(otherApp)).isEqualTo("hello from greet-lib 2.0 / only-source 5");
  }

  @Test
  @Order(11)
  void anSdistThatCannotBuildNamesThePackageAndWhatIsMissing() throws Exception {
    add(
        "needs-pg",
        "2.9",
        SdistBuilder.sdist("needs-pg", "2.9")
            .setupPy(
                "raise SystemExit('Error: pg_config executable not found.\\n"
                    + "pg_config is required to build psycopg2 from source.')\n")
            .writeTo(wheels));
    IndexFile sdist = file("needs-pg");
    String lock =
        "lock-version = \"1.0\"\ncreated-by = \"uv\"\nrequires-python = \">=3.11\"\n\n"
            + "[[packages]]\nname = \"needs-pg\"\nversion = \"2.9\"\n"
            + "sdist = { name = \""
            + sdist.filename()
            + "\", url = \"https://files.pythonhosted.org/"
            + sdist.filename()
            + "\", size = "
            + sdist.size()
            + ", hashes = { sha256 = \""
            + sdist.sha256()
            + "\" } }\n";
    GitRepo repo = GitRepo.init(temp.resolve("repos/needs-pg"));
    repo.commit(app(Map.of("pylock.toml", lock)), "a package that builds only with pg_config");
    StringWriter log = new StringWriter();

    BuildFailed failed = pushes.fails("engines", "needs-pg", repo, log);

    assertThat(failed.code()).isEqualTo("install::sdist-build-failed");
    assertThat(failed.message())
        .contains("needs-pg 2.9")
        .contains("pg_config")
        .contains("psycopg2-binary");
  }

  // ------------------------------------------------------------------ building

  private ImageReady build(String app, Map<String, String> files) throws Exception {
    return build(app, files, new StringWriter());
  }

  private ImageReady build(String app, Map<String, String> files, StringWriter log)
      throws Exception {
    Path dir = temp.resolve("repos").resolve(app);
    GitRepo repo = GitRepo.init(dir); // again for a second push: git init keeps the history
    repo.commit(files, "push " + app);
    return pushes.succeeds("engines", app, repo, null, log);
  }

  private static ImageContents contents(ImageReady ready) throws Exception {
    return ImageContents.fromDockerTarball(Path.of(ready.image().replaceFirst("^tar:", "")));
  }

  /** The distributions in /opt/kiln/deps, as {@code name version} from their .dist-info. */
  private static Set<String> installed(ImageReady ready) throws Exception {
    Set<String> distributions = new TreeSet<>();
    for (String path : contents(ready).files().keySet()) {
      if (path.startsWith("opt/kiln/deps/") && path.endsWith(".dist-info/METADATA")) {
        String dir =
            path.substring("opt/kiln/deps/".length(), path.length() - "/METADATA".length());
        String stem = dir.substring(0, dir.length() - ".dist-info".length());
        int dash = stem.lastIndexOf('-');
        distributions.add(
            stem.substring(0, dash).toLowerCase().replace('_', '-')
                + " "
                + stem.substring(dash + 1));
      }
    }
    return distributions;
  }

  private static String report(ImageReady ready) throws Exception {
    return contents(ready).files().get("opt/kiln/install-report.json").text();
  }

  private static String label(ImageReady ready, String name) throws Exception {
    return contents(ready).containerConfig().path("Labels").path(name).asText();
  }

  /** The diff id of the image's dependency layer (the one that holds /opt/kiln/deps). */
  private static String dependencyLayer(ImageReady ready) throws Exception {
    ImageContents image = contents(ready);
    for (int i = 0; i < image.layers().size(); i++) {
      if (image.layers().get(i).keySet().stream().anyMatch(p -> p.startsWith("opt/kiln/deps/"))) {
        return image.config().path("rootfs").path("diff_ids").get(i).asText();
      }
    }
    throw new AssertionError("no dependency layer in " + ready.image());
  }

  private static String serve(ImageReady ready) throws Exception {
    return TestImages.serve(TestImages.load(ready.image()), "/");
  }

  // ------------------------------------------------------------------ app files

  private static Map<String, String> app(Map<String, String> extra) {
    Map<String, String> files = new LinkedHashMap<>();
    files.put("app.py", APP);
    files.put("Procfile", "web: gunicorn app:app\n");
    files.put(".python-version", PYTHON);
    files.putAll(extra);
    return files;
  }

  private static Map<String, String> wheelOnlyApp(Map<String, String> extra) {
    return app(extra);
  }

  private String hashedRequirements() {
    StringBuilder text = new StringBuilder("# pip-compile --generate-hashes\n");
    for (String name : List.of("greet-lib", "gunicorn", "packaging")) {
      IndexFile file = file(name);
      text.append(name)
          .append("==")
          .append(file.version())
          .append(" \\\n    --hash=sha256:")
          .append(file.sha256())
          .append('\n');
    }
    return text.toString();
  }

  private String pylock() {
    StringBuilder text =
        new StringBuilder(
            "lock-version = \"1.0\"\ncreated-by = \"uv\"\nrequires-python = \">=3.11\"\n");
    for (String name : List.of("greet-lib", "gunicorn", "packaging")) {
      IndexFile file = file(name);
      text.append("\n[[packages]]\nname = \"")
          .append(name)
          .append("\"\nversion = \"")
          .append(file.version())
          .append("\"\nindex = \"https://pypi.org/simple\"\nwheels = [{ name = \"")
          .append(file.filename())
          .append("\", url = \"https://files.pythonhosted.org/")
          .append(file.filename())
          .append("\", size = ")
          .append(file.size())
          .append(", hashes = { sha256 = \"")
          .append(file.sha256())
          .append("\" } }]\n");
    }
    return text.toString();
  }

  private static final String MAIN_DEPENDENCIES = "\"gunicorn\", \"greet-lib\", \"only-source\"";

  private Map<String, String> uvApp(boolean packaged) {
    String pyproject =
        "[project]\nname = \"web\"\nversion = \"0.1.0\"\nrequires-python = \">=3.11\"\n"
            + "dependencies = ["
            + MAIN_DEPENDENCIES
            + "]\n\n[dependency-groups]\ndev = [\"dev-only-lib\"]\n"
            + (packaged
                ? "\n[build-system]\nrequires = [\"setuptools>=61\"]\n"
                    + "build-backend = \"setuptools.build_meta\"\n\n"
                    + "[tool.setuptools]\npackages = [\"web\"]\n"
                : "");
    StringBuilder lock =
        new StringBuilder("version = 1\nrevision = 2\nrequires-python = \">=3.11\"\n");
    for (String name :
        List.of("dev-only-lib", "greet-lib", "gunicorn", "only-source", "packaging")) {
      IndexFile file = file(name);
      lock.append("\n[[package]]\nname = \"")
          .append(name)
          .append("\"\nversion = \"")
          .append(file.version())
          .append("\"\nsource = { registry = \"https://pypi.org/simple\" }\n");
      if (name.equals("gunicorn")) {
        lock.append("dependencies = [\n    { name = \"packaging\" },\n]\n");
      }
      String entry =
          "{ url = \"https://files.pythonhosted.org/"
              + file.filename()
              + "\", hash = \"sha256:"
              + file.sha256()
              + "\", size = "
              + file.size()
              + " }";
      if (file.filename().endsWith(".whl")) {
        lock.append("wheels = [\n    ").append(entry).append(",\n]\n");
      } else {
        lock.append("sdist = ").append(entry).append('\n');
      }
    }
    lock.append("\n[[package]]\nname = \"web\"\nversion = \"0.1.0\"\n")
        .append(packaged ? "source = { editable = \".\" }\n" : "source = { virtual = \".\" }\n")
        .append(
            "dependencies = [\n    { name = \"greet-lib\" },\n    { name = \"gunicorn\" },\n"
                + "    { name = \"only-source\" },\n]\n\n"
                + "[package.dev-dependencies]\ndev = [\n    { name = \"dev-only-lib\" },\n]\n\n"
                + "[package.metadata]\nrequires-dist = [\n    { name = \"greet-lib\" },\n"
                + "    { name = \"gunicorn\" },\n    { name = \"only-source\" },\n]\n\n"
                + "[package.metadata.requires-dev]\ndev = [{ name = \"dev-only-lib\" }]\n");
    Map<String, String> files = new LinkedHashMap<>();
    files.put("pyproject.toml", pyproject);
    files.put("uv.lock", lock.toString());
    files.put(".python-version", PYTHON);
    if (packaged) {
      files.put("web/__init__.py", "");
      files.put("web/app.py", APP);
      files.put("Procfile", "web: gunicorn web.app:app\n");
    } else {
      files.put("app.py", APP);
      files.put("Procfile", "web: gunicorn app:app\n");
    }
    return files;
  }

  private Map<String, String> poetryApp() throws Exception {
    String pyproject =
        "[project]\nname = \"web\"\nversion = \"0.1.0\"\nrequires-python = \">=3.11\"\n"
            + "dependencies = ["
            + MAIN_DEPENDENCIES
            + "]\n\n[tool.poetry]\npackage-mode = false\n\n"
            + "[tool.poetry.group.dev.dependencies]\ndev-only-lib = \"*\"\n";
    StringBuilder lock =
        new StringBuilder(
            "# This file is automatically @generated by Poetry 2.3.4 and should not be changed by"
                + " hand.\n");
    for (String name :
        List.of("dev-only-lib", "greet-lib", "gunicorn", "only-source", "packaging")) {
      IndexFile file = file(name);
      lock.append("\n[[package]]\nname = \"")
          .append(name)
          .append("\"\nversion = \"")
          .append(file.version())
          .append("\"\ndescription = \"\"\noptional = false\npython-versions = \">=3.8\"\n")
          .append("groups = [\"")
          .append(name.equals("dev-only-lib") ? "dev" : "main")
          .append("\"]\nfiles = [\n    {file = \"")
          .append(file.filename())
          .append("\", hash = \"sha256:")
          .append(file.sha256())
          .append("\"},\n]\n");
      if (name.equals("gunicorn")) {
        lock.append("\n[package.dependencies]\npackaging = \"*\"\n");
      }
    }
    lock.append("\n[metadata]\nlock-version = \"2.1\"\npython-versions = \">=3.11\"\n")
        .append("content-hash = \"")
        .append(PoetryLock.contentHash(pyproject.getBytes(StandardCharsets.UTF_8)))
        .append("\"\n");
    return app(Map.of("pyproject.toml", pyproject, "poetry.lock", lock.toString()));
  }

  private Map<String, String> pipenvApp() throws Exception {
    String pipfile =
        "[[source]]\nurl = \"https://pypi.org/simple\"\nverify_ssl = true\nname = \"pypi\"\n\n"
            + "[packages]\ngunicorn = \"*\"\ngreet-lib = \"*\"\nonly-source = \"*\"\n\n"
            + "[dev-packages]\ndev-only-lib = \"*\"\n\n[requires]\npython_version = \"3.11\"\n";
    StringBuilder lock =
        new StringBuilder(
            "{\n  \"_meta\": {\n    \"hash\": {\"sha256\": \""
                + PipfileLock.pipfileHash(pipfile.getBytes(StandardCharsets.UTF_8))
                + "\"},\n    \"pipfile-spec\": 6,\n"
                + "    \"requires\": {\"python_version\": \"3.11\"},\n"
                + "    \"sources\": [{\"name\": \"pypi\", \"url\": \"https://pypi.org/simple\","
                + " \"verify_ssl\": true}]\n  },\n  \"default\": {\n");
    List<String> main = List.of("greet-lib", "gunicorn", "only-source", "packaging");
    for (int i = 0; i < main.size(); i++) {
      lock.append(pipenvEntry(file(main.get(i)))).append(i < main.size() - 1 ? ",\n" : "\n");
    }
    lock.append("  },\n  \"develop\": {\n")
        .append(pipenvEntry(file("dev-only-lib")))
        .append("\n  }\n}\n");
    return app(Map.of("Pipfile", pipfile, "Pipfile.lock", lock.toString()));
  }

  private static String pipenvEntry(IndexFile file) {
    return "    \""
        + file.name()
        + "\": {\"hashes\": [\"sha256:"
        + file.sha256()
        + "\"], \"index\": \"pypi\", \"version\": \"=="
        + file.version()
        + "\"}";
  }

  private static Map<String, String> setupPyApp(
      Map<String, String> extra, List<String> installRequires) {
    Map<String, String> files = new LinkedHashMap<>();
    files.put("app.py", APP);
    files.put("Procfile", "web: gunicorn app:app\n");
    files.put(".python-version", PYTHON);
    files.put(
        "setup.py",
        "from setuptools import setup\n\nsetup(\n    name=\"web\",\n    version=\"1.0\",\n"
            + "    py_modules=[\"app\"],\n    install_requires="
            + installRequires.stream().map(r -> "\"" + r + "\"").toList()
            + ",\n)\n");
    files.putAll(extra);
    return files;
  }
}
