package dev.kiln.worker.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/** Reads the parts of an image configuration (Docker or OCI JSON) that say what an image is. */
final class ImageConfigJson {
  private static final ObjectMapper JSON = new ObjectMapper();

  private ImageConfigJson() {}

  /** {@code config.Labels}; empty when there are none or the JSON is not a configuration. */
  static Map<String, String> labels(String configJson) {
    Map<String, String> labels = new LinkedHashMap<>();
    JsonNode node = config(configJson).path("Labels");
    if (node.isObject()) {
      node.properties().forEach(e -> labels.put(e.getKey(), e.getValue().asText()));
    }
    return labels;
  }

  /** {@code config.Env} as name → value. */
  static Map<String, String> env(String configJson) {
    Map<String, String> env = new LinkedHashMap<>();
    JsonNode node = config(configJson).path("Env");
    if (node.isArray()) {
      for (JsonNode entry : node) {
        String text = entry.asText();
        int equals = text.indexOf('=');
        if (equals > 0) {
          env.put(text.substring(0, equals), text.substring(equals + 1));
        }
      }
    }
    return env;
  }

  private static JsonNode config(String configJson) {
    try {
      JsonNode root = JSON.readTree(configJson);
      return root == null ? JSON.missingNode() : root.path("config");
    } catch (IOException e) {
      return JSON.missingNode();
    }
  }
}
