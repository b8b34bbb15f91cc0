package dev.kiln.installer.lock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.events.Digest;
import dev.kiln.installer.LockedDistribution;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * The {@code _meta.hash.sha256} Pipenv writes into Pipfile.lock, computed from the Pipfile as
 * plette's {@code Pipfile.get_hash()} does (pypa/pipenv, pipenv/vendor/plette/pipfiles.py): sha256
 * of {@code json.dumps(data, sort_keys=True, separators=(",", ":"))} where {@code data} is
 *
 * <pre>
 * {"_meta": {"sources": [[source]] tables, "requires": [requires] or {}},
 *  "default": [packages] or {}, "develop": [dev-packages] or {},
 *  &lt;every other top-level table except scripts, pipfile, pipenv&gt;: its content}
 * </pre>
 *
 * with the PyPI source plette adds when the Pipfile names none. Pipenv releases since 2026 (pypa/
 * pipenv#6609) first normalize the package names of those sections (PEP 503); {@link
 * #compute(JsonNode, boolean)} does either.
 */
final class PipfileHash {
  private static final Set<String> SECTIONS =
      Set.of("source", "packages", "dev-packages", "requires", "scripts", "pipfile", "pipenv");

  private PipfileHash() {}

  static String compute(JsonNode pipfile, boolean normalizeNames) {
    JsonNodeFactory nodes = JsonNodeFactory.instance;
    ObjectNode data = nodes.objectNode();
    ObjectNode meta = data.putObject("_meta");
    JsonNode sources = pipfile.get("source");
    if (sources == null) {
      ObjectNode pypi = nodes.objectNode();
      pypi.put("name", "pypi");
      pypi.put("url", "https://pypi.org/simple");
      pypi.put("verify_ssl", true);
      sources = nodes.arrayNode().add(pypi);
    }
    meta.set("sources", sources);
    meta.set("requires", orEmpty(pipfile.get("requires")));
    data.set("default", section(pipfile.get("packages"), normalizeNames));
    data.set("develop", section(pipfile.get("dev-packages"), normalizeNames));
    for (var it = pipfile.fieldNames(); it.hasNext(); ) {
      String category = it.next();
      if (SECTIONS.contains(category) || category.equals("default") || category.equals("develop")) {
        continue;
      }
      data.set(category, section(pipfile.get(category), normalizeNames));
    }
    String json = PythonJson.dumps(data, PythonJson.Separators.COMPACT);
    return Digest.compute(json.getBytes(StandardCharsets.UTF_8)).hex();
  }

  private static JsonNode orEmpty(JsonNode node) {
    return node == null ? JsonNodeFactory.instance.objectNode() : node;
  }

  private static JsonNode section(JsonNode node, boolean normalizeNames) {
    if (node == null) {
      return JsonNodeFactory.instance.objectNode();
    }
    if (!normalizeNames || !node.isObject()) {
      return node;
    }
    ObjectNode normalized = JsonNodeFactory.instance.objectNode();
    node.properties()
        .forEach(
            entry ->
                normalized.set(LockedDistribution.normalize(entry.getKey()), entry.getValue()));
    return normalized;
  }
}
