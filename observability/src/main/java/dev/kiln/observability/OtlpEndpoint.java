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
  static final String TRACES_HEADERS = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
  static final String HEADERS = "OTEL_EXPORTER_OTLP_HEADERS";

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

  /**
   * The HTTP headers every export sends (a hosted collector's API key, say): {@code
   * key1=value1,key2=value2} with URL-encoded values, as the specification says; the traces
   * variable wins over the general one. Malformed entries are skipped.
   */
  static Map<String, String> headers(Map<String, String> env) {
    String list = blankToNull(env.get(TRACES_HEADERS));
    if (list == null) {
      list = blankToNull(env.get(HEADERS));
    }
    Map<String, String> headers = new java.util.LinkedHashMap<>();
    if (list == null) {
      return headers;
    }
    for (String entry : list.split(",")) {
      int equals = entry.indexOf('=');
      if (equals <= 0) {
        continue;
      }
      try {
        headers.put(
            entry.substring(0, equals).trim(),
            java.net.URLDecoder.decode(
                entry.substring(equals + 1).trim(), java.nio.charset.StandardCharsets.UTF_8));
      } catch (IllegalArgumentException malformed) {
        // a broken escape: skipped like any other malformed entry
      }
    }
    return headers;
  }

  private static String blankToNull(String value) {
    return value == null || value.isBlank() ? null : value.trim();
  }
}
