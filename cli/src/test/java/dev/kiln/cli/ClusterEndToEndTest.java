package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.Volume;
import dev.kiln.events.BuildFailed;
import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildState;
import dev.kiln.events.BuildTask;
import dev.kiln.events.EventCodec;
import dev.kiln.events.ImageReady;
import dev.kiln.events.InvalidEventException;
import dev.kiln.events.PushEvent;
import dev.kiln.events.TaskHeartbeat;
import dev.kiln.events.TaskKind;
import dev.kiln.events.Topics;
import dev.kiln.testkit.GitRepo;
import dev.kiln.testkit.PythonBuildTools;
import dev.kiln.testkit.S3TestServer;
import dev.kiln.testkit.StaticIndexServer;
import dev.kiln.testkit.WheelBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * The farm as a cluster of containers of Kiln's own image ({@code kiln image build}'s code, on the
 * locally built base: nothing is pulled): a {@code kiln broker} whose log is on a docker volume,
 * two {@code kiln cache-service} replicas sharing one S3 bucket (s3proxy in this JVM), two {@code
 * kiln coordinator} replicas and three {@code kiln worker}s, all on the host network on 127.0.0.1.
 *
 * <p>While 30 builds (three tenants, four dependency sets) run, the worker running one INSTALL is
 * {@code docker kill}ed mid-download, one coordinator is {@code docker kill}ed for good, and the
 * broker is {@code docker restart}ed. Every build must end exactly once: 30 image-ready records
 * (read_committed) for 30 distinct builds, none failed, every build's last snapshot SUCCEEDED with
 * its outcome published; and the killed worker's INSTALL is issued again as attempt 2, which
 * another worker runs.
 */
class ClusterEndToEndTest {
  private static final int BUILDS = 30;
  private static final int COORDINATORS = 2;
  private static final List<String> TENANTS = List.of("alpha", "beta", "gamma");

  /** Dependency sets: each is one INSTALL (then action-cache hits); the last one is held. */
  private static final List<String> REQUIREMENTS =
      List.of("helper-lib==0.5\n", "greeting==1.0\nhelper-lib==0.5\n", "extra-lib==1.0\n");

  private static final String SLOW_REQUIREMENTS = "slow-download==1.0\n";
  private static final String SLOW_WHEEL = "slow_download-1.0-py3-none-any.whl";
  private static final int SLOW_BUILD = 4; // pushed early, so its INSTALL runs among the first

  /**
   * Short enough that the coordinator re-issues the dead worker's task long before Kafka's consumer
   * group (45 s session timeout) hands the task's partition, with the unfinished attempt 1, to
   * another worker; long enough that a CPU-starved worker on this small machine keeps its lease.
   */
  private static final Duration TASK_LEASE = Duration.ofSeconds(20);

  /** Small heaps and a cheap JIT: eight JVMs share the machine with the builds. */
  private static final String JVM_OPTIONS = "-Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1";

  private static final Path RUNTIMES = Path.of("/var/cache/kiln/runtimes");

  @TempDir Path temp;

  private final String run = UUID.randomUUID().toString().substring(0, 8);
  private final String image = "kiln:cluster-test-" + run;
  private final Map<String, GenericContainer<?>> containers = new LinkedHashMap<>();

