package dev.kiln.worker.runtime;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The parts of a Docker image configuration a base image built by {@link DebootstrapImage} sets.
 * Rendered as JSON with sorted keys and a fixed creation time, so the configuration, like the
 * layer, is reproducible.
 */
public record ImageConfig(
    String architecture,
    List<String> env,
    List<String> cmd,
    String user,
    String workingDir,
    Map<String, String> labels,
    String createdBy) {

  static final String EPOCH = "1970-01-01T00:00:00Z";

  public ImageConfig {
    env = List.copyOf(env);
    cmd = List.copyOf(cmd);
    labels = new TreeMap<>(labels);
  }

  /** Maps the JVM's {@code os.arch} to the GOARCH name image configurations use. */
  public static String architectureOf(String osArch) {
    return switch (osArch) {
      case "amd64", "x86_64" -> "amd64";
      case "aarch64", "arm64" -> "arm64";
      case "ppc64le" -> "ppc64le";
      case "s390x" -> "s390x";
      default -> osArch;
    };
  }

  String toJson(String diffId) {
    StringBuilder json = new StringBuilder();
    json.append("{\"architecture\":").append(Json.string(architecture));
    json.append(",\"config\":{\"Cmd\":").append(Json.array(cmd));
    json.append(",\"Env\":").append(Json.array(env));
    json.append(",\"Labels\":").append(Json.object(labels));
    json.append(",\"User\":").append(Json.string(user));
    json.append(",\"WorkingDir\":").append(Json.string(workingDir)).append('}');
    json.append(",\"created\":").append(Json.string(EPOCH));
    json.append(",\"history\":[{\"created\":").append(Json.string(EPOCH));
    json.append(",\"created_by\":").append(Json.string(createdBy)).append("}]");
    json.append(",\"os\":\"linux\"");
    json.append(",\"rootfs\":{\"diff_ids\":[").append(Json.string(diffId));
    json.append("],\"type\":\"layers\"}}");
    return json.toString();
  }

  /** Just enough JSON writing for configuration and manifest files; keys come in sorted. */
  static final class Json {
    private Json() {}

    static String string(String value) {
      StringBuilder quoted = new StringBuilder("\"");
      for (char c : value.toCharArray()) {
        switch (c) {
          case '"' -> quoted.append("\\\"");
          case '\\' -> quoted.append("\\\\");
          case '\n' -> quoted.append("\\n");
          case '\r' -> quoted.append("\\r");
          case '\t' -> quoted.append("\\t");
          default -> {
            if (c < 0x20) {
              quoted.append(String.format("\\u%04x", (int) c));
            } else {
              quoted.append(c);
            }
          }
        }
      }
      return quoted.append('"').toString();
    }

    static String array(List<String> values) {
      StringBuilder json = new StringBuilder("[");
      for (int i = 0; i < values.size(); i++) {
        json.append(i == 0 ? "" : ",").append(string(values.get(i)));
      }
      return json.append(']').toString();
    }

    static String object(Map<String, String> values) {
      StringBuilder json = new StringBuilder("{");
      boolean first = true;
      for (Map.Entry<String, String> entry : new TreeMap<>(values).entrySet()) {
        json.append(first ? "" : ",").append(string(entry.getKey())).append(':');
        json.append(string(entry.getValue()));
        first = false;
      }
      return json.append('}').toString();
    }
  }
}
