package dev.kiln.buildpack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a CI build installs on top of a normal one, as the classic buildpack does for Heroku CI
 * ({@code bin/test-compile}): {@code requirements-test.txt} for pip, the lock's {@code develop}
 * section for Pipenv, every non-optional group for Poetry ({@code poetry sync} without {@code
 * --only main}), and the default groups for uv ({@code uv sync} without {@code
 * --no-default-groups}). Every plan names these, so a team sees what its CI builds add; a CI build
 * also reads the extra files.
 */
final class CiInstallRules {
  static final String REQUIREMENTS_TEST = "requirements-test.txt";
  private static final long TOML_LIMIT = 1L << 20;
  private static final TomlMapper TOML = new TomlMapper();

  private CiInstallRules() {}

  static void apply(PlanContext context, PackageManagerChoice choice) throws BuildpackException {
    PlanRecorder plan = context.plan;
    List<String> additions = additions(context, choice);
    plan.ciInstalls.addAll(additions);
    if (context.inputs.ci()) {
      plan.step(
          additions.isEmpty()
              ? "CI build: there are no test dependencies to add"
                  + (isPip(choice) ? " (no " + REQUIREMENTS_TEST + ")" : "")
              : "CI build: also installing " + String.join(", ", additions));
      if (isPip(choice) && !additions.isEmpty()) {
        for (String file :
            RequirementsWalk.walk(context, context.inspect(REQUIREMENTS_TEST)).files()) {
          if (!plan.requirementFiles.contains(file)) {
            plan.requirementFiles.add(file);
          }
        }
      }
    } else if (!additions.isEmpty()) {
      plan.detail("A CI build would also install " + String.join(", ", additions));
    }
  }

  private static boolean isPip(PackageManagerChoice choice) {
    return choice.variant() == PackageManagerChoice.Variant.PIP_REQUIREMENTS
        || choice.variant() == PackageManagerChoice.Variant.PIP_SETUP_PY;
  }

  private static List<String> additions(PlanContext context, PackageManagerChoice choice)
      throws BuildpackException {
    return switch (choice.variant()) {
      case PIP_REQUIREMENTS, PIP_SETUP_PY ->
          context.inspectSafely(REQUIREMENTS_TEST).isFile()
              ? List.of(REQUIREMENTS_TEST)
              : List.of();
      case PIPENV_LOCKED, PIPENV_UNLOCKED -> {
        JsonNode pipfile = toml(context, "Pipfile");
        JsonNode dev = pipfile == null ? null : pipfile.get("dev-packages");
        yield dev != null && dev.isObject() && !dev.isEmpty()
            ? List.of("the Pipfile's [dev-packages]")
            : List.of();
      }
      case POETRY -> groups("Poetry group", poetryGroups(toml(context, "pyproject.toml")));
      case UV -> groups("uv group", uvDefaultGroups(toml(context, "pyproject.toml")));
      case PYLOCK -> List.of();
    };
  }

  private static List<String> groups(String kind, Set<String> names) {
    return names.stream().map(name -> kind + " '" + name + "'").toList();
  }

  /**
   * The groups {@code poetry sync} adds to {@code main}: every {@code [tool.poetry.group.NAME]} not
   * marked {@code optional = true}, and the older {@code [tool.poetry.dev-dependencies]} (group
   * {@code dev}).
   */
  static Set<String> poetryGroups(JsonNode pyproject) {
    Set<String> names = new LinkedHashSet<>();
    JsonNode poetry = path(pyproject, "tool", "poetry");
    JsonNode legacy = poetry.get("dev-dependencies");
    if (legacy != null && legacy.isObject() && !legacy.isEmpty()) {
      names.add("dev");
    }
    JsonNode groups = poetry.path("group");
    for (Iterator<Map.Entry<String, JsonNode>> it = groups.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> group = it.next();
      boolean optional = group.getValue().path("optional").asBoolean(false);
      if (!group.getKey().equals("main") && !optional) {
        names.add(group.getKey());
      }
    }
    // Poetry 2.2 reads PEP 735 groups too; [tool.poetry.group.NAME] may still mark one optional.
    JsonNode declared = pyproject == null ? null : pyproject.get("dependency-groups");
    if (declared != null && declared.isObject()) {
      declared
          .fieldNames()
          .forEachRemaining(
              name -> {
                if (!groups.path(name).path("optional").asBoolean(false)) {
                  names.add(name);
                }
              });
    }
    return names;
  }

  /**
   * The groups {@code uv sync} installs by default: {@code [tool.uv] default-groups} ({@code "all"}
   * is every group), else {@code dev}; only groups the project defines ({@code
   * [dependency-groups]}, or the older {@code [tool.uv] dev-dependencies} as {@code dev}).
   */
  static Set<String> uvDefaultGroups(JsonNode pyproject) {
    Set<String> defined = new LinkedHashSet<>();
    JsonNode declared = pyproject == null ? null : pyproject.get("dependency-groups");
    if (declared != null && declared.isObject()) {
      declared.fieldNames().forEachRemaining(defined::add);
    }
    JsonNode uv = path(pyproject, "tool", "uv");
    JsonNode legacy = uv.get("dev-dependencies");
    if (legacy != null && legacy.isArray() && !legacy.isEmpty()) {
      defined.add("dev");
    }
    JsonNode defaults = uv.get("default-groups");
    if (defaults != null && defaults.isTextual() && defaults.asText().equals("all")) {
      return defined;
    }
    List<String> wanted = new ArrayList<>();
    if (defaults != null && defaults.isArray()) {
      defaults.forEach(name -> wanted.add(name.asText()));
    } else {
      wanted.add("dev");
    }
    Set<String> names = new LinkedHashSet<>();
    for (String name : wanted) {
      if (defined.contains(name)) {
        names.add(name);
      }
    }
    return names;
  }

  private static JsonNode path(JsonNode root, String... names) {
    JsonNode node =
        root == null ? com.fasterxml.jackson.databind.node.MissingNode.getInstance() : root;
    for (String name : names) {
      node = node.path(name);
    }
    return node;
  }

  /** The file as TOML, or null when it is absent or unreadable (INSTALL reports a broken file). */
  private static JsonNode toml(PlanContext context, String name) throws BuildpackException {
    SourceTree.Entry entry = context.inspectSafely(name);
    if (!entry.isFile()) {
      return null;
    }
    try {
      return TOML.readTree(context.readText(entry, TOML_LIMIT));
    } catch (IOException e) {
      return null;
    }
  }
}