  @Test
  void thirtyBuildsEndExactlyOnceThoughAWorkerACoordinatorAndTheBrokerGoDownMidRun()
      throws Exception {
    TestImages.requireDockerDaemon();
    long started = System.nanoTime();
    TestKilnImage.build(image, line -> {});
    say("Kiln's image " + image + " built", started);

    Path wheels = Files.createDirectories(temp.resolve("wheels"));
    PythonBuildTools.copyTo(wheels);
    WheelBuilder.wheel("greeting", "1.0")
        .module("greeting/__init__.py", "VERSION = '1.0'\n")
        .requires("helper-lib>=0.5")
        .writeTo(wheels);
    WheelBuilder.wheel("helper-lib", "0.5")
        .module("helper_lib/__init__.py", "NAME = 'helper'\n")
        .writeTo(wheels);
    WheelBuilder.wheel("extra-lib", "1.0")
        .module("extra_lib/__init__.py", "EXTRA = True\n")
        .writeTo(wheels);
    WheelBuilder.wheel("slow-download", "1.0")
        .module("slow_download/__init__.py", "")
        .writeTo(wheels);

    // The coordinators' home (mounted at the same path): the farm's secrets, and the tenants'
    // repositories under <home>/repos/<tenant>/, which the workers read at the same path.
    Path home = temp.resolve("home");
    FarmSecrets secrets = FarmSecrets.loadOrCreate(home);
    Path repos = Files.createDirectories(home.resolve("repos"));
    Topics topics = Topics.withPrefix("");
    String brokerVolume = "kiln-cluster-broker-" + run;
    DockerClient docker = DockerClientFactory.instance().client();

    try (StaticIndexServer index = StaticIndexServer.start(wheels);
        S3TestServer s3 = new S3TestServer()) {
      String bucket = s3.newBucket();
      String kafka = "127.0.0.1:" + BrokerCommandTest.freePort();

      GenericContainer<?> broker =
          kiln(
              "broker",
              "The broker is up on",
              List.of(Bind.parse(brokerVolume + ":/var/lib/kiln-broker")),
              c -> {},
              "broker",
              "--data",
              "/var/lib/kiln-broker/data",
              "--listen",
              kafka);

      List<String> cacheUrls = new ArrayList<>();
      for (int i = 1; i <= 2; i++) {
        cacheUrls.add("http://127.0.0.1:" + BrokerCommandTest.freePort());
      }
      List<String> coordinatorUrls = new ArrayList<>();
      for (int i = 1; i <= COORDINATORS; i++) {
        int port = BrokerCommandTest.freePort();
        kiln(
            "coordinator-" + i,
            "The coordinator is up on",
            List.of(Bind.parse(home + ":" + home)),
            c -> {},
            "coordinator",
            "--home",
            home.toString(),
            "--kafka",
            kafka,
            "--listen",
            "127.0.0.1",
            "--http-port",
            String.valueOf(port),
            "--cache-url",
            cacheUrls.get(i - 1),
            "--instance-id",
            "coordinator-" + i,
            "--task-lease",
            TASK_LEASE.toString());
        coordinatorUrls.add("http://127.0.0.1:" + port);
      }
      for (int i = 1; i <= 2; i++) {
        String cacheUrl = cacheUrls.get(i - 1);
        kiln(
            "cache-service-" + i,
            "The cache-service is up on",
            List.of(),
            c ->
                c.withEnv("KILN_FARM_TOKEN", secrets.farmToken())
                    .withEnv("KILN_SECRET_KEY", secrets.secretKey())
                    .withEnv("AWS_ACCESS_KEY_ID", S3TestServer.ACCESS_KEY)
                    .withEnv("AWS_SECRET_ACCESS_KEY", S3TestServer.SECRET_KEY),
            "cache-service",
            "--kafka",
            kafka,
            "--listen",
            "127.0.0.1",
            "--cache-port",
            cacheUrl.substring(cacheUrl.lastIndexOf(':') + 1),
            "--upstream-index",
            index.indexUrl(),
            "--store",
            "s3://" + bucket + "/farm",
            "--s3-endpoint",
            s3.endpoint().toString(),
            "--s3-region",
            "us-east-1");
      }
      // Workers run tenants' build steps in bubblewrap, which makes namespaces and mounts: they get
      // CAP_SYS_ADMIN and no seccomp/AppArmor filter, as in deploy/compose.yaml, and nothing more
      // (not systempaths=unconfined: the sandbox copes with Docker's masked /proc).
      for (int i = 1; i <= 3; i++) {
        String id = "worker-" + i;
        kiln(
            id,
            "The worker " + id + " is up",
            // Its own home at the coordinator's path (an anonymous volume), so <home>/repos, its
            // source root, is the tenants' repositories.
            List.of(
                Bind.parse(repos + ":" + repos + ":ro"),
                Bind.parse(RUNTIMES + ":" + RUNTIMES + ":ro")),
            c ->
                c.withEnv("KILN_FARM_TOKEN", secrets.farmToken())
                    .withCreateContainerCmdModifier(
                        cmd -> {
                          cmd.withVolumes(new Volume(home.toString()));
                          cmd.getHostConfig()
                              .withCapAdd(Capability.SYS_ADMIN)
                              .withSecurityOpts(
                                  List.of("seccomp=unconfined", "apparmor=unconfined"));
                        }),
            "worker",
            "--home",
            home.toString(),
            "--kafka",
            kafka,
            "--cache-url",
            cacheUrls.get((i - 1) % 2),
            "--worker-id",
            id,
            "--runtime-catalog",
            "offline",
            "--metrics-port",
            "0");
      }
      say(
          "cluster up: 1 broker, " + COORDINATORS + " coordinators, 2 cache-services, 3 workers",
          started);

      // Pushes go to the coordinator that stays up; each tenant is created by its first push
      // (--auto-create-tenants), and must be known to the other coordinator before its builds can
      // land on that one's partitions.
      CoordinatorClient coordinator =
          new CoordinatorClient(coordinatorUrls.get(1), secrets.operatorToken());
      CoordinatorClient other =
          new CoordinatorClient(coordinatorUrls.get(0), secrets.operatorToken());
      Runnable releaseSlowDownload = index.hold(SLOW_WHEEL);
      List<String> buildIds = new ArrayList<>();
      for (int i = 0; i < BUILDS; i++) {
        String tenant = TENANTS.get(i % TENANTS.size());
        String app = "app-" + i;
        GitRepo repo = GitRepo.init(repos.resolve(tenant).resolve(app));
        String requirements =
            i == SLOW_BUILD ? SLOW_REQUIREMENTS : REQUIREMENTS.get(i % REQUIREMENTS.size());
        String commit =
            repo.commit(
                Map.of(
                    "app.py",
                    "print('hello from " + app + "')\n",
                    "requirements.txt",
                    requirements,
                    ".python-version",
                    "3.11\n",
                    "Procfile",
                    "web: python app.py\n"),
                app);
        buildIds.add(
            coordinator
                .push(
                    new PushEvent(
                        tenant, app, repo.url(), "main", commit, null, Map.of(), Instant.now()))
                .buildId());
        if (i < TENANTS.size()) {
          await()
              .atMost(Duration.ofMinutes(1))
              .ignoreExceptions()
              .until(
                  () -> other.get("/v1/tenants/" + tenant).path("name").asText(), tenant::equals);
        }
      }
      assertThat(new TreeSet<>(buildIds)).hasSize(BUILDS);
      String slowBuild = buildIds.get(SLOW_BUILD);
      say(
          BUILDS + " builds pushed; the INSTALL of " + slowBuild + " will hang on its wheel",
          started);

      // 1. The worker running the slow INSTALL, caught mid-download (its claim names it).
      TaskHeartbeat claim =
          await()
              .atMost(Duration.ofMinutes(5))
              .pollInterval(Duration.ofSeconds(1))
              .ignoreExceptions()
              .until(
                  () ->
                      index.requestCount(StaticIndexServer.filePath(SLOW_WHEEL)) > 0
                          ? heartbeats(kafka, topics, slowBuild, 1).stream().findFirst()
                          : Optional.<TaskHeartbeat>empty(),
                  Optional::isPresent)
              .orElseThrow();
      String victim = claim.worker();
      docker.killContainerCmd(containers.get(victim).getContainerId()).exec();
      say("killed " + victim + " while it ran " + claim.taskId(), started);

      // 2. No sign of life for a lease: the coordinator issues the INSTALL again, attempt 2.
      BuildTask retry =
          await()
              .atMost(Duration.ofMinutes(3))
              .pollInterval(Duration.ofSeconds(1))
              .ignoreExceptions()
              .until(() -> installTask(kafka, topics, slowBuild, 2), Optional::isPresent)
              .orElseThrow();
      releaseSlowDownload.run();
      say("the coordinator issued " + retry.taskId() + "; the download is released", started);

      // 3. One coordinator dies for good; once the group notices, the other is assigned its
      // partitions, restores their builds from kiln.builds and carries on.
      docker.killContainerCmd(containers.get("coordinator-1").getContainerId()).exec();
      say("killed coordinator-1", started);

      // 4. The broker restarts on its volume; every client reconnects.
      docker.restartContainerCmd(broker.getContainerId()).withTimeout(10).exec();
      await()
          .atMost(Duration.ofMinutes(3))
          .pollInterval(Duration.ofSeconds(1))
          .until(() -> occurrences(broker.getLogs(), "The broker is up on") >= 2);
      say("the broker is back", started);

      // Every build ends: 30 image-ready records, and no build-failed.
      await()
          .atMost(Duration.ofMinutes(12))
          .pollInterval(Duration.ofSeconds(3))
          .until(
              () -> {
                List<BuildFailed> failed;
                Set<String> readyIds;
                try {
                  failed = TopicRecords.bodies(kafka, topics.buildFailed(), BuildFailed.class);
                  readyIds =
                      TopicRecords.bodies(kafka, topics.imageReady(), ImageReady.class).stream()
                          .map(ImageReady::buildId)
                          .collect(Collectors.toSet());
                } catch (RuntimeException e) {
                  return Set.<String>of(); // the broker is busy; ask again
                }
                if (!failed.isEmpty()) {
                  throw new AssertionError("builds failed: " + failed + logTails());
                }
                return readyIds;
              },
              ready -> ready.containsAll(buildIds));
      // ...and every build's last snapshot says its outcome is published, so no coordinator will
      // ever publish it again.
      await()
          .atMost(Duration.ofMinutes(2))
          .pollInterval(Duration.ofSeconds(2))
          .ignoreExceptions()
          .until(
              () -> lastSnapshots(kafka, topics),
              last ->
                  buildIds.stream()
                      .allMatch(
                          id ->
                              last.containsKey(id)
                                  && last.get(id).state() == BuildState.SUCCEEDED
                                  && last.get(id).outcomePublished()));
      say("all " + BUILDS + " builds succeeded", started);

      List<ImageReady> ready = TopicRecords.bodies(kafka, topics.imageReady(), ImageReady.class);
      assertThat(ready).as("image-ready records, one per build").hasSize(BUILDS);
      assertThat(ready.stream().map(ImageReady::buildId).collect(Collectors.toSet()))
          .containsExactlyInAnyOrderElementsOf(buildIds);
      assertThat(TopicRecords.bodies(kafka, topics.buildFailed(), BuildFailed.class)).isEmpty();

      // The killed worker's INSTALL ran again as attempt 2 on another worker, and the build's
      // image comes from that attempt.
      List<TaskHeartbeat> secondAttempt = heartbeats(kafka, topics, slowBuild, 2);
      assertThat(secondAttempt).isNotEmpty();
      assertThat(secondAttempt).extracting(TaskHeartbeat::worker).doesNotContain(victim);
      assertThat(secondAttempt).extracting(TaskHeartbeat::taskId).containsOnly(retry.taskId());
      BuildSnapshot slow = lastSnapshots(kafka, topics).get(slowBuild);
      assertThat(slow.state()).isEqualTo(BuildState.SUCCEEDED);
      assertThat(ready).filteredOn(r -> r.buildId().equals(slowBuild)).hasSize(1);
      say(
          "attempt 2 of the INSTALL ran on "
              + secondAttempt.get(0).worker()
              + "; retried tasks in all: "
              + retriedTasks(kafka, topics),
          started);
    } finally {
      saveLogs();
      for (GenericContainer<?> container : containers.values()) {
        try {
          container.stop();
        } catch (RuntimeException e) {
          System.out.println("could not remove " + container.getContainerName() + ": " + e);
        }
      }
      try {
        docker.removeVolumeCmd(brokerVolume).exec();
      } catch (RuntimeException e) {
        // never created, when the broker did not start
      }
      try {
        docker.removeImageCmd(image).withForce(true).exec();
      } catch (RuntimeException e) {
        System.out.println("could not remove " + image + ": " + e);
      }
    }
  }

