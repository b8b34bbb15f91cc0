package dev.kiln.coordinator;

import static dev.kiln.coordinator.Awaits.await;
import static dev.kiln.coordinator.CoordinatorKafkaTest.awaitExactlyOne;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.events.BuildLogLine;
import dev.kiln.events.BuildTask;
import dev.kiln.events.DependencyLayer;
import dev.kiln.events.EventCodec;
import dev.kiln.events.ImageReady;
import dev.kiln.events.PushEvent;
import dev.kiln.events.TaskKind;
import io.vertx.core.http.HttpServer;
import java.io.IOException;
import java.net.ServerSocket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A dependency set the cache-service already has is not installed again. */
@ExtendWith(SharedKafka.class)
class ActionCacheShortcutTest {
  private Harness farm;
  private final Map<String, String> actionEntries = new ConcurrentHashMap<>();
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private String cacheUrl;

  @BeforeEach
  void start() throws Exception {
    farm = new Harness();
    // The cache-service's side of GET /ac/{key}: a stored entry or 404.
    HttpServer server =
        await(
            farm.vertx
                .createHttpServer()
                .requestHandler(
                    request -> {
                      requests.add(request.path());
                      String entry =
                          request.path().startsWith("/ac/")
                              ? actionEntries.get(request.path().substring(4))
                              : null;
                      if (entry == null) {
                        request
                            .response()
                            .setStatusCode(404)
                            .end("{\"error\":\"no action result\"}");
                      } else {
                        request.response().putHeader("Content-Type", "application/json").end(entry);
                      }
                    })
                .listen(0, "127.0.0.1"));
    cacheUrl = "http://127.0.0.1:" + server.actualPort() + "/";
  }

  @AfterEach
  void stop() {
    farm.close();
  }

  @Test
  void aCachedDependencyLayerSkipsInstallAndAssemblesWithTheReusedLayer() {
    DependencyLayer cached = Fixtures.layer(Fixtures.DEPENDENCY_KEY);
    actionEntries.put(Fixtures.DEPENDENCY_KEY, workerActionEntry(cached));
    farm.workers(ScriptedWorkers::succeedEverything);
    farm.deploy(new CoordinatorVerticle(farm.config().withCacheServiceUrl(cacheUrl)));
    PushEvent push = Fixtures.push();

    await(farm.publisher.publish(farm.topics.push(), push.buildId(), push));

    awaitExactlyOne(farm.imageReady, ImageReady.class);
    assertThat(requests).containsExactly("/ac/" + Fixtures.DEPENDENCY_KEY);
    assertThat(farm.tasksSeen(TaskKind.INSTALL)).isEmpty();
    BuildTask assemble = farm.tasksSeen(TaskKind.ASSEMBLE).get(0);
    assertThat(assemble.layer().reused()).isTrue();
    assertThat(assemble.layer().blob()).isEqualTo(cached.blob());
    assertThat(assemble.layer().distributions()).isEqualTo(cached.distributions());
    assertThat(farm.logs.bodies(BuildLogLine.class))
        .extracting(BuildLogLine::text)
        .anyMatch(t -> t.startsWith("-----> Reused dependency layer"));
  }

  @Test
  void aCacheMissInstallsAsUsual() {
    farm.workers(ScriptedWorkers::succeedEverything);
    farm.deploy(new CoordinatorVerticle(farm.config().withCacheServiceUrl(cacheUrl)));
    PushEvent push = Fixtures.push();

    await(farm.publisher.publish(farm.topics.push(), push.buildId(), push));

    awaitExactlyOne(farm.imageReady, ImageReady.class);
    assertThat(requests).containsExactly("/ac/" + Fixtures.DEPENDENCY_KEY);
    assertThat(farm.tasksSeen(TaskKind.INSTALL)).hasSize(1);
    assertThat(farm.tasksSeen(TaskKind.ASSEMBLE).get(0).layer().reused()).isFalse();
  }

  @Test
  void anEntryThatIsNotALayerOfThatDependencySetInstallsAsUsual() {
    actionEntries.put(Fixtures.DEPENDENCY_KEY, workerActionEntry(Fixtures.layer("b".repeat(64))));
    farm.workers(ScriptedWorkers::succeedEverything);
    farm.deploy(new CoordinatorVerticle(farm.config().withCacheServiceUrl(cacheUrl)));
    PushEvent push = Fixtures.push();

    await(farm.publisher.publish(farm.topics.push(), push.buildId(), push));

    awaitExactlyOne(farm.imageReady, ImageReady.class);
    assertThat(farm.tasksSeen(TaskKind.INSTALL)).hasSize(1);
  }

  @Test
  void anUnreachableCacheServiceInstallsAsUsual() throws IOException {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    farm.workers(ScriptedWorkers::succeedEverything);
    farm.deploy(
        new CoordinatorVerticle(
            farm.config().withCacheServiceUrl("http://127.0.0.1:" + closedPort)));
    PushEvent push = Fixtures.push();

    await(farm.publisher.publish(farm.topics.push(), push.buildId(), push));

    awaitExactlyOne(farm.imageReady, ImageReady.class);
    assertThat(farm.tasksSeen(TaskKind.INSTALL)).hasSize(1);
  }

  @Test
  void theWorkersActionEntryParsesAsALayerDespiteItsExtraFields() {
    DependencyLayer layer = Fixtures.layer(Fixtures.DEPENDENCY_KEY);

    assertThat(
            ActionCacheLookup.parse(Fixtures.DEPENDENCY_KEY, workerActionEntry(layer).getBytes()))
        .contains(layer);
    assertThat(ActionCacheLookup.parse(Fixtures.DEPENDENCY_KEY, "{\"key\":".getBytes())).isEmpty();
    assertThat(
            ActionCacheLookup.parse(Fixtures.DEPENDENCY_KEY, "{\"blob\":\"sha256:x\"}".getBytes()))
        .isEmpty();
    assertThat(ActionCacheLookup.parse(Fixtures.DEPENDENCY_KEY, "null".getBytes())).isEmpty();
  }

  /** What the worker stores: the layer as JSON plus the blobs the cache-service must keep. */
  private static String workerActionEntry(DependencyLayer layer) {
    ObjectNode json = EventCodec.mapper().valueToTree(layer);
    json.putArray("blobs").add(layer.blob().toString());
    return json.toString();
  }
}
