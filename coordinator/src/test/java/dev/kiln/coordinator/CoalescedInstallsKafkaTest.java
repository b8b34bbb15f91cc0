package dev.kiln.coordinator;

import static dev.kiln.coordinator.Awaits.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.events.BuildCancelled;
import dev.kiln.events.BuildFailed;
import dev.kiln.events.BuildLogLine;
import dev.kiln.events.BuildTask;
import dev.kiln.events.DependencyLayer;
import dev.kiln.events.EventCodec;
import dev.kiln.events.ImageReady;
import dev.kiln.events.PushEvent;
import dev.kiln.events.TaskKind;
import dev.kiln.events.Tenant;
import dev.kiln.events.Topics;
import io.vertx.core.http.HttpServer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Many builds of one new dependency set at once: one INSTALL is sent, the other builds wait for it
 * and reuse its layer from the action cache; a failed install hands the set to a waiting build;
 * another tenant's install is never waited for; waiting builds survive a coordinator restart.
 */
@ExtendWith(SharedKafka.class)
class CoalescedInstallsKafkaTest {
  private static final Tenant.Quotas ROOMY = new Tenant.Quotas(50, 50, 20L << 30);

  private Harness farm;
  private ScriptedWorkers workers;

  /** The action cache's entries by tenant and key, as tenant-scoped results are stored. */
  private final Map<String, String> actionEntries = new ConcurrentHashMap<>();

  private String cacheUrl;

  @BeforeEach
  void start() throws Exception {
    farm =
        new Harness(
            List.of(
                TestSecurity.tenant("acme", TestSecurity.ACME_TOKEN, ROOMY),
                TestSecurity.tenant("globex", TestSecurity.GLOBEX_TOKEN, ROOMY)));
    HttpServer server =
        await(
            farm.vertx
                .createHttpServer()
                .requestHandler(
                    request -> {
                      String entry =
                          request.path().startsWith("/ac/")
                              ? actionEntries.get(
                                  request.getHeader("X-Kiln-Tenant")
                                      + "/"
                                      + request.path().substring(4))
                              : null;
                      if (entry == null) {
                        request.response().setStatusCode(404).end("{\"error\":\"none\"}");
                      } else {
                        request.response().putHeader("Content-Type", "application/json").end(entry);
                      }
                    })
                .listen(0, "127.0.0.1"));
    cacheUrl = "http://127.0.0.1:" + server.actualPort() + "/";
    // DETECT and ASSEMBLE are answered at once; INSTALLs wait for the test to answer them.
    workers =
        farm.workers(
            task ->
                task.kind() == TaskKind.INSTALL ? null : ScriptedWorkers.succeedEverything(task));
  }

  @AfterEach
  void stop() {
    farm.close();
  }

  @Test
  void manySimultaneousBuildsOfOneNewSetInstallItOnce() {
    int n = 50;
    farm.deploy(new CoordinatorVerticle(farm.config().withCacheServiceUrl(cacheUrl)));
    List<PushEvent> pushes = pushes("acme", n);

    pushes.forEach(this::publish);

    eventually(() -> waiting().size() == n - 1);
    eventually(() -> farm.tasksSeen(TaskKind.INSTALL).size() == 1);
    BuildTask install = farm.tasksSeen(TaskKind.INSTALL).get(0);
    assertThat(waiting()).doesNotContain(install.buildId());
    answer(install);

    eventually(() -> farm.imageReady.bodies(ImageReady.class).size() == n);
    assertThat(farm.tasksSeen(TaskKind.INSTALL)).hasSize(1);
    assertThat(farm.buildFailed.records()).isEmpty();
    List<BuildTask> assembles = farm.tasksSeen(TaskKind.ASSEMBLE);
    assertThat(assembles).hasSize(n);
    assertThat(assembles)
        .extracting(t -> t.layer().blob())
        .containsOnly(Fixtures.layer(Fixtures.DEPENDENCY_KEY).blob());
    assertThat(assembles.stream().filter(t -> t.layer().reused()).count()).isEqualTo(n - 1);
  }

  @Test
  void whenTheInstallWaitedForFailsAWaitingBuildInstallsItself() {
    int n = 3;
    farm.deploy(new CoordinatorVerticle(farm.config().withCacheServiceUrl(cacheUrl)));
    pushes("acme", n).forEach(this::publish);
    eventually(() -> waiting().size() == n - 1);
    eventually(() -> farm.tasksSeen(TaskKind.INSTALL).size() == 1);
    BuildTask first = farm.tasksSeen(TaskKind.INSTALL).get(0);

    await(workers.publish(Fixtures.failed(first, "install::no-compatible-file", "no wheel")));

    eventually(() -> farm.tasksSeen(TaskKind.INSTALL).size() == 2);
    BuildTask second = farm.tasksSeen(TaskKind.INSTALL).get(1);
    assertThat(second.buildId()).isNotEqualTo(first.buildId());
    answer(second);

    eventually(() -> farm.imageReady.bodies(ImageReady.class).size() == n - 1);
    eventually(() -> farm.buildFailed.bodies(BuildFailed.class).size() == 1);
    assertThat(farm.buildFailed.bodies(BuildFailed.class).get(0).buildId())
        .isEqualTo(first.buildId());
    assertThat(farm.tasksSeen(TaskKind.INSTALL)).hasSize(2);
  }

