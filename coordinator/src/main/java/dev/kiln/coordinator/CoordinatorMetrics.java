package dev.kiln.coordinator;

import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildState;
import dev.kiln.events.StepTiming;
import dev.kiln.observability.ServiceMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Collection;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What the coordinator counts for {@code /metrics}: builds by outcome and failure code, per tenant,
 * each step's duration, action-cache lookups and how many builds wait in each state. Counted once
 * per outcome, after the transaction that publishes it commits (a rolled-back outcome is not one).
 */
final class CoordinatorMetrics {

  private final MeterRegistry registry;
  private final Counter cacheHits;
  private final Counter cacheMisses;
  private volatile Map<BuildState, Long> byState = new EnumMap<>(BuildState.class);

  CoordinatorMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.cacheHits = lookups(registry, "hit");
    this.cacheMisses = lookups(registry, "miss");
    Gauge.builder("kiln.action.cache.hit.ratio", this, CoordinatorMetrics::hitRatio)
        .description(
            "Share of INSTALL lookups the action cache answered since this coordinator started"
                + " (NaN before the first)")
        .register(registry);
    for (BuildState state : BuildState.values()) {
      if (state == BuildState.SUCCEEDED
          || state == BuildState.FAILED
          || state == BuildState.CANCELLED) {
        continue; // kept for retention, not waiting for anything
      }
      Gauge.builder("kiln.builds.current", this, m -> m.byState.getOrDefault(state, 0L))
          .description(
              "Unfinished builds this coordinator owns, by the state they wait in (queue depth)")
          .tag("state", state.name().toLowerCase(java.util.Locale.ROOT))
          .register(registry);
    }
  }

  private static Counter lookups(MeterRegistry registry, String result) {
    return Counter.builder("kiln.action.cache.lookups")
        .description("INSTALL steps looked up in the action cache: hit skips the install")
        .tag("result", result)
        .register(registry);
  }

  void actionCacheLookup(boolean hit) {
    (hit ? cacheHits : cacheMisses).increment();
  }

  private double hitRatio() {
    double hits = cacheHits.count();
    double all = hits + cacheMisses.count();
    return all == 0 ? Double.NaN : hits / all;
  }

  /**
   * A build reached its outcome.
   *
   * @param outcome {@code succeeded}, {@code failed} or {@code cancelled}
   * @param code the failure's code ({@code none} otherwise)
   */
  void finished(BuildSnapshot build, String outcome, String code) {
    Counter.builder("kiln.builds")
        .description("Builds that reached an outcome, by outcome and failure code")
        .tags("outcome", outcome, "code", code)
        .register(registry)
        .increment();
    Counter.builder("kiln.tenant.builds")
        .description("Builds that reached an outcome, per tenant")
        .tags("tenant", build.push().tenant(), "outcome", outcome)
        .register(registry)
        .increment();
    if (build.createdAt() != null && build.updatedAt() != null) {
      timer("kiln.build.duration", "From the push's arrival to the outcome")
          .tags("outcome", outcome)
          .register(registry)
          .record(Duration.between(build.createdAt(), build.updatedAt()));
    }
    List<StepTiming> steps = build.steps() == null ? List.of() : build.steps();
    for (StepTiming step : steps) {
      timer("kiln.build.step.duration", "How long each step ran on its worker (0 when cached)")
          .tags(
              "step",
              step.kind().name(),
              "cached",
              Boolean.toString(step.skipped()),
              "outcome",
              outcome)
          .register(registry)
          .record(step.durationMillis(), TimeUnit.MILLISECONDS);
      if (step.waitedMillis() != null) {
        timer("kiln.task.wait", "From the task's write to kiln.tasks to a worker starting it")
            .tags("step", step.kind().name())
            .register(registry)
            .record(step.waitedMillis(), TimeUnit.MILLISECONDS);
      }
    }
  }

  private static Timer.Builder timer(String name, String description) {
    return Timer.builder(name)
        .description(description)
        .serviceLevelObjectives(ServiceMetrics.DURATION_BUCKETS);
  }

  /** The current builds, counted by state (called from the coordinator's context, periodically). */
  void countStates(Collection<BuildSnapshot> builds) {
    Map<BuildState, Long> counts = new EnumMap<>(BuildState.class);
    for (BuildSnapshot build : builds) {
      counts.merge(build.state(), 1L, Long::sum);
    }
    byState = counts;
  }
}