  /**
   * Starts {@code kiln args…} in a container of the image, on the host network, with {@code binds}
   * (given to Docker as they are: Testcontainers' own file binds would first run a check container
   * of an image that cannot be pulled here).
   */
  private GenericContainer<?> kiln(
      String name,
      String upLine,
      List<Bind> binds,
      Consumer<GenericContainer<?>> more,
      String... args) {
    GenericContainer<?> container =
        new GenericContainer<>(DockerImageName.parse(image))
            .withImagePullPolicy(unused -> false)
            .withNetworkMode("host")
            .withEnv("JDK_JAVA_OPTIONS", JVM_OPTIONS)
            .withCommand(args)
            .waitingFor(
                Wait.forLogMessage(".*" + upLine + ".*", 1)
                    .withStartupTimeout(Duration.ofMinutes(4)));
    if (!binds.isEmpty()) {
      container.withCreateContainerCmdModifier(cmd -> cmd.getHostConfig().withBinds(binds));
    }
    more.accept(container);
    containers.put(name, container);
    container.start();
    return container;
  }

  /** The heartbeats of {@code buildId}'s INSTALL attempt {@code attempt}, oldest first. */
  private static List<TaskHeartbeat> heartbeats(
      String kafka, Topics topics, String buildId, int attempt) {
    return TopicRecords.bodies(kafka, topics.results(), TaskHeartbeat.class).stream()
        .filter(h -> h.buildId().equals(buildId))
        .filter(h -> h.kind() == TaskKind.INSTALL && h.attempt() == attempt)
        .toList();
  }

