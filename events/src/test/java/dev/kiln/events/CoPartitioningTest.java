package dev.kiln.events;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.junit.jupiter.api.Test;

/**
 * One build's records share a partition number in kiln.push, kiln.results and kiln.builds: the
 * three are keyed by build id and have the same partition count, so the owner of partition p of the
 * inputs owns exactly the snapshots in partition p of kiln.builds.
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
  void aBuildIdLandsOnTheSamePartitionOfEachOfTheThreeTopics() {
    Map<String, Integer> counts =
        TOPICS.all().stream().collect(Collectors.toMap(Topics.Spec::name, Topics.Spec::partitions));
    for (int i = 0; i < 200; i++) {
      String buildId = BuildIds.of("acme", "app-" + i, String.format("%040x", i));
      byte[] key = buildId.getBytes(StandardCharsets.UTF_8); // the StringSerializer's bytes
      int push = BuiltInPartitioner.partitionForKey(key, counts.get(TOPICS.push()));
      assertThat(BuiltInPartitioner.partitionForKey(key, counts.get(TOPICS.results())))
          .isEqualTo(push);
      assertThat(BuiltInPartitioner.partitionForKey(key, counts.get(TOPICS.builds())))
          .isEqualTo(push);
    }
  }
}
