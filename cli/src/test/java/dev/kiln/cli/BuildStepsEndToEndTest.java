package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.events.AppSpec;
import dev.kiln.events.BuildFailed;
import dev.kiln.events.ImageReady;
import dev.kiln.testkit.DebianPythonPackages;
import dev.kiln.testkit.GitRepo;
import dev.kiln.testkit.ImageContents;
import dev.kiln.testkit.NltkDataTree;
import dev.kiln.testkit.PythonBuildTools;
import dev.kiln.testkit.StaticIndexServer;
import dev.kiln.worker.assemble.DockerfileBuild;
import dev.kiln.worker.runtime.LocalRuntimeImage;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * The app's own build steps, run by the farm in its sandbox, against real parts: Django and NLTK
 * (made into wheels from Debian's packages, since tests cannot reach PyPI), an NLTK data index this
 * test writes, the offline bookworm runtime, a real broker and git, and Docker to run the image.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BuildStepsEndToEndTest {
  private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(10);

  @TempDir static Path temp;
  private StaticIndexServer index;
  private Farm farm;
  private TestPushes pushes;
  private final StringWriter farmLog = new StringWriter();

  @BeforeAll
  void startFarm() throws Exception {
    TestImages.requireDockerDaemon();
    Path wheels = Files.createDirectories(temp.resolve("wheels"));
    // pip for resolving unpinned requirements in the build sandbox comes from the index.
    PythonBuildTools.copyTo(wheels);
    DebianPythonPackages debian = DebianPythonPackages.onThisMachine();
    debian.wheelsWithDependencies("python3-django", wheels);
    debian.wheelsWithDependencies("python3-nltk", wheels);
    index = StaticIndexServer.start(wheels);
    NltkDataTree nltkData = NltkDataTree.in(temp.resolve("nltk_data"));
    nltkData.addPackage("corpora", "stopwords", Map.of("english", "i\nme\nmy\nmyself\n"));
    nltkData.writeIndex();
    FarmSettings settings =
        FarmSettings.local(temp.resolve("home"), index.indexUrl(), null, 2, "offline")
            .withNltkDataUrl(nltkData.indexUrl())
            .withDockerfileBuilder(DockerfileBuild.Settings.defaults());
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

  @Test
  void pushesBecomeARunningAppOnAStablePortAndACrashingVersionNeverReplacesTheOneServing()
      throws Exception {
    List<String> said = new java.util.concurrent.CopyOnWriteArrayList<>();
    farm.startDockerDeployer(
        dev.kiln.deploy.docker.DockerDeployer.Settings.defaults()
            .withHealth(Duration.ofSeconds(30), Duration.ofMillis(100)),
        said::add);
    GitRepo repo = GitRepo.init(temp.resolve("repos/live"));
    repo.commit(liveApp("print('serving')", "v1"), "v1");
    pushes.succeeds("live", "site", repo);
    URI url =
        org.awaitility.Awaitility.await()
            .atMost(Duration.ofMinutes(2))
            .until(() -> stableUrl(said, "live/site"), java.util.Optional::isPresent)
            .orElseThrow();
    assertThat(body(url)).isEqualTo("v1");

    // The second version takes over the same port; a client polling across the switch never fails.
    java.util.concurrent.atomic.AtomicInteger failures =
        new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicBoolean polling =
        new java.util.concurrent.atomic.AtomicBoolean(true);
    Thread poller =
        new Thread(
            () -> {
              while (polling.get()) {
                try {
                  body(url);
                } catch (Exception e) {
                  failures.incrementAndGet();
                }
                sleep(50);
              }
            });
    poller.start();
    repo.commit(liveApp("print('serving')", "v2"), "v2");
    pushes.succeeds("live", "site", repo);
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofMinutes(2))
        .until(() -> "v2".equals(bodyOrNull(url)));
    polling.set(false);
    poller.join();
    assertThat(failures.get()).as("requests that failed across the switch").isZero();

    // A third version that crashes at start is reported and never takes the port.
    String crashing = repo.commit(liveApp("raise SystemExit('v3 cannot start')", "v3"), "v3");
    pushes.succeeds("live", "site", repo);
    dev.kiln.events.DeployFailed failed =
        org.awaitility.Awaitility.await()
            .atMost(Duration.ofMinutes(2))
            .until(
                () ->
                    TopicRecords.bodies(
                            farm.endpoints().kafka(),
                            farm.endpoints().topics().deployFailed(),
                            dev.kiln.events.DeployFailed.class)
                        .stream()
                        .filter(f -> f.commit().equals(crashing))
                        .findFirst(),
                java.util.Optional::isPresent)
            .orElseThrow();
    assertThat(failed.code()).startsWith("deploy::");
    assertThat(String.join("\n", failed.logTail())).contains("v3 cannot start");
    assertThat(body(url)).isEqualTo("v2");
  }

  /** A web app answering {@code version} on $PORT, after running {@code atStart}. */
  private static Map<String, String> liveApp(String atStart, String version) {
    return Map.of(
        "requirements.txt",
        "",
        ".python-version",
        "3.11\n",
        "Procfile",
        "web: python3 app.py\n",
        "app.py",
        atStart
            + "\nimport http.server, os\n\n"
            + "class Version(http.server.BaseHTTPRequestHandler):\n"
            + "    def do_GET(self):\n"
            + "        body = b'"
            + version
            + "'\n"
            + "        self.send_response(200)\n"
            + "        self.send_header('Content-Length', str(len(body)))\n"
            + "        self.end_headers()\n"
            + "        self.wfile.write(body)\n\n"
            + "    def log_message(self, *args):\n"
            + "        pass\n\n"
            + "http.server.ThreadingHTTPServer(('0.0.0.0', int(os.environ['PORT'])), Version)"
            + ".serve_forever()\n");
  }

  private static java.util.Optional<URI> stableUrl(List<String> said, String app) {
    java.util.regex.Pattern line =
        java.util.regex.Pattern.compile(
            java.util.regex.Pattern.quote(app) + " → (http://127\\.0\\.0\\.1:\\d+)");
    return said.stream()
        .map(line::matcher)
        .filter(java.util.regex.Matcher::find)
        .map(m -> URI.create(m.group(1)))
        .findFirst();
  }

  private static String body(URI url) throws Exception {
    HttpResponse<String> response =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IllegalStateException("HTTP " + response.statusCode());
    }
    return response.body();
  }

  private static String bodyOrNull(URI url) {
    try {
      return body(url);
    } catch (Exception e) {
      return null;
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Test
  void aDjangoAppServesItsCollectedStaticFilesAndEveryBuildStepLeavesItsWork() throws Exception {
    GitRepo repo = GitRepo.init(temp.resolve("repos/shop"));
    Map<String, String> files = new LinkedHashMap<>(djangoProject());
    files.put("requirements.txt", "django\nnltk\n");
    files.put("nltk.txt", "stopwords\n");
    files.put(
        "bin/post_compile",
        "#!/bin/sh\nset -e\necho \"post_compile saw token=$BUILD_TOKEN\"\n"
            + "echo \"token=$BUILD_TOKEN\" > /app/post_compile.txt\n"
            + "echo tamper > /opt/kiln/deps/tampered.txt 2>/dev/null || echo 'deps are read-only'\n");
    repo.commit(files, "a Django shop with every build step");
    AppSpec spec =
        new AppSpec(
            null,
            null,
            "python3 -c \"import django; open('build_command.txt', 'w').write(django.get_version())\"",
            null,
            List.of(
                new AppSpec.EnvVar("BUILD_TOKEN", "b-123", AppSpec.Scope.BUILD_TIME),
                new AppSpec.EnvVar("SHOP_MODE", "production", AppSpec.Scope.RUN_TIME),
                new AppSpec.EnvVar("DJANGO_SECRET", "s3cret", null)));

    StringWriter log = new StringWriter();
    ImageReady ready = pushes.succeeds("steps", "shop", repo, spec, log);

    assertThat(log.toString())
        .contains("-----> Downloading NLTK corpora: stopwords")
        .contains("-----> $ python manage.py collectstatic --noinput")
        .contains("-----> Running post-compile hook")
        .contains("       post_compile saw token=b-123")
        .contains("       deps are read-only")
        .contains("-----> Running the app spec's build command");
    ImageContents contents =
        ImageContents.fromDockerTarball(Path.of(ready.image().replaceFirst("^tar:", "")));
    Map<String, ImageContents.Entry> image = contents.files();
    assertThat(image.get("app/post_compile.txt").text()).isEqualTo("token=b-123\n");
    assertThat(image.get("app/build_command.txt").text()).startsWith("3.2.");
    assertThat(image).containsKey("app/staticfiles/admin/css/base.css");
    assertThat(image).containsKey("app/.kiln/nltk_data/corpora/stopwords/english");
    assertThat(image).doesNotContainKey("opt/kiln/deps/tampered.txt");
    assertThat(contents.env())
        .contains("SHOP_MODE=production", "DJANGO_SECRET=s3cret", "NLTK_DATA=/app/.kiln/nltk_data")
        .noneMatch(variable -> variable.startsWith("BUILD_TOKEN="));

    String name = TestImages.load(ready.image());
    assertThat(
            TestImages.run(
                    name,
                    "python3",
                    "-c",
                    "import nltk; print(nltk.data.find('corpora/stopwords/english'))")
                .strip())
        .isEqualTo("/app/.kiln/nltk_data/corpora/stopwords/english");
    try (GenericContainer<?> shop =
        new GenericContainer<>(DockerImageName.parse(name))
            .withImagePullPolicy(imageName -> false)
            .withExposedPorts(8080)
            .waitingFor(
                Wait.forHttp("/static/admin/css/base.css")
                    .forStatusCode(200)
                    .withStartupTimeout(Duration.ofMinutes(1)))) {
      shop.start();
      HttpResponse<String> css =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(
                          URI.create(
                              "http://"
                                  + shop.getHost()
                                  + ":"
                                  + shop.getMappedPort(8080)
                                  + "/static/admin/css/base.css"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(css.statusCode()).isEqualTo(200);
      assertThat(css.body()).contains("DJANGO Admin styles");
    }
  }

  @Test
  void aDockerfileAppIsBuiltByTheDockerDaemonAndItsImageAnswersHttp() throws Exception {
    // The base is the offline runtime, loaded into the daemon: nothing is pulled.
    String base =
        TestImages.load(
            LocalRuntimeImage.forSuite(
                    "bookworm", Path.of("target", "kiln-runtimes").toAbsolutePath())
                .ensureAvailable()
                .tarball()
                .toString());
    GitRepo repo = GitRepo.init(temp.resolve("repos/dockerfile"));
    repo.commit(
        Map.of(
            "Dockerfile",
            "FROM "
                + base
                + "\nARG GREETING\nCOPY app.py /srv/app.py\n"
                + "RUN echo \"$GREETING\" > /tmp/greeting\nENV PORT=8080\n"
                + "CMD [\"python3\", \"/srv/app.py\"]\n",
            "app.py",
            """
            import http.server, os
            class H(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(open("/tmp/greeting", "rb").read())
            http.server.HTTPServer(("0.0.0.0", int(os.environ["PORT"])), H).serve_forever()
            """),
        "an app built from its Dockerfile");
    AppSpec spec =
        new AppSpec(
            null,
            null,
            null,
            null,
            List.of(new AppSpec.EnvVar("GREETING", "built by docker", AppSpec.Scope.BUILD_TIME)));

    StringWriter log = new StringWriter();
    ImageReady ready = pushes.succeeds("steps", "dockerfile", repo, spec, log);

    assertThat(log.toString())
        .contains("Dockerfile build; skipping the dependency install")
        .contains("-----> Building the image from Dockerfile with Docker")
        .contains("Successfully built");
    String name = TestImages.load(ready.image());
    assertThat(TestImages.serve(name, "/")).contains("built by docker");
  }

  @Test
  void aFailingPreCompileHookFailsTheBuildWithItsCodeAndOutput() throws Exception {
    GitRepo repo = GitRepo.init(temp.resolve("repos/broken-hook"));
    repo.commit(
        Map.of(
            ".python-version", "3.11\n",
            "requirements.txt", "",
            "Procfile", "web: python3 -m http.server $PORT\n",
            "bin/pre_compile", "#!/bin/sh\necho 'pre_compile: cannot find the assets'\nexit 3\n"),
        "a pre_compile hook that fails");

    StringWriter log = new StringWriter();
    BuildFailed failed = pushes.fails("steps", "broken-hook", repo, log);

    assertThat(failed.code()).isEqualTo("hooks::pre_compile");
    assertThat(failed.message()).contains("exit status 3").contains("cannot find the assets");
    assertThat(log.toString())
        .contains("-----> Running pre-compile hook")
        .contains("       pre_compile: cannot find the assets");
  }

  @Test
  void aPreCompileHookRunsBeforeTheInstallAndItsFilesReachTheImage() throws Exception {
    GitRepo repo = GitRepo.init(temp.resolve("repos/pre-hook"));
    repo.commit(
        Map.of(
            ".python-version",
            "3.11\n",
            "requirements.txt",
            "",
            "Procfile",
            "web: python3 -m http.server $PORT\n",
            "bin/pre_compile",
            "#!/bin/sh\necho sqlparse >> requirements.txt\necho generated > pre_compile.txt\n"),
        "a pre_compile hook that adds a requirement");

    StringWriter log = new StringWriter();
    ImageReady ready = pushes.succeeds("steps", "pre-hook", repo, null, log);

    Map<String, ImageContents.Entry> image =
        ImageContents.fromDockerTarball(Path.of(ready.image().replaceFirst("^tar:", ""))).files();
    assertThat(image.get("app/pre_compile.txt").text()).isEqualTo("generated\n");
    assertThat(image).containsKey("opt/kiln/deps/sqlparse/__init__.py");
  }

  /**
   * A Django project whose static files are served from STATIC_ROOT with DEBUG off: /static/ works
   * only if collectstatic ran at build time.
   */
  private static Map<String, String> djangoProject() {
    return Map.of(
        ".python-version",
        "3.11\n",
        "Procfile",
        "web: python3 manage.py runserver 0.0.0.0:$PORT --noreload\n",
        "manage.py",
        """
        import os, sys
        if __name__ == "__main__":
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
            from django.core.management import execute_from_command_line
            execute_from_command_line(sys.argv)
        """,
        "shop/__init__.py",
        "",
        "shop/settings.py",
        """
        import os
        from pathlib import Path
        BASE_DIR = Path(__file__).resolve().parent.parent
        SECRET_KEY = os.environ["DJANGO_SECRET"]
        DEBUG = False
        ALLOWED_HOSTS = ["*"]
        INSTALLED_APPS = [
            "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
            "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
        ]
        MIDDLEWARE = [
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ]
        ROOT_URLCONF = "shop.urls"
        TEMPLATES = [{
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "APP_DIRS": True,
            "OPTIONS": {"context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]},
        }]
        DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/tmp/db.sqlite3"}}
        STATIC_URL = "/static/"
        STATIC_ROOT = BASE_DIR / "staticfiles"
        """,
        "shop/urls.py",
        """
        from django.conf import settings
        from django.urls import re_path
        from django.views.static import serve
        urlpatterns = [
            re_path(r"^static/(?P<path>.*)$", serve, {"document_root": settings.STATIC_ROOT}),
        ]
        """,
        "shop/wsgi.py",
        """
        import os
        from django.core.wsgi import get_wsgi_application
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
        application = get_wsgi_application()
        """);
  }
}
