package dev.kiln.observability;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ServiceMetricsTest {
  @Test
  void aServicesMetersAreTaggedWithItAndDurationsAreBucketedHistograms() {
    ServiceMetrics metrics = ServiceMetrics.withoutJvm("worker");
    Counter.builder("kiln.things").tag("kind", "a").register(metrics.registry()).increment(2);
    Timer.builder("kiln.step.duration")
        .serviceLevelObjectives(ServiceMetrics.DURATION_BUCKETS)
        .register(metrics.registry())
        .record(Duration.ofMillis(300));

    String text = metrics.scrape();

    assertThat(text).contains("kiln_things_total{kind=\"a\",service=\"worker\"} 2.0");
    assertThat(text)
        .contains("kiln_step_duration_seconds_bucket{service=\"worker\",le=\"0.25\"} 0")
        .contains("kiln_step_duration_seconds_bucket{service=\"worker\",le=\"0.5\"} 1")
        .contains("kiln_step_duration_seconds_count{service=\"worker\"} 1");
  }

  @Test
  void twoServicesInOneJvmKeepTheirOwnMeters() {
    ServiceMetrics coordinator = ServiceMetrics.withoutJvm("coordinator");
    ServiceMetrics worker = ServiceMetrics.withoutJvm("worker");
    Counter.builder("kiln.builds").register(coordinator.registry()).increment();

    assertThat(coordinator.scrape()).contains("kiln_builds_total");
    assertThat(worker.scrape()).doesNotContain("kiln_builds_total");
  }
}
