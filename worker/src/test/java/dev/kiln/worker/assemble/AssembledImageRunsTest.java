package dev.kiln.worker.assemble;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.events.Digest;
import dev.kiln.worker.fs.BackgroundDeleter;
import dev.kiln.worker.runtime.LocalRuntimeImage;
import dev.kiln.worker.runtime.RuntimeImage;
import dev.kiln.worker.steps.StepContext;
import dev.kiln.worker.testsupport.CacheServiceFixture;
import dev.kiln.worker.testsupport.RecordingLog;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * An image ASSEMBLE built on the real offline runtime (Debian bookworm, Python 3.11) runs in a real
 * Docker daemon: the launcher derives WEB_CONCURRENCY from the container's memory limit, expands
 * $PORT in the run command, the app runs as uid 1000 in /app, and the packages and console scripts
 * of the dependency layer work.
 */
class AssembledImageRunsTest {
  private static final long MEMORY_LIMIT = 512L * 1024 * 1024;

  @TempDir static Path shared;
  private static ExecutorService jibExecutor;
  private static BackgroundDeleter deleter;
  private static CacheServiceFixture cache;

  @TempDir Path dir;

  @BeforeAll
  static void start() throws Exception {
    if (!DockerClientFactory.instance().isDockerAvailable()) {
      String howToStart =
          "start one with .ci/start-dockerd (as root; needs Debian's docker.io package)";
      if ("true".equals(System.getenv("CI"))) {
        fail("CI=true but no Docker daemon is reachable; " + howToStart);
      }
      assumeTrue(false, "No Docker daemon is reachable, so images cannot be run; " + howToStart);
    }
    jibExecutor = AssembleStep.newJibExecutor();
    cache = CacheServiceFixture.start(shared);
    deleter = new BackgroundDeleter(shared.resolve("trash"));
  }

  @AfterAll
  static void stop() {
    if (cache != null) {
      cache.close();
      jibExecutor.shutdownNow();
      deleter.close();
    }
  }

