package dev.kiln.cli.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The timings the bench reads from a build record ({@code GET /v1/builds/{id}}): the whole build
 * from {@code createdAt} to {@code updatedAt} (when the outcome was published), each step, and the
 * resolved dependency set.
 *
 * @param totalMillis {@code updatedAt - createdAt}; -1 when either is missing
 * @param failureCode the failure's code ({@code assemble::failed}, …); null unless it failed
 */
public record BuildRecord(
    String buildId,
    String state,
    long totalMillis,
    List<Step> steps,
    boolean layerReused,
    List<Resolved> resolved,
    String failureCode,
    String failureMessage) {

  /**
   * One step of the build.
   *
   * @param waitedMillis coordinator wrote the task → worker started it; null when not recorded
   * @param reportedMillis worker finished → coordinator took the result; null when not recorded
   */
  public record Step(
      String kind, long durationMillis, boolean skipped, Long waitedMillis, Long reportedMillis) {}

  /** One distribution of the dependency layer's resolved set. */
  public record Resolved(String name, String version, String filename, String sha256) {}

  public static BuildRecord parse(JsonNode build) {
    List<Step> steps = new ArrayList<>();
    for (JsonNode step : build.path("steps")) {
      steps.add(
          new Step(
              step.path("kind").asText(),
              step.path("durationMillis").asLong(0),
              step.path("skipped").asBoolean(false),
              optionalLong(step, "waitedMillis"),
              optionalLong(step, "reportedMillis")));
    }
    List<Resolved> resolved = new ArrayList<>();
    for (JsonNode distribution : build.path("layer").path("resolved")) {
      resolved.add(
          new Resolved(
              distribution.path("name").asText(),
              distribution.path("version").asText(),
              distribution.path("filename").asText(),
              distribution.path("sha256").asText()));
    }
    long total = -1;
    if (build.hasNonNull("createdAt") && build.hasNonNull("updatedAt")) {
      total =
          Duration.between(
                  Instant.parse(build.path("createdAt").asText()),
                  Instant.parse(build.path("updatedAt").asText()))
              .toMillis();
    }
    return new BuildRecord(
        build.path("buildId").asText(),
        build.path("state").asText(),
        total,
        List.copyOf(steps),
        build.path("layer").path("reused").asBoolean(false),
        List.copyOf(resolved),
        build.path("failure").hasNonNull("code")
            ? build.path("failure").path("code").asText()
            : null,
        build.path("failure").hasNonNull("message")
            ? build.path("failure").path("message").asText()
            : null);
  }

  private static Long optionalLong(JsonNode node, String field) {
    return node.hasNonNull(field) && node.path(field).isNumber() ? node.path(field).asLong() : null;
  }

  public boolean succeeded() {
    return state.equals("SUCCEEDED");
  }

  /** The first step of this kind ({@code DETECT}, {@code INSTALL}, {@code ASSEMBLE}). */
  public Optional<Step> step(String kind) {
    return steps.stream().filter(s -> s.kind().equals(kind)).findFirst();
  }

  /** True when a worker ran the INSTALL step (not answered by the action cache). */
  public boolean installRan() {
    return step("INSTALL").map(s -> !s.skipped()).orElse(false);
  }

  /**
   * The resolved set as a fully pinned, hashed requirements file ({@code name==version
   * --hash=sha256:…}, one line per distribution): Kiln installs such a file without pip.
   */
  public String lockedRequirements() {
    if (resolved.isEmpty()) {
      throw new IllegalStateException("build " + buildId + " recorded no resolved set");
    }
    StringBuilder lines = new StringBuilder();
    for (Resolved r : resolved) {
      lines
          .append(r.name())
          .append("==")
          .append(r.version())
          .append(" --hash=sha256:")
          .append(r.sha256().startsWith("sha256:") ? r.sha256().substring(7) : r.sha256())
          .append('\n');
    }
    return lines.toString();
  }
}
