package dev.kiln.buildpack;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The fields of one App Platform app spec component that matter to a build. Null fields were not
 * set. {@code envs} holds every environment variable the component declares, with its scope (the
 * app-level {@code envs} of a whole spec come first; a component's own value wins).
 */
public record AppSpec(
    String sourceDir,
    String dockerfilePath,
    String buildCommand,
    String runCommand,
    List<Env> envs,
    Map<String, String> processes) {

  private static final List<String> COMPONENT_KINDS = List.of("services", "workers", "jobs");
  private static final int MAX_YAML_CHARS = 1024 * 1024;

  /** When a variable exists, as App Platform's {@code scope} says. */
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

  /** One environment variable; App Platform's default scope is {@link Scope#RUN_AND_BUILD_TIME}. */
  public record Env(String key, String value, Scope scope) {
    public Env {
      java.util.Objects.requireNonNull(key, "key");
      value = value == null ? "" : value;
      scope = scope == null ? Scope.RUN_AND_BUILD_TIME : scope;
    }
  }

  public AppSpec {
    envs = envs == null ? List.of() : List.copyOf(envs);
    processes =
        processes == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(processes));
  }

  /** One component's fields, with no other processes. */
  public AppSpec(
      String sourceDir,
      String dockerfilePath,
      String buildCommand,
      String runCommand,
      List<Env> envs) {
    this(sourceDir, dockerfilePath, buildCommand, runCommand, envs, Map.of());
  }

  public static AppSpec empty() {
    return new AppSpec(null, null, null, null, List.of());
  }

  /** The variables the build steps see (scope {@code BUILD_TIME} or {@code RUN_AND_BUILD_TIME}). */
  public Map<String, String> buildTimeEnv() {
    Map<String, String> env = new LinkedHashMap<>();
    envs.stream().filter(e -> e.scope().atBuildTime()).forEach(e -> env.put(e.key(), e.value()));
    return Collections.unmodifiableMap(env);
  }

  /** The variables the image runs with (scope {@code RUN_TIME} or {@code RUN_AND_BUILD_TIME}). */
  public Map<String, String> runTimeEnv() {
    Map<String, String> env = new LinkedHashMap<>();
    envs.stream().filter(e -> e.scope().atRunTime()).forEach(e -> env.put(e.key(), e.value()));
    return Collections.unmodifiableMap(env);
  }

  /**
   * Reads an app spec in YAML: either one component's fields at the top level ({@code source_dir},
   * {@code dockerfile_path}, {@code build_command}, {@code run_command}, {@code envs}) or a whole
   * spec with {@code services:} / {@code workers:} (also {@code jobs:}), taking the first component
   * or the one called {@code componentName}.
   */
  public static AppSpec fromYaml(String yaml, String componentName) throws BuildpackException {
    if (yaml.length() > MAX_YAML_CHARS) {
      throw invalid("the file is larger than 1 MiB; an app spec is a short YAML document");
    }
    JsonNode root;
    try {
      root = new ObjectMapper(new YAMLFactory()).readTree(yaml);
    } catch (JacksonException e) {
      throw invalid("it is not valid YAML: " + Text.quote(e.getOriginalMessage(), 300));
    }
    if (root == null || root.isMissingNode() || root.isNull()) {
      if (componentName != null) {
        throw componentNotFound(componentName, List.of());
      }
      return empty();
    }
    if (!root.isObject()) {
      throw invalid(
          "the top level must be a mapping of fields (such as services: or run_command:), not "
              + describe(root));
    }
    List<JsonNode> components = new ArrayList<>();
    List<String> names = new ArrayList<>();
    List<String> kinds = new ArrayList<>();
    for (String kind : COMPONENT_KINDS) {
      JsonNode list = root.get(kind);
      if (list == null || list.isNull()) {
        continue;
      }
      if (!list.isArray()) {
        throw invalid("'" + kind + "' must be a list of components, not " + describe(list));
      }
      for (JsonNode component : list) {
        if (!component.isObject()) {
          throw invalid(
              "each entry of '"
                  + kind
                  + "' must be a mapping of fields, not "
                  + describe(component));
        }
        components.add(component);
        kinds.add(kind);
        JsonNode name = component.get("name");
        names.add(name != null && name.isTextual() ? name.asText() : "");
      }
    }
    if (components.isEmpty()) {
      if (componentName != null) {
        throw componentNotFound(componentName, names);
      }
      return fromComponent(root, "the top level", List.of());
    }
    List<Env> appEnvs = envs(root.get("envs"), "the app");
    int index = componentName == null ? 0 : names.indexOf(componentName);
    if (index < 0) {
      throw componentNotFound(componentName, names);
    }
    AppSpec chosen =
        fromComponent(
            components.get(index),
            componentLabel(componentName == null ? names.get(0) : componentName),
            appEnvs);
    return chosen.dockerfilePath() != null
        ? chosen
        : chosen.withProcesses(sharedProcesses(components, kinds, names, index, chosen));
  }

  /**
   * The workers and jobs that run from the same source as the chosen component (same {@code
   * source_dir}, no Dockerfile), by name: one image serves them all, started with their own run
   * commands.
   */
  private static Map<String, String> sharedProcesses(
      List<JsonNode> components, List<String> kinds, List<String> names, int chosen, AppSpec spec)
      throws BuildpackException {
    Map<String, String> processes = new LinkedHashMap<>();
    for (int i = 0; i < components.size(); i++) {
      if (i == chosen || kinds.get(i).equals("services") || names.get(i).isEmpty()) {
        continue;
      }
      String where = componentLabel(names.get(i));
      JsonNode component = components.get(i);
      String run = text(component, "run_command", where);
      if (run == null
          || run.isBlank()
          || text(component, "dockerfile_path", where) != null
          || !sameDirectory(text(component, "source_dir", where), spec.sourceDir())
          || !names.get(i).matches("[A-Za-z0-9][A-Za-z0-9_-]{0,62}")) {
        continue;
      }
      processes.putIfAbsent(names.get(i), run.strip());
    }
    return processes;
  }

  private static boolean sameDirectory(String a, String b) {
    return normalizedDir(a).equals(normalizedDir(b));
  }

  private static String normalizedDir(String dir) {
    if (dir == null) {
      return "";
    }
    String d = dir.strip();
    while (d.startsWith("/") || d.startsWith("./")) {
      d = d.startsWith("/") ? d.substring(1) : d.substring(2);
    }
    while (d.endsWith("/")) {
      d = d.substring(0, d.length() - 1);
    }
    return d.equals(".") ? "" : d;
  }

  /** The same spec with these other processes (by name, their run commands). */
  public AppSpec withProcesses(Map<String, String> others) {
    return new AppSpec(sourceDir, dockerfilePath, buildCommand, runCommand, envs, others);
  }

  private static String componentLabel(String name) {
    return name.isEmpty() ? "the first component" : "component '" + Text.quote(name) + "'";
  }

  private static AppSpec fromComponent(JsonNode component, String where, List<Env> appEnvs)
      throws BuildpackException {
    Map<String, Env> merged = new LinkedHashMap<>();
    appEnvs.forEach(env -> merged.put(env.key(), env));
    for (Env env : envs(component.get("envs"), where)) {
      merged.remove(env.key());
      merged.put(env.key(), env);
    }
    return new AppSpec(
        text(component, "source_dir", where),
        text(component, "dockerfile_path", where),
        text(component, "build_command", where),
        text(component, "run_command", where),
        List.copyOf(merged.values()));
  }

  private static String text(JsonNode component, String field, String where)
      throws BuildpackException {
    JsonNode value = component.get(field);
    if (value == null || value.isNull()) {
      return null;
    }
    if (!value.isValueNode() || value.isBinary()) {
      throw invalid("'" + field + "' in " + where + " must be a string, not " + describe(value));
    }
    return value.asText();
  }

  private static List<Env> envs(JsonNode envs, String where) throws BuildpackException {
    List<Env> result = new ArrayList<>();
    if (envs == null || envs.isNull()) {
      return result;
    }
    if (envs.isObject()) {
      for (Map.Entry<String, JsonNode> field : envs.properties()) {
        JsonNode value = field.getValue();
        result.add(
            new Env(
                checkedName(field.getKey(), where),
                value == null || value.isNull() ? "" : value.asText(),
                Scope.RUN_AND_BUILD_TIME));
      }
      return result;
    }
    if (!envs.isArray()) {
      throw invalid(
          "'envs' in " + where + " must be a list of {key, value} entries, not " + describe(envs));
    }
    for (JsonNode env : envs) {
      JsonNode key = env.get("key");
      if (!env.isObject() || key == null || !key.isValueNode() || key.asText().isEmpty()) {
        throw invalid(
            "every entry of 'envs' in " + where + " needs a 'key' (for example: - key: LANG)");
      }
      JsonNode value = env.get("value");
      result.add(
          new Env(
              checkedName(key.asText(), where),
              value == null || value.isNull() ? "" : value.asText(),
              scope(env.get("scope"), key.asText(), where)));
    }
    return result;
  }

  private static String checkedName(String key, String where) throws BuildpackException {
    if (!key.matches("[A-Za-z_][A-Za-z0-9_]*")) {
      throw invalid(
          "'"
              + Text.quote(key, 60)
              + "' in 'envs' of "
              + where
              + " is not an environment variable name (letters, digits and '_', not starting with"
              + " a digit)");
    }
    return key;
  }

  private static Scope scope(JsonNode node, String key, String where) throws BuildpackException {
    if (node == null || node.isNull()) {
      return Scope.RUN_AND_BUILD_TIME;
    }
    try {
      return Scope.valueOf(node.asText().strip().toUpperCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw invalid(
          "the scope of "
              + Text.quote(key, 60)
              + " in "
              + where
              + " is '"
              + Text.quote(node.asText(), 60)
              + "'; use RUN_TIME, BUILD_TIME or RUN_AND_BUILD_TIME");
    }
  }

  private static String describe(JsonNode node) {
    if (node.isArray()) {
      return "a list";
    }
    if (node.isObject()) {
      return "a mapping";
    }
    return "'" + Text.quote(node.asText()) + "'";
  }

  private static BuildpackException invalid(String detail) {
    return new BuildpackException(
        Codes.APP_SPEC_INVALID,
        "The app spec cannot be used: "
            + detail
            + "."
            + "\n\nAn app spec is YAML with either one component's fields at the top level"
            + " (source_dir, dockerfile_path, build_command, run_command, envs) or a whole spec with"
            + " services: / workers: lists.");
  }

  private static BuildpackException componentNotFound(String wanted, List<String> names) {
    List<String> named = names.stream().filter(n -> !n.isEmpty()).toList();
    return new BuildpackException(
        Codes.APP_SPEC_COMPONENT_NOT_FOUND,
        "The app spec has no component named '"
            + Text.quote(wanted)
            + "'."
            + (named.isEmpty()
                ? "\n\nIt names no components at all; add a services: or workers: entry with that name,"
                    + " or leave out the component name."
                : "\n\nIts components are:\n"
                    + Text.list(named, 20)
                    + "\n\nUse one of these names."));
  }
}