  @Test
  void aWaitingBuildInstallsItselfOnceItWaitedLongerThanTheBound() {
    // The bound is maxTaskAttempts leases: 2 x 1 s here. The first INSTALL is never claimed.
    farm.deploy(
        new CoordinatorVerticle(
            farm.config()
                .withCacheServiceUrl(cacheUrl)
                .withTaskLeases(java.time.Duration.ofSeconds(1), 2)));
    pushes("acme", 2).forEach(this::publish);
    eventually(() -> waiting().size() == 1);

    eventually(() -> farm.tasksSeen(TaskKind.INSTALL).size() == 2);
    List<BuildTask> installs = farm.tasksSeen(TaskKind.INSTALL);
    assertThat(installs.get(1).buildId()).isEqualTo(waiting().get(0));
    assertThat(farm.logs.bodies(BuildLogLine.class))
        .extracting(BuildLogLine::text)
        .anyMatch(t -> t.startsWith("-----> Waited 2 s for another build's install"));
    installs.forEach(this::answer);

    eventually(() -> farm.imageReady.bodies(ImageReady.class).size() == 2);
  }

  @Test
  void anotherTenantsInstallOfTheSameSetIsNotWaitedFor() {
    farm.deploy(new CoordinatorVerticle(farm.config().withCacheServiceUrl(cacheUrl)));
    publish(Fixtures.push("acme", "web", Fixtures.COMMIT));
    publish(Fixtures.push("globex", "web", Fixtures.COMMIT));

    eventually(() -> farm.tasksSeen(TaskKind.INSTALL).size() == 2);
    assertThat(farm.tasksSeen(TaskKind.INSTALL))
        .extracting(BuildTask::tenant)
        .containsExactlyInAnyOrder("acme", "globex");
    assertThat(waiting()).isEmpty();
    farm.tasksSeen(TaskKind.INSTALL).forEach(this::answer);

    eventually(() -> farm.imageReady.bodies(ImageReady.class).size() == 2);
  }

  @Test
  void aWaitingBuildThatALaterPushSupersedesEndsAtOnce() {
    TopicRecorder cancelled =
        TopicRecorder.start(farm.vertx, farm.bootstrapServers, farm.topics.buildCancelled());
    farm.deploy(new CoordinatorVerticle(farm.config().withCacheServiceUrl(cacheUrl)));
    PushEvent owner = Fixtures.push("acme", "web", Fixtures.COMMIT);
    PushEvent older = Fixtures.push("acme", "api", Fixtures.COMMIT);
    publish(owner);
    eventually(() -> farm.tasksSeen(TaskKind.INSTALL).size() == 1);
    publish(older);
    eventually(() -> waiting().contains(older.buildId()));

    PushEvent newer = Fixtures.push("acme", "api", Fixtures.OTHER_COMMIT);
    publish(newer);

    eventually(() -> cancelled.bodies(BuildCancelled.class).size() == 1);
    BuildCancelled event = cancelled.bodies(BuildCancelled.class).get(0);
    assertThat(event.buildId()).isEqualTo(older.buildId());
    assertThat(event.supersededBy()).isEqualTo(newer.buildId());
    eventually(() -> waiting().contains(newer.buildId()));
    answer(farm.tasksSeen(TaskKind.INSTALL).get(0));

    eventually(() -> farm.imageReady.bodies(ImageReady.class).size() == 2);
    assertThat(farm.imageReady.bodies(ImageReady.class))
        .extracting(ImageReady::buildId)
        .containsExactlyInAnyOrder(owner.buildId(), newer.buildId());
    assertThat(farm.tasksSeen(TaskKind.INSTALL)).hasSize(1);
  }

  @Test
  void waitingBuildsAreResumedByTheNextCoordinator() {
    int n = 3;
    String first =
        farm.deploy(new CoordinatorVerticle(farm.config().withCacheServiceUrl(cacheUrl)));
    pushes("acme", n).forEach(this::publish);
    eventually(() -> waiting().size() == n - 1);
    eventually(() -> farm.tasksSeen(TaskKind.INSTALL).size() == 1);

    farm.undeploy(first);
    farm.deploy(
        new CoordinatorVerticle(
            farm.config().withCacheServiceUrl(cacheUrl).withInstanceId("coordinator-b")));

    // The first build of the set that the new coordinator resumes sends its INSTALL (the one
    // sent before, with its id, or another build's); the others wait for it again.
    eventually(() -> farm.tasksSeen(TaskKind.INSTALL).size() == 2);
    answer(farm.tasksSeen(TaskKind.INSTALL).get(1));

    eventually(() -> farm.imageReady.bodies(ImageReady.class).size() == n);
    assertThat(farm.tasksSeen(TaskKind.INSTALL)).hasSize(2);
    assertThat(farm.buildFailed.records()).isEmpty();
  }

  /** Files the layer in the action cache, as the worker does before answering, then answers. */
  private void answer(BuildTask install) {
    DependencyLayer layer = Fixtures.layer(install.dependencyKey());
    ObjectNode json = EventCodec.mapper().valueToTree(layer);
    json.putArray("blobs").add(layer.blob().toString());
    actionEntries.put(install.tenant() + "/" + install.dependencyKey(), json.toString());
    await(workers.publish(Fixtures.installed(install, layer)));
  }

  private void publish(PushEvent push) {
    await(
        farm.publisher.publish(farm.topics.push(), Topics.appKey(push.tenant(), push.app()), push));
  }

  private static List<PushEvent> pushes(String tenant, int n) {
    List<PushEvent> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(Fixtures.push(tenant, "app-" + i, Fixtures.COMMIT));
    }
    return out;
  }

  /** The builds whose log says they wait for another build's install. */
  private List<String> waiting() {
    return farm.logs.bodies(BuildLogLine.class).stream()
        .filter(l -> l.text().startsWith("-----> Waiting for build"))
        .map(BuildLogLine::buildId)
        .distinct()
        .toList();
  }

  private static void eventually(Callable<Boolean> condition) {
    Awaitility.await().atMost(Awaits.SECONDS, TimeUnit.SECONDS).until(condition);
  }
}