  private static Optional<BuildTask> installTask(
      String kafka, Topics topics, String buildId, int attempt) {
    return TopicRecords.bodies(kafka, topics.tasks(), BuildTask.class).stream()
        .filter(t -> t.buildId().equals(buildId))
        .filter(t -> t.kind() == TaskKind.INSTALL && t.attempt() == attempt)
        .findFirst();
  }

  /** Tasks of any build issued with an attempt above 1, as {@code build/kind/attempt}. */
  private static Set<String> retriedTasks(String kafka, Topics topics) {
    return TopicRecords.bodies(kafka, topics.tasks(), BuildTask.class).stream()
        .filter(t -> t.attempt() > 1)
        .map(t -> t.buildId() + "/" + t.kind() + "/" + t.attempt())
        .collect(Collectors.toCollection(TreeSet::new));
  }

  /** The last snapshot of every build on {@code kiln.builds} (one build keeps one partition). */
  private static Map<String, BuildSnapshot> lastSnapshots(String kafka, Topics topics) {
    Map<String, BuildSnapshot> last = new LinkedHashMap<>();
    for (ConsumerRecord<String, byte[]> record : TopicRecords.readAll(kafka, topics.builds())) {
      if (record.value() == null) {
        last.remove(record.key());
        continue;
      }
      try {
        BuildSnapshot snapshot =
            EventCodec.decode(record.headers(), record.value()).body(BuildSnapshot.class);
        last.put(snapshot.buildId(), snapshot);
      } catch (InvalidEventException e) {
        // not a snapshot
      }
    }
    return last;
  }

  private static int occurrences(String text, String part) {
    int count = 0;
    for (int at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + 1)) {
      count++;
    }
    return count;
  }

  private static void say(String what, long since) {
    System.out.printf(
        "[cluster test +%ds] %s%n", Duration.ofNanos(System.nanoTime() - since).toSeconds(), what);
  }

  /** The last lines of every container's log, for a failure message. */
  private String logTails() {
    StringBuilder all = new StringBuilder();
    containers.forEach(
        (name, container) -> {
          String log;
          try {
            log = container.getLogs();
          } catch (RuntimeException e) {
            log = "(no log: " + e + ")";
          }
          List<String> lines = log.lines().toList();
          all.append("\n===== ")
              .append(name)
              .append(" =====\n")
              .append(
                  String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size())));
        });
    return all.toString();
  }

  /** Every container's whole log under target/cluster-test-logs/, for after the run. */
  private void saveLogs() {
    Path dir = Path.of("target", "cluster-test-logs");
    containers.forEach(
        (name, container) -> {
          try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(name + ".log"), container.getLogs());
          } catch (IOException | RuntimeException e) {
            System.out.println("no log of " + name + ": " + e);
          }
        });
  }
}
