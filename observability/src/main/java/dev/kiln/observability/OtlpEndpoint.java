package dev.kiln.observability;

import java.util.Map;
import java.util.Optional;

/**
 * Where spans go over OTLP (http/protobuf), read from the standard OpenTelemetry environment
 * variables, so an operator points every Kiln service at a collector the way they would any other
 * instrumented program.
 */
final class OtlpEndpoint {
  static final String TRACES_ENDPOINT = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
  static final String ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT";
  static final String TRACES_EXPORTER = "OTEL_TRACES_EXPORTER";

  private OtlpEndpoint() {}

  /**
   * The URL to POST spans to, or empty when traces are not exported. As the specification says, the
   * signal-specific variable is used as is, while the general one is a base URL that {@code
   * v1/traces} is appended to; {@code OTEL_TRACES_EXPORTER=none} turns export off.
   */
  static Optional<String> tracesUrl(Map<String, String> env) {
    if ("none".equalsIgnoreCase(blankToNull(env.get(TRACES_EXPORTER)))) {
      return Optional.empty();
    }
    String traces = blankToNull(env.get(TRACES_ENDPOINT));
    if (traces != null) {
      return Optional.of(traces);
    }
    String base = blankToNull(env.get(ENDPOINT));
    if (base == null) {
      return Optional.empty();
    }
    return Optional.of(base.endsWith("/") ? base + "v1/traces" : base + "/v1/traces");
  }

  private static String blankToNull(String value) {
    return value == null || value.isBlank() ? null : value.trim();
  }
}
