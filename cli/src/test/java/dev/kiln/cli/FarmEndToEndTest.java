package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.events.BuildFailed;
import dev.kiln.events.BuildIds;
import dev.kiln.events.DeadLetters;
import dev.kiln.events.EventCodec;
import dev.kiln.events.ImageReady;
import dev.kiln.events.PushEvent;
import dev.kiln.events.TaskKind;
import dev.kiln.events.TaskResult;
import dev.kiln.testkit.GitRepo;
import dev.kiln.testkit.ImageContents;
import dev.kiln.testkit.LocalRegistry;
import dev.kiln.testkit.PythonBuildTools;
import dev.kiln.testkit.StaticIndexServer;
import dev.kiln.testkit.WheelBuilder;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole farm against real parts: an embedded KRaft broker, real git repositories, a PEP 503
 * index of wheels this test builds, real pip, the offline Debian Python runtime as base image and
 * Debian's registry as the target.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FarmEndToEndTest {
  private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(5);

  @TempDir static Path temp;
  private StaticIndexServer index;
  private LocalRegistry registry;
  private Farm farm;
  private TestPushes pushes;
  private final StringWriter farmLog = new StringWriter();

  @BeforeAll
  void startFarm() throws Exception {
    Path wheels = Files.createDirectories(temp.resolve("wheels"));
    // pip for resolving unpinned requirements in the build sandbox comes from the index.
    PythonBuildTools.copyTo(wheels);
    WheelBuilder.wheel("greeting", "1.0")
        .module(
            "greeting/__init__.py", "VERSION = '1.0'\n\ndef main():\n    print('hello', VERSION)\n")
        .requires("helper-lib>=0.5")
        .requiresPython(">=3.9")
        .consoleScript("greet", "greeting:main")
        .writeTo(wheels);
    // Newer, but not for the Python 3.11 these apps ask for: must never be installed.
    WheelBuilder.wheel("greeting", "2.0")
        .module("greeting/__init__.py", "VERSION = '2.0'\n")
        .requiresPython(">=3.12")
        .writeTo(wheels);
    WheelBuilder.wheel("helper-lib", "0.5")
        .module("helper_lib/__init__.py", "NAME = 'helper'\n")
        .writeTo(wheels);
    WheelBuilder.wheel("slow-download", "1.0")
        .module("slow_download/__init__.py", "")
        .writeTo(wheels);
    index = StaticIndexServer.start(wheels);
    registry = LocalRegistry.start();
    FarmSettings settings =
        FarmSettings.local(
            temp.resolve("home"), index.indexUrl(), registry.address(), 2, "offline");
    farm = Farm.start(settings, farmLog::append);
    pushes = new TestPushes(farm, settings, farmLog, BUILD_TIMEOUT);
  }

  @AfterAll
  void stopFarm() throws Exception {
    if (farm != null) {
      farm.close();
    }
    if (registry != null) {
      registry.close();
    }
    if (index != null) {
      index.close();
    }
  }

  @Test
  void pushedRepositoryBecomesExactlyOneImageWithItsDependenciesForTheRequestedPython()
      throws Exception {
    GitRepo repo = GitRepo.init(temp.resolve("repos/hello"));
    String commit =
        repo.commit(
            Map.of(
                "app.py", "from greeting import VERSION\n",
                "requirements.txt", "greeting\n",
                ".python-version", "3.11\n",
                "Procfile", "web: greet --port $PORT\nworker: greet --queue jobs\n"),
            "the app with a console script and a worker process");

    ImageReady ready = buildSucceeds("e2e", "hello", repo, commit);

    assertThat(ready.pythonVersion()).isEqualTo("3.11.2");
    assertThat(ready.runCommand()).isEqualTo("greet --port $PORT");
    assertExactlyOneImageReady(ready.buildId());

    String repository = "e2e/hello";
    String tag = ready.image().substring(ready.image().lastIndexOf(':') + 1);
    assertThat(ready.image()).startsWith(registry.address() + "/" + repository + ":");
    ImageContents image = ImageContents.fromRegistry(registry.address(), repository, tag);
    var files = image.files();
    assertThat(files).containsKey("app/app.py");
    assertThat(files.get("app/.python-version").text()).isEqualTo("3.11\n");
    assertThat(files.get("opt/kiln/deps/greeting/__init__.py").text()).contains("VERSION = '1.0'");
    assertThat(files)
        .containsKeys(
            "opt/kiln/deps/greeting-1.0.dist-info/METADATA",
            "opt/kiln/deps/helper_lib/__init__.py");
    assertThat(files).doesNotContainKey("opt/kiln/deps/greeting-2.0.dist-info/METADATA");
    assertThat(files.get("opt/kiln/deps/bin/greet").text()).startsWith("#!/usr/bin/env python3\n");
    assertThat(image.containerConfig().get("Cmd").get(0).asText()).isEqualTo("greet --port $PORT");
    assertThat(image.env()).contains("PORT=8080", "PYTHONUNBUFFERED=true");
    assertThat(image.containerConfig().get("WorkingDir").asText()).isEqualTo("/app");
    assertThat(image.containerConfig().get("User").asText()).isNotIn("", "root", "0", "0:0");
    assertThat(image.digest()).isEqualTo(ready.digest().toString());
    // Every process type ships: web is the default command, the worker starts from its label.
    assertThat(ready.processes())
        .containsExactly(
            Map.entry("web", "greet --port $PORT"), Map.entry("worker", "greet --queue jobs"));
    assertThat(image.containerConfig().get("Labels").get("dev.kiln.process.worker").asText())
        .isEqualTo("greet --queue jobs");
    assertThat(image.containerConfig().get("Labels").get("dev.kiln.process.web").asText())
        .isEqualTo("greet --port $PORT");
  }

  @Test
  void sameCommitPushedThreeTimesBuildsOnce() throws Exception {
    GitRepo repo = GitRepo.init(temp.resolve("home/repos/e2e/twice"));
    String commit = repo.commit(pythonApp("helper-lib==0.5\n", "3.11\n"), "test commit");
    PushEvent push = push("e2e", "twice", repo, commit);
    CoordinatorClient coordinator =
        new CoordinatorClient(farm.endpoints().coordinatorUrl(), operatorToken());

    coordinator.push(push);
    publishRaw(
        farm.endpoints().topics().push(),
        push.buildId(),
        new EventCodec("/kiln/test")
            .toRecord(farm.endpoints().topics().push(), push.buildId(), push)
            .value(),
        true,
        push);
    ImageReady ready = awaitImageReady(push);
    CoordinatorClient.Accepted again = coordinator.push(push);

    assertThat(again.status()).isEqualTo("duplicate");
    assertExactlyOneImageReady(ready.buildId());
  }

  @Test
  void malformedPushesAreDeadLetteredAndTheNextPushStillBuilds() throws Exception {
    String pushTopic = farm.endpoints().topics().push();
    publishRaw(pushTopic, "garbage", "{not json".getBytes(StandardCharsets.UTF_8), false, null);
    PushEvent badCommit =
        new PushEvent(
            "e2e", "broken", "file:///nowhere", "main", "0".repeat(40), null, null, Instant.now());
    byte[] body =
        new String(EventCodec.toJson(badCommit), StandardCharsets.UTF_8)
            .replace("0".repeat(40), "main")
            .getBytes(StandardCharsets.UTF_8);
    publishRaw(pushTopic, "bad-commit", body, true, badCommit);

    GitRepo repo = GitRepo.init(temp.resolve("repos/after-garbage"));
    String commit = repo.commit(pythonApp("helper-lib==0.5\n", "3.11\n"), "test commit");
    buildSucceeds("e2e", "after-garbage", repo, commit);

    var deadLetters =
        TopicRecords.readAll(farm.endpoints().kafka(), farm.endpoints().topics().deadLetters());
    assertThat(deadLetters).extracting(r -> r.key()).contains("garbage", "bad-commit");
    var reasonForBadCommit =
        deadLetters.stream()
            .filter(r -> "bad-commit".equals(r.key()))
            .findFirst()
            .orElseThrow()
            .headers()
            .lastHeader(DeadLetters.REASON)
            .value();
    assertThat(new String(reasonForBadCommit, StandardCharsets.UTF_8))
        .startsWith("commit:")
        .contains("'main'");
  }

  @Test
  void theTenantsBuildpackLevelDecidesWhatItsBuildsAcceptAndAnAppCanBeMovedOnItsOwn()
      throws Exception {
    CoordinatorClient operator =
        new CoordinatorClient(
            farm.endpoints().coordinatorUrl(), FarmSecrets.clientToken(null, temp.resolve("home")));
    operator.send("POST", "/v1/tenants", "{\"name\": \"levels\", \"buildpackLevel\": 351}");
    Map<String, String> files = new java.util.HashMap<>(pythonApp("", "3.11\n"));
    // A Heroku build's leftovers committed by mistake: an error since buildpack v291.
    files.put(".heroku/python/bin/python", "#!/bin/sh\n");
    GitRepo repo = GitRepo.init(temp.resolve("repos/leftovers"));
    repo.commit(files, "with .heroku/python");
    StringWriter log = new StringWriter();

    BuildFailed failed = pushes.fails("levels", "leftovers", repo, log);

    assertThat(failed.stage()).isEqualTo(TaskKind.DETECT);
    assertThat(failed.code()).isEqualTo("source::heroku-python-dir");
    assertThat(log.toString()).contains("behaviour of buildpack version 351");

    // The operator keeps this one app at v289's rules, where the directory is only a warning.
    operator.send("PATCH", "/v1/tenants/levels", "{\"appBuildpackLevels\": {\"leftovers\": 289}}");
    repo.commit(Map.of("app.py", "print('again')\n"), "a new commit");
    StringWriter again = new StringWriter();
    ImageReady ready = pushes.succeeds("levels", "leftovers", repo, null, again);
    assertThat(ready.pythonVersion()).isEqualTo("3.11.2");
    assertThat(again.toString())
        .contains("behaviour of buildpack version 289")
        .contains("source::heroku-python-dir");
  }

  @Test
  void aCiBuildInstallsTheTestRequirementsIntoAnImageTaggedForCiThatDeployersSkip()
      throws Exception {
    Map<String, String> files = new java.util.HashMap<>(pythonApp("greeting\n", "3.11\n"));
    files.put("requirements-test.txt", "slow-download\n");
    GitRepo repo = GitRepo.init(temp.resolve("repos/tested"));
    String commit = repo.commit(files, "an app with test requirements");
    StringWriter log = new StringWriter();

    ImageReady ready = pushes.ciBuildSucceeds("e2e", "tested", repo, log);

    assertThat(ready.isCi()).isTrue();
    assertThat(ready.buildId()).isEqualTo(BuildIds.of("e2e", "tested", commit + "\0ci"));
    String tag = ready.image().substring(ready.image().lastIndexOf(':') + 1);
    assertThat(tag).isEqualTo("ci-" + commit.substring(0, 12));
    assertThat(log.toString())
        .contains("for a CI build")
        .contains("CI build: also installing requirements-test.txt");
    var image = ImageContents.fromRegistry(registry.address(), "e2e/tested", tag).files();
    assertThat(image)
        .containsKeys(
            "opt/kiln/deps/greeting/__init__.py", "opt/kiln/deps/slow_download/__init__.py");
  }

  @Test
  void requirementMissingFromTheIndexFailsTheBuildWithACodeNamingThePackage() throws Exception {
    GitRepo repo = GitRepo.init(temp.resolve("repos/missing"));
    repo.commit(pythonApp("no-such-package==1.0\n", "3.11\n"), "test commit");
    StringWriter log = new StringWriter();

    BuildFailed failed = pushes.fails("e2e", "missing", repo, log);

    assertThat(failed.stage()).isEqualTo(TaskKind.INSTALL);
    assertThat(failed.code()).isEqualTo("install::package-not-found");
    assertThat(failed.message()).contains("no-such-package");
    assertThat(log.toString()).contains("install::package-not-found");
  }

  @Test
  void everyServiceCountsTheBuildsOnItsMetricsAndEachFailureIsShownOnce() throws Exception {
    FarmSecrets secrets = FarmSecrets.loadOrCreate(temp.resolve("home"));
    String coordinatorMetrics = farm.endpoints().coordinatorUrl() + "/metrics";
    String cacheMetrics = farm.endpoints().cacheUrl() + "/metrics";
    String workerMetrics = farm.endpoints().workerMetricsUrl();
    PrometheusScrape coordinatorBefore =
        PrometheusScrape.of(coordinatorMetrics, secrets.operatorToken());
    PrometheusScrape cacheBefore = PrometheusScrape.of(cacheMetrics, secrets.farmToken());
    PrometheusScrape workerBefore = PrometheusScrape.of(workerMetrics, secrets.farmToken());

    GitRepo repo = GitRepo.init(temp.resolve("repos/observed"));
    repo.commit(pythonApp("helper-lib==0.5\n", "3.11\n"), "first");
    ImageReady traced = pushes.succeeds("observed", "web", repo);
    repo.commit(Map.of("app.py", "print('hello again')\n"), "app code only");
    pushes.succeeds("observed", "web", repo);
    GitRepo broken = GitRepo.init(temp.resolve("repos/observed-broken"));
    broken.commit(pythonApp("no-such-package==1.0\n", "3.11\n"), "a missing package");
    StringWriter pushOutput = new StringWriter();
    BuildFailed failed = pushes.fails("observed", "broken", broken, pushOutput);

    // One trace from the push through every task (real workers) to the image-ready event.
    String pushTrace =
        // A push names its commit, not the build id (which is derived from it).
        traceIdOn(farm.endpoints().topics().push(), traced.commit()).stream()
            .findFirst()
            .orElseThrow();
    assertThat(traceIdOn(farm.endpoints().topics().tasks(), traced.buildId()))
        .hasSizeGreaterThanOrEqualTo(2)
        .containsOnly(pushTrace);
    assertThat(traceIdOn(farm.endpoints().topics().imageReady(), traced.buildId()))
        .containsExactly(pushTrace);

    // Each failure is shown once: in `kiln push`'s output and in the build's log over HTTP.
    String firstLine = failed.message().lines().findFirst().orElseThrow();
    assertThat(occurrences(pushOutput.toString(), firstLine))
        .as(pushOutput.toString())
        .isEqualTo(1);
    StringBuilder logText = new StringBuilder();
    new CoordinatorClient(farm.endpoints().coordinatorUrl(), secrets.operatorToken())
        .streamLines(
            "/v1/builds/" + failed.buildId() + "/log",
            "text/plain",
            line -> logText.append(line).append('\n'));
    assertThat(occurrences(logText.toString(), firstLine)).as(logText.toString()).isEqualTo(1);
    assertThat(logText.toString()).contains(failed.code());

    PrometheusScrape coordinator = PrometheusScrape.of(coordinatorMetrics, secrets.operatorToken());
    PrometheusScrape cache = PrometheusScrape.of(cacheMetrics, secrets.farmToken());
    PrometheusScrape worker = PrometheusScrape.of(workerMetrics, secrets.farmToken());
    assertThat(List.of(coordinator.status(), cache.status(), worker.status())).containsOnly(200);

    // Coordinator: outcomes by failure code and per tenant, step histograms, the action cache.
    assertThat(
            delta(
                coordinatorBefore,
                coordinator,
                "kiln_tenant_builds_total",
                Map.of("tenant", "observed", "outcome", "succeeded")))
        .isEqualTo(2);
    assertThat(
            delta(
                coordinatorBefore,
                coordinator,
                "kiln_tenant_builds_total",
                Map.of("tenant", "observed", "outcome", "failed")))
        .isEqualTo(1);
    assertThat(
            delta(
                coordinatorBefore,
                coordinator,
                "kiln_builds_total",
                Map.of("outcome", "succeeded", "code", "none")))
        .isEqualTo(2);
    assertThat(
            delta(
                coordinatorBefore,
                coordinator,
                "kiln_builds_total",
                Map.of("outcome", "failed", "code", "install::package-not-found")))
        .isEqualTo(1);
    assertThat(
            delta(
                coordinatorBefore,
                coordinator,
                "kiln_build_step_duration_seconds_count",
                Map.of("step", "ASSEMBLE", "outcome", "succeeded")))
        .isEqualTo(2);
    assertThat(
            delta(
                coordinatorBefore,
                coordinator,
                "kiln_build_step_duration_seconds_bucket",
                Map.of("step", "ASSEMBLE", "outcome", "succeeded", "le", "+Inf")))
        .isEqualTo(2);
    assertThat(
            delta(
                coordinatorBefore,
                coordinator,
                "kiln_build_duration_seconds_count",
                Map.of("outcome", "failed")))
        .isEqualTo(1);
    double lookups =
        delta(coordinatorBefore, coordinator, "kiln_action_cache_lookups_total", Map.of());
    double hits =
        delta(
            coordinatorBefore,
            coordinator,
            "kiln_action_cache_lookups_total",
            Map.of("result", "hit"));
    assertThat(lookups).as("one lookup per build that installs").isEqualTo(3);
    assertThat(hits)
        .as("the app-only push reuses the first push's layer")
        .isGreaterThanOrEqualTo(1);
    assertThat(coordinator.sum("kiln_action_cache_hit_ratio")).isBetween(0.0, 1.0);
    assertThat(coordinator.has("kiln_builds_current", Map.of("state", "queued"))).isTrue();
    assertThat(
            coordinator.sum(
                "kiln_consumer_lag_records",
                Map.of("topic", farm.endpoints().topics().push(), "group", "kiln-coordinator")))
        .as("every push was decided and committed: %s", coordinator.body())
        .isZero();

    // Workers: each task's duration by step and outcome, the consumer lag on kiln.tasks.
    assertThat(
            delta(
                workerBefore,
                worker,
                "kiln_task_duration_seconds_count",
                Map.of("step", "ASSEMBLE", "outcome", "succeeded")))
        .isEqualTo(2);
    assertThat(
            delta(
                workerBefore,
                worker,
                "kiln_task_duration_seconds_count",
                Map.of("step", "INSTALL", "outcome", "failed")))
        .isEqualTo(1);
    assertThat(
            worker.sum(
                "kiln_consumer_lag_records", Map.of("topic", farm.endpoints().topics().tasks())))
        .as("the lag is read from the broker: %s", worker.body())
        .isNotNaN()
        .isGreaterThanOrEqualTo(0);
    assertThat(worker.sum("kiln_tasks_running")).isGreaterThanOrEqualTo(0);
    // The failing INSTALL resolved its requirements with pip in the build sandbox.
    assertThat(
            delta(
                workerBefore,
                worker,
                "kiln_sandbox_duration_seconds_count",
                Map.of("ending", "exited")))
        .isGreaterThanOrEqualTo(1);

    // Cache-service: the store's size and evictions, the action cache's answers.
    assertThat(cache.sum("kiln_store_size_bytes")).isPositive();
    assertThat(cache.has("kiln_store_evictions_total", Map.of())).isTrue();
    assertThat(delta(cacheBefore, cache, "kiln_action_cache_requests_total", Map.of()))
        .isGreaterThanOrEqualTo(3);
    assertThat(cache.sum("kiln_action_cache_requests_total", Map.of("result", "hit")))
        .isGreaterThanOrEqualTo(1);

    // A failure the buildpack rules frame themselves (DETECT) is not framed a second time.
    GitRepo noRunCommand = GitRepo.init(temp.resolve("repos/observed-norun"));
    noRunCommand.commit(
        Map.of("app.py", "print('hi')\n", "requirements.txt", "", ".python-version", "3.11\n"),
        "no Procfile, no web server");
    StringWriter detectOutput = new StringWriter();
    BuildFailed detectFailed = pushes.fails("observed", "norun", noRunCommand, detectOutput);
    assertThat(detectFailed.stage()).isEqualTo(TaskKind.DETECT);
    String detectLine = detectFailed.message().lines().findFirst().orElseThrow();
    assertThat(occurrences(detectOutput.toString(), detectLine))
        .as(detectOutput.toString())
        .isEqualTo(1);
  }

  @Test
  void aTenantTokenCannotReadTheFarmsMetricsWhichNameEveryTenant() throws Exception {
    FarmSecrets secrets = FarmSecrets.loadOrCreate(temp.resolve("home"));
    CoordinatorClient operator =
        new CoordinatorClient(farm.endpoints().coordinatorUrl(), secrets.operatorToken());
    operator.send("POST", "/v1/tenants", "{\"name\":\"nosy\"}");
    String tenantToken =
        operator.send("POST", "/v1/tenants/nosy/tokens", "{}").path("token").asText();
    assertThat(tenantToken).startsWith("kiln_");

    assertThat(
            PrometheusScrape.of(farm.endpoints().coordinatorUrl() + "/metrics", tenantToken)
                .status())
        .isEqualTo(403);
    assertThat(PrometheusScrape.of(farm.endpoints().coordinatorUrl() + "/metrics", null).status())
        .isEqualTo(401);
    assertThat(PrometheusScrape.of(farm.endpoints().cacheUrl() + "/metrics", tenantToken).status())
        .isEqualTo(403);
    assertThat(PrometheusScrape.of(farm.endpoints().workerMetricsUrl(), tenantToken).status())
        .isEqualTo(403);
    assertThat(PrometheusScrape.of(farm.endpoints().workerMetricsUrl(), null).status())
        .isEqualTo(401);
  }

  /** The trace id in the traceparent header of each record on a topic that names {@code id}. */
  private List<String> traceIdOn(String topic, String id) {
    List<String> traces = new java.util.ArrayList<>();
    for (var record : TopicRecords.readAll(farm.endpoints().kafka(), topic)) {
      if (!new String(record.value(), StandardCharsets.UTF_8).contains(id)) {
        continue;
      }
      var header = record.headers().lastHeader("traceparent");
      assertThat(header).as("a traceparent on %s", topic).isNotNull();
      traces.add(dev.kiln.observability.Tracing.spanContextOf(record.headers()).getTraceId());
    }
    return traces;
  }

  private static double delta(
      PrometheusScrape before, PrometheusScrape after, String name, Map<String, String> labels) {
    return after.sum(name, labels) - before.sum(name, labels);
  }

  private static int occurrences(String text, String part) {
    int count = 0;
    for (int at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + part.length())) {
      count++;
    }
    return count;
  }

  @Test
  void coordinatorStoppedMidBuildIsReplacedAndTheBuildCompletesExactlyOnce() throws Exception {
    GitRepo repo = GitRepo.init(temp.resolve("home/repos/e2e/restart"));
    String commit = repo.commit(pythonApp("slow-download==1.0\n", "3.11.2\n"), "test commit");
    PushEvent push = push("e2e", "restart", repo, commit);
    CoordinatorClient coordinator =
        new CoordinatorClient(farm.endpoints().coordinatorUrl(), operatorToken());
    Runnable releaseDownload = index.hold("slow_download-1.0-py3-none-any.whl");
    coordinator.push(push);
    await()
        .atMost(Duration.ofSeconds(60))
        .ignoreExceptions()
        .until(
            () ->
                coordinator
                    .get("/v1/builds/" + push.buildId())
                    .path("state")
                    .asText()
                    .equals("INSTALLING"));

    farm.stopCoordinator(); // mid-build: the INSTALL task is running and its result comes while no
    // coordinator runs
    releaseDownload.run();
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () ->
                TopicRecords.bodies(
                        farm.endpoints().kafka(),
                        farm.endpoints().topics().results(),
                        TaskResult.class)
                    .stream()
                    .anyMatch(
                        r -> r.buildId().equals(push.buildId()) && r.kind() == TaskKind.INSTALL));
    farm.startCoordinatorAgain();

    ImageReady ready = awaitImageReady(push);
    assertThat(ready.pythonVersion()).isEqualTo("3.11.2");
    assertExactlyOneImageReady(push.buildId());
    assertThat(
            new CoordinatorClient(farm.endpoints().coordinatorUrl(), operatorToken())
                .get("/v1/builds/" + push.buildId())
                .path("state")
                .asText())
        .isEqualTo("SUCCEEDED");
  }

  private ImageReady buildSucceeds(String tenant, String app, GitRepo repo, String commit) {
    ImageReady ready = pushes.succeeds(tenant, app, repo);
    assertThat(ready.commit()).isEqualTo(commit);
    return ready;
  }

  /** A minimal app: one module, a Procfile, a Python version and the given requirements. */
  private static Map<String, String> pythonApp(String requirements, String pythonVersion) {
    return Map.of(
        "app.py",
        "print('hello')\n",
        "requirements.txt",
        requirements,
        ".python-version",
        pythonVersion,
        "Procfile",
        "web: python app.py\n");
  }

  private PushEvent push(String tenant, String app, GitRepo repo, String commit) {
    return new PushEvent(tenant, app, repo.url(), "main", commit, null, Map.of(), Instant.now());
  }

  private ImageReady awaitImageReady(PushEvent push) {
    return BuildFollower.follow(
            farm.endpoints().kafka(),
            farm.endpoints().topics(),
            push.buildId(),
            push.tenant(),
            push.app(),
            BUILD_TIMEOUT,
            line -> {})
        .map(dev.kiln.messaging.BuildWatch.Outcome::imageReady)
        .orElseThrow(
            () ->
                new AssertionError("no image-ready for " + push.buildId() + "; farm:\n" + farmLog));
  }

  private void assertExactlyOneImageReady(String buildId) {
    // Quiet for a while after the build: a duplicate would show up within this window.
    await()
        .during(Duration.ofSeconds(3))
        .atMost(Duration.ofSeconds(20))
        .until(() -> countImageReady(buildId) == 1);
  }

  private long countImageReady(String buildId) {
    List<ImageReady> all =
        TopicRecords.bodies(
            farm.endpoints().kafka(), farm.endpoints().topics().imageReady(), ImageReady.class);
    return all.stream().filter(r -> r.buildId().equals(buildId)).count();
  }

  /** Writes straight to Kafka, as a webhook bridge or a misbehaving producer would. */
  private void publishRaw(
      String topic, String key, byte[] value, boolean withCloudEventHeaders, PushEvent forHeaders) {
    Map<String, Object> config =
        Map.of(
            "bootstrap.servers",
            farm.endpoints().kafka(),
            "key.serializer",
            StringSerializer.class.getName(),
            "value.serializer",
            ByteArraySerializer.class.getName());
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(config)) {
      ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, key, value);
      if (withCloudEventHeaders) {
        new EventCodec("/kiln/test")
            .toRecord(topic, key, forHeaders)
            .headers()
            .forEach(h -> record.headers().add(h));
      }
      producer.send(record).get();
    } catch (Exception e) {
      throw new AssertionError("could not publish to " + topic, e);
    }
  }

  /** What `kiln` sends on the farm's machine: the operator token from <home>/secrets. */
  private String operatorToken() {
    return FarmSecrets.clientToken(null, temp.resolve("home"));
  }
}
