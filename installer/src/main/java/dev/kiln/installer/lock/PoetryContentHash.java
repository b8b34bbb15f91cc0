package dev.kiln.installer.lock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.events.Digest;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The {@code content-hash} Poetry writes into poetry.lock, computed from pyproject.toml exactly as
 * Poetry's {@code Locker._get_content_hash} does (python-poetry/poetry, src/poetry/packages/
 * locker.py, 2.3+): sha256 of {@code json.dumps(relevant_content, sort_keys=True)}.
 *
 * <ul>
 *   <li>relevant {@code [project]} keys: requires-python, dependencies, optional-dependencies
 *       (those present);
 *   <li>{@code [dependency-groups]} when not empty (only since Poetry 2.3, see {@link
 *       #compute(JsonNode, boolean)});
 *   <li>{@code [tool.poetry]} keys dependencies, source, extras, dev-dependencies (written as null
 *       when absent, unless project or group content exists) and group (only when present);
 *   <li>with project or group content the result is {@code {"project": …, "dependency-groups": …,
 *       "tool": {"poetry": …}}}, else the [tool.poetry] keys sit at the top level (the Poetry 1
 *       layout, which Poetry 1.1 to 1.8 wrote the same way).
 * </ul>
 */
final class PoetryContentHash {
  private static final List<String> LEGACY_KEYS =
      List.of("dependencies", "source", "extras", "dev-dependencies");
  private static final List<String> RELEVANT_KEYS =
      List.of("dependencies", "source", "extras", "dev-dependencies", "group");
  private static final List<String> PROJECT_KEYS =
      List.of("requires-python", "dependencies", "optional-dependencies");

  private PoetryContentHash() {}

  /**
   * The hash, as hex.
   *
   * @param withDependencyGroups whether {@code [dependency-groups]} counts, as it does since Poetry
   *     2.3.0; Poetry compares locks written by older releases without it
   */
  static String compute(JsonNode pyproject, boolean withDependencyGroups) {
    JsonNodeFactory nodes = JsonNodeFactory.instance;
    JsonNode project = Documents.table(pyproject, "project");
    JsonNode groups =
        withDependencyGroups ? Documents.table(pyproject, "dependency-groups") : nodes.objectNode();
    JsonNode toolPoetry = Documents.table(Documents.table(pyproject, "tool"), "poetry");

    ObjectNode relevantProject = nodes.objectNode();
    for (String key : PROJECT_KEYS) {
      JsonNode value = project.get(key);
      if (value != null && !value.isNull()) {
        relevantProject.set(key, value);
      }
    }
    boolean modern = !relevantProject.isEmpty() || !groups.isEmpty();
    ObjectNode relevantPoetry = nodes.objectNode();
    for (String key : RELEVANT_KEYS) {
      JsonNode value = toolPoetry.get(key);
      if ((value == null || value.isNull()) && (!LEGACY_KEYS.contains(key) || modern)) {
        continue;
      }
      relevantPoetry.set(key, value == null ? nodes.nullNode() : value);
    }

    ObjectNode relevant;
    if (modern) {
      relevant = nodes.objectNode();
      if (!relevantProject.isEmpty()) {
        relevant.set("project", relevantProject);
      }
      if (!groups.isEmpty()) {
        relevant.set("dependency-groups", groups);
      }
      relevant.set("tool", nodes.objectNode().set("poetry", relevantPoetry));
    } else {
      relevant = relevantPoetry;
    }
    String json = PythonJson.dumps(relevant, PythonJson.Separators.DEFAULT);
    return Digest.compute(json.getBytes(StandardCharsets.UTF_8)).hex();
  }
}
