package dev.kiln.events;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.junit.jupiter.api.Test;

/**
 * One app's records share a partition number in kiln.push, kiln.results and kiln.builds: pushes and
 * results are keyed {@code tenant/app}, snapshots (keyed by build id, for compaction) are written
 * to {@link Topics#appPartition}, and the three have the same partition count, so the owner of
 * partition p of the inputs owns exactly the snapshots in partition p of kiln.builds: every build
 * of the apps that hash to p.
 */
class CoPartitioningTest {
  private static final Topics TOPICS = Topics.withPrefix("x.");

  @Test
  void pushResultsAndBuildsHaveTheSamePartitionCount() {
    Map<String, Integer> counts =
        TOPICS.all().stream().collect(Collectors.toMap(Topics.Spec::name, Topics.Spec::partitions));

    assertThat(counts.get(TOPICS.results())).isEqualTo(counts.get(TOPICS.push()));
    assertThat(counts.get(TOPICS.builds())).isEqualTo(counts.get(TOPICS.push()));
  }

  @Test
  void anAppsKeyLandsOnItsAppPartitionOfEachOfTheThreeTopics() {
    Map<String, Integer> counts =
        TOPICS.all().stream().collect(Collectors.toMap(Topics.Spec::name, Topics.Spec::partitions));
    for (int i = 0; i < 200; i++) {
      String app = "app-" + i;
      byte[] key = Topics.appKey("acme", app).getBytes(StandardCharsets.UTF_8);
      int push = BuiltInPartitioner.partitionForKey(key, counts.get(TOPICS.push()));
      assertThat(BuiltInPartitioner.partitionForKey(key, counts.get(TOPICS.results())))
          .isEqualTo(push);
      assertThat(Topics.appPartition("acme", app, counts.get(TOPICS.builds()))).isEqualTo(push);
    }
  }
}
