package dev.kiln.observability;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.Objects;

/**
 * One service's meters, scraped by Prometheus from that service's {@code /metrics}.
 *
 * <p>Each service owns its own registry (tagged {@code service=<name>}) rather than sharing
 * Micrometer's global one: {@code kiln up} runs the coordinator, the cache-service and the workers
 * in one JVM, and each must still answer for its own work only, exactly as it would in a process of
 * its own.
 */
public final class ServiceMetrics {
  /** The Prometheus text format's content type, version 0.0.4 (what every scraper reads). */
  public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  /**
   * Histogram bucket bounds of every duration Kiln measures: from an app-only ASSEMBLE (tens of
   * milliseconds) to a long INSTALL or build step (half an hour).
   */
  public static final Duration[] DURATION_BUCKETS = {
    Duration.ofMillis(50),
    Duration.ofMillis(100),
    Duration.ofMillis(250),
    Duration.ofMillis(500),
    Duration.ofSeconds(1),
    Duration.ofMillis(2500),
    Duration.ofSeconds(5),
    Duration.ofSeconds(10),
    Duration.ofSeconds(30),
    Duration.ofSeconds(60),
    Duration.ofSeconds(120),
    Duration.ofSeconds(300),
    Duration.ofSeconds(600),
    Duration.ofSeconds(1800)
  };

  private final String service;
  private final PrometheusMeterRegistry registry;

  private ServiceMetrics(String service, boolean jvm) {
    this.service = Objects.requireNonNull(service, "service");
    this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    registry.config().commonTags("service", service);
    if (jvm) {
      new JvmMemoryMetrics().bindTo(registry);
      new JvmGcMetrics().bindTo(registry);
      new JvmThreadMetrics().bindTo(registry);
      new ClassLoaderMetrics().bindTo(registry);
      new ProcessorMetrics().bindTo(registry);
    }
  }

  /** A service's registry, with the JVM's memory, GC, thread and CPU meters. */
  public static ServiceMetrics forService(String service) {
    return new ServiceMetrics(service, true);
  }

  /** A registry without JVM meters: for tests, and for services sharing a JVM with another. */
  public static ServiceMetrics withoutJvm(String service) {
    return new ServiceMetrics(service, false);
  }

  public String service() {
    return service;
  }

  public MeterRegistry registry() {
    return registry;
  }

  /**
   * Every meter in the Prometheus text format; blocking (gauges may read state), so never on an
   * event loop.
   */
  public String scrape() {
    return registry.scrape();
  }
}
