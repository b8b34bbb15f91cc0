package dev.kiln.worker.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.buildpack.RuntimeCatalog;
import dev.kiln.events.Topics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a worker node is told: one place that says where each worker's state and images go. */
class WorkerNodeSettingsTest {
  private static WorkerNode.Settings settings(String registry, List<String> ids, int tasks) {
    return new WorkerNode.Settings(
        "127.0.0.1:9092",
        Topics.DEFAULT,
        null,
        "http://127.0.0.1:8481",
        "kiln_farm_x",
        Path.of("/srv/kiln"),
        null,
        RuntimeCatalog.loadOffline(),
        registry,
        false,
        "http://deb.debian.org/debian",
        Duration.ofMinutes(15),
        2048,
        ids,
        tasks);
  }

  @Test
  void eachWorkerHasItsOwnWorkDirectoryAndImagesGoToTarballsWithoutARegistry() {
    WorkerNode.Settings node = settings(null, WorkerNode.Settings.numberedIds(2), 1);

    assertThat(node.workerIds()).containsExactly("worker-1", "worker-2");
    assertThat(node.workDir("worker-2")).isEqualTo(Path.of("/srv/kiln/workers/worker-2"));
    assertThat(node.imageTarget().toString()).contains("/srv/kiln/images");
    assertThat(settings("registry.internal:5000", List.of("w"), 1).imageTarget().toString())
        .contains("registry.internal:5000");
  }

  /** The attack: a worker id that names a directory outside the node's home. */
  @Test
  void aWorkerIdThatIsNotAPlainNameIsRefused() {
    for (String id : List.of("../escape", "a/b", "", ".hidden")) {
      assertThatThrownBy(() -> settings(null, List.of(id), 1))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("worker id '" + id + "'");
    }
  }

  @Test
  void aNodeRunsAtLeastOneWorkerAndOneTaskAtATime() {
    assertThatThrownBy(() -> settings(null, List.of(), 1))
        .hasMessageContaining("at least one worker");
    assertThatThrownBy(() -> settings(null, List.of("w"), 0))
        .hasMessageContaining("at least 1 task");
  }
}
