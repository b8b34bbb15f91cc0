package dev.kiln.events;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The App Platform app-spec fields of one component that shape a build; all optional. {@code envs}
 * carry App Platform's {@code scope}: a variable reaches the build steps ({@code BUILD_TIME}), the
 * image ({@code RUN_TIME}) or both ({@code RUN_AND_BUILD_TIME}, the default).
 *
 * @param processes the run commands of the app spec's workers and jobs that run from this
 *     component's source, by component name: the image records them next to the Procfile's process
 *     types, so a deployer can start each from the one image
 */
public record AppSpec(
    String sourceDir,
    String dockerfilePath,
    String buildCommand,
    String runCommand,
    List<EnvVar> envs,
    Map<String, String> processes) {

  /** At most this many extra processes; an app spec has far fewer components. */
  public static final int MAX_PROCESSES = 50;

  private static final Pattern PROCESS_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,62}");

  private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
  private static final int MAX_VALUE = 32 * 1024;

  /** When a variable exists. */
  public enum Scope {
    RUN_TIME,
    BUILD_TIME,
    RUN_AND_BUILD_TIME;

    public boolean atBuildTime() {
      return this != RUN_TIME;
    }

    public boolean atRunTime() {
      return this != BUILD_TIME;
    }
  }

  /** One variable; a null scope means {@link Scope#RUN_AND_BUILD_TIME}, as on App Platform. */
  public record EnvVar(String key, String value, Scope scope) {
    public EnvVar {
      value = value == null ? "" : value;
      scope = scope == null ? Scope.RUN_AND_BUILD_TIME : scope;
    }
  }

  public AppSpec {
    envs = envs == null ? List.of() : List.copyOf(envs);
    processes =
        processes == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(processes));
  }

  /** One component's fields, without other processes. */
  public AppSpec(
      String sourceDir,
      String dockerfilePath,
      String buildCommand,
      String runCommand,
      List<EnvVar> envs) {
    this(sourceDir, dockerfilePath, buildCommand, runCommand, envs, Map.of());
  }

  /** The same spec with other variables (credentials masked or taken out). */
  public AppSpec withEnvs(List<EnvVar> newEnvs) {
    return new AppSpec(sourceDir, dockerfilePath, buildCommand, runCommand, newEnvs, processes);
  }

  /**
   * Reads the JSON form. {@code envs} is a list of {@code {key, value, scope}}; the older form, an
   * object of names to values, still reads (every variable then has both scopes).
   */
  @JsonCreator
  static AppSpec fromJson(
      @JsonProperty("sourceDir") String sourceDir,
      @JsonProperty("dockerfilePath") String dockerfilePath,
      @JsonProperty("buildCommand") String buildCommand,
      @JsonProperty("runCommand") String runCommand,
      @JsonProperty("envs") JsonNode envs,
      @JsonProperty("processes") Map<String, String> processes) {
    List<EnvVar> list = new ArrayList<>();
    if (envs != null && envs.isObject()) {
      envs.properties().forEach(e -> list.add(new EnvVar(e.getKey(), e.getValue().asText(), null)));
    } else if (envs != null && envs.isArray()) {
      for (JsonNode env : envs) {
        JsonNode scope = env.get("scope");
        list.add(
            new EnvVar(
                env.hasNonNull("key") ? env.get("key").asText() : null,
                env.hasNonNull("value") ? env.get("value").asText() : null,
                scope == null || scope.isNull() ? null : scope(scope.asText())));
      }
    } else if (envs != null && !envs.isNull()) {
      throw new IllegalArgumentException("envs must be a list of {key, value, scope}");
    }
    return new AppSpec(sourceDir, dockerfilePath, buildCommand, runCommand, list, processes);
  }

  private static Scope scope(String text) {
    try {
      return Scope.valueOf(text.strip().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "scope '" + Quote.safe(text, 40) + "' is not RUN_TIME, BUILD_TIME or RUN_AND_BUILD_TIME");
    }
  }

  public static AppSpec empty() {
    return new AppSpec(null, null, null, null, List.of());
  }

  /** Variables the build steps see, in order; a later one of the same name wins. */
  public Map<String, String> buildTimeEnv() {
    Map<String, String> env = new LinkedHashMap<>();
    envs.stream().filter(e -> e.scope().atBuildTime()).forEach(e -> env.put(e.key(), e.value()));
    return Collections.unmodifiableMap(env);
  }

  /** Variables the image runs with, in order; a later one of the same name wins. */
  public Map<String, String> runTimeEnv() {
    Map<String, String> env = new LinkedHashMap<>();
    envs.stream().filter(e -> e.scope().atRunTime()).forEach(e -> env.put(e.key(), e.value()));
    return Collections.unmodifiableMap(env);
  }

  void validate(String field) throws InvalidEventException {
    for (int i = 0; i < envs.size(); i++) {
      EnvVar env = envs.get(i);
      String where = field + ".envs[" + i + "]";
      Check.present(where + ".key", env.key());
      if (!NAME.matcher(env.key()).matches()) {
        throw new InvalidEventException(
            where + ".key",
            "'" + Quote.safe(env.key(), 60) + "' is not a valid environment variable name");
      }
      if (env.value().length() > MAX_VALUE) {
        throw new InvalidEventException(
            where + ".value",
            "is "
                + env.value().length()
                + " characters long; at most "
                + MAX_VALUE
                + " are allowed");
      }
    }
    Objects.requireNonNull(envs);
    if (processes.size() > MAX_PROCESSES) {
      throw new InvalidEventException(
          field + ".processes", "has " + processes.size() + "; at most " + MAX_PROCESSES);
    }
    for (Map.Entry<String, String> process : processes.entrySet()) {
      String where = field + ".processes." + Quote.safe(process.getKey(), 60);
      if (!PROCESS_NAME.matcher(process.getKey()).matches()) {
        throw new InvalidEventException(
            where, "is not a process name (letters, digits, '-' and '_', at most 63)");
      }
      Check.text(where, process.getValue());
      if (process.getValue().length() > 4096) {
        throw new InvalidEventException(where, "is longer than 4096 characters");
      }
    }
  }
}