  /**
   * Also into an OCI image layout, whose dependency layer is the stored tar under opt/kiln/deps/,
   * uncompressed: the layout's image, handed to Docker as it stands (config and layer blobs as they
   * are), runs the same.
   */
  @ParameterizedTest
  @ValueSource(strings = {"tarballs", "oci-layouts"})
  void imageServesHttpOnPortAsNonRootWithDependenciesAndMemoryBasedConcurrency(String target)
      throws Exception {
    RuntimeImage runtime =
        LocalRuntimeImage.forSuite("bookworm", Path.of("target", "kiln-runtimes"))
            .ensureAvailable();
    Digest layer =
        CacheBlobs.put(
            cache,
            new TestTars.Layer()
                .directory("greeting")
                .file("greeting/__init__.py", "TEXT = 'hello from the dependency layer'\n", 0644)
                .directory("bin")
                .file(
                    "bin/greet",
                    "#!/usr/bin/env python3\nimport greeting\nprint(greeting.TEXT)\n",
                    0755)
                .bytes(),
            dir.resolve("scratch"));
    Path source = Files.createDirectories(dir.resolve("checkout"));
    Files.writeString(
        source.resolve("app.py"),
        """
        import json, os, subprocess, sys
        from wsgiref.simple_server import make_server
        import greeting

        def app(environ, start_response):
            facts = {
                "greeting": greeting.TEXT,
                "script": subprocess.run(["greet"], capture_output=True, text=True).stdout.strip(),
                "uid": os.getuid(),
                "cwd": os.getcwd(),
                "home": os.environ["HOME"],
                "web_concurrency": os.environ["WEB_CONCURRENCY"],
                "can_write_app": os.access("/app", os.W_OK),
            }
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(facts).encode()]

        make_server("0.0.0.0", int(sys.argv[1]), app).serve_forever()
        """);
    String app = "run-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
    var step =
        AssembleFixture.step(
                dir.resolve("work"),
                AssembleFixture.runtimes(
                    dir,
                    Map.of(runtime.pythonVersion(), "tar:" + runtime.tarball().toAbsolutePath()),
                    jibExecutor),
                ImageTarget.parse(target + ":" + dir.resolve("images")),
                LayerBlobSource.cacheService(cache.baseUrl()),
                cache.baseUrl(),
                deleter,
                jibExecutor)
            .build();
    var plan =
        AssembleFixture.plan(
            runtime.pythonVersion(), "pip", "python3 app.py $PORT", Map.of("PORT", "5000"));

    AssembledImage image =
        step.run(
            new StepContext(
                AssembleFixture.task(plan, layer, "kiln-test", app), source, new RecordingLog()));

    var docker = DockerClientFactory.instance().client();
    String name = "kiln-test/" + app + ":" + AssembleFixture.COMMIT.substring(0, 12);
    Path loadable =
        target.equals("tarballs")
            ? Path.of(image.reference().substring(4))
            : dockerArchiveOf(
                dir.resolve("images/kiln-test").resolve(app),
                image.digest(),
                name,
                dir.resolve("from-layout.tar"));
    try (InputStream tarball = Files.newInputStream(loadable)) {
      docker.loadImageCmd(tarball).exec();
    }
    try (GenericContainer<?> container =
        new GenericContainer<>(DockerImageName.parse(name))
            .withImagePullPolicy(imageName -> false)
            .withExposedPorts(5000)
            .withCreateContainerCmdModifier(
                create -> create.getHostConfig().withMemory(MEMORY_LIMIT))
            .waitingFor(
                Wait.forHttp("/").forStatusCode(200).withStartupTimeout(Duration.ofMinutes(1)))) {
      container.start();

      HttpResponse<String> response =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(
                          URI.create(
                              "http://"
                                  + container.getHost()
                                  + ":"
                                  + container.getMappedPort(5000)
                                  + "/"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      JsonNode facts = new ObjectMapper().readTree(response.body());

      assertThat(facts.get("greeting").asText()).isEqualTo("hello from the dependency layer");
      assertThat(facts.get("script").asText()).isEqualTo("hello from the dependency layer");
      assertThat(facts.get("uid").asInt()).isEqualTo(1000);
      assertThat(facts.get("cwd").asText()).isEqualTo("/app");
      assertThat(facts.get("home").asText()).isEqualTo("/app");
      assertThat(facts.get("can_write_app").asBoolean()).isTrue();
      // 512 MB / 256 = 2, below 2·cores+1 for any number of cores.
      assertThat(facts.get("web_concurrency").asText()).isEqualTo("2");
    } finally {
      docker.removeImageCmd(name).withForce(true).exec();
    }
  }

  /**
   * Docker 20.10 does not load OCI layouts: the layout image {@code digest} as a {@code docker
   * save} archive, every blob copied byte for byte (Docker detects each layer's compression).
   */
  private static Path dockerArchiveOf(Path layout, Digest digest, String name, Path archive)
      throws Exception {
    ObjectMapper json = new ObjectMapper();
    Path blobs = layout.resolve("blobs/sha256");
    JsonNode manifest = json.readTree(blobs.resolve(digest.hex()).toFile());
    try (var out =
        new org.apache.commons.compress.archivers.tar.TarArchiveOutputStream(
            Files.newOutputStream(archive))) {
      String config = manifest.get("config").get("digest").asText().substring(7);
      var layers = json.createArrayNode();
      put(out, config + ".json", blobs.resolve(config));
      for (JsonNode layer : manifest.get("layers")) {
        String hex = layer.get("digest").asText().substring(7);
        put(out, hex + ".tar", blobs.resolve(hex));
        layers.add(hex + ".tar");
      }
      var entry = json.createObjectNode();
      entry.put("Config", config + ".json");
      entry.putArray("RepoTags").add(name);
      entry.set("Layers", layers);
      byte[] index = json.writeValueAsBytes(json.createArrayNode().add(entry));
      var header = new org.apache.commons.compress.archivers.tar.TarArchiveEntry("manifest.json");
      header.setSize(index.length);
      out.putArchiveEntry(header);
      out.write(index);
      out.closeArchiveEntry();
    }
    return archive;
  }

  private static void put(
      org.apache.commons.compress.archivers.tar.TarArchiveOutputStream out, String name, Path file)
      throws Exception {
    var header = new org.apache.commons.compress.archivers.tar.TarArchiveEntry(name);
    header.setSize(Files.size(file));
    out.putArchiveEntry(header);
    Files.copy(file, out);
    out.closeArchiveEntry();
  }

  @Test
  void dockerDaemonTargetLoadsTheImageUnderItsName() throws Exception {
    Path base = AssembleFixture.writeBaseImage(dir.resolve("base"));
    Digest layer =
        CacheBlobs.put(cache, AssembleFixture.dependencyLayerTar(), dir.resolve("scratch"));
    String app = "load-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
    var step =
        AssembleFixture.step(
                dir.resolve("work"),
                AssembleFixture.runtimes(
                    dir, Map.of(AssembleFixture.PYTHON, "tar:" + base), jibExecutor),
                ImageTarget.dockerDaemon(),
                LayerBlobSource.cacheService(cache.baseUrl()),
                cache.baseUrl(),
                deleter,
                jibExecutor)
            .build();

    AssembledImage image =
        step.run(
            new StepContext(
                AssembleFixture.task(
                    AssembleFixture.plan("pip", Map.of()), layer, "kiln-test", app),
                AssembleFixture.writeSource(dir.resolve("checkout")),
                new RecordingLog()));

    String name = "kiln-test/" + app + ":" + AssembleFixture.COMMIT.substring(0, 12);
    var docker = DockerClientFactory.instance().client();
    try {
      assertThat(image.reference()).isEqualTo("docker:" + name);
      var config = docker.inspectImageCmd(name).exec().getConfig();
      assertThat(config.getUser()).isEqualTo("1000:1000");
      assertThat(config.getCmd()).containsExactly(AssembleFixture.RUN_COMMAND);
      assertThat(config.getLabels()).containsEntry("dev.kiln.commit", AssembleFixture.COMMIT);
    } finally {
      docker.removeImageCmd(name).withForce(true).exec();
    }
  }
}
