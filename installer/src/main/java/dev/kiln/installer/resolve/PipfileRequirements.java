package dev.kiln.installer.resolve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code [packages]} of a Pipfile with no lock, as the requirement lines pip resolves ({@code
 * pipenv install} without a lock resolves the same entries): {@code flask = "*"} is {@code flask},
 * {@code {version = "~=4.2", extras = ["bcrypt"]}} is {@code django[bcrypt]~=4.2}, markers (the
 * {@code markers} key and marker variables used as keys) become {@code ; …}, and {@code {path =
 * ".", editable = true}} is {@code -e .}. A git or URL source cannot be reached from the build and
 * fails with the package named. {@code [dev-packages]} is read only for CI builds.
 */
public final class PipfileRequirements {

  private static final TomlMapper TOML = new TomlMapper();
  private static final Set<String> MARKER_KEYS =
      Set.of(
          "os_name",
          "sys_platform",
          "platform_machine",
          "platform_python_implementation",
          "platform_release",
          "platform_system",
          "platform_version",
          "python_version",
          "python_full_version",
          "implementation_name",
          "implementation_version");

  private PipfileRequirements() {}

  /**
   * @param pipfile the Pipfile's bytes
   * @param includeDevelop also {@code [dev-packages]} (CI builds)
   */
  public static List<String> lines(byte[] pipfile, boolean includeDevelop)
      throws InstallerException {
    JsonNode root;
    try {
      root = TOML.readTree(pipfile);
    } catch (IOException e) {
      throw new InstallerException(
          Codes.PIPFILE_INVALID,
          "The Pipfile is not valid TOML: "
              + firstLine(e.getMessage())
              + ". Fix it (pipenv reads it the same way), then push again.");
    }
    List<String> lines = new ArrayList<>();
    add(root.path("packages"), "packages", lines);
    if (includeDevelop) {
      add(root.path("dev-packages"), "dev-packages", lines);
    }
    return lines;
  }

  private static void add(JsonNode table, String tableName, List<String> lines)
      throws InstallerException {
    if (table.isMissingNode() || table.isNull()) {
      return;
    }
    if (!table.isObject()) {
      throw new InstallerException(
          Codes.PIPFILE_INVALID,
          "The Pipfile's [" + tableName + "] is not a table of package = version.");
    }
    Iterator<Map.Entry<String, JsonNode>> entries = table.fields();
    while (entries.hasNext()) {
      Map.Entry<String, JsonNode> entry = entries.next();
      lines.add(line(entry.getKey(), entry.getValue(), tableName));
    }
  }

  private static String line(String name, JsonNode value, String tableName)
      throws InstallerException {
    if (!name.matches("[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")) {
      throw new InstallerException(
          Codes.PIPFILE_INVALID,
          "The Pipfile's [" + tableName + "] names '" + name + "', not a package name.");
    }
    if (value.isTextual()) {
      return name + version(value.asText());
    }
    if (!value.isObject()) {
      throw new InstallerException(
          Codes.PIPFILE_INVALID,
          "The Pipfile gives "
              + name
              + " the value "
              + value
              + "; use a version string (\"*\", \">=2.0\") or a table ({version = \"*\"}).");
    }
    for (String unreachable : List.of("git", "hg", "svn", "bzr", "file")) {
      if (value.has(unreachable)) {
        throw new InstallerException(
            Codes.UNSUPPORTED_REQUIREMENT,
            "The Pipfile installs "
                + name
                + " from "
                + unreachable
                + " ("
                + value.path(unreachable).asText()
                + "), which Kiln cannot reach: builds use only Kiln's package index. Publish the"
                + " package to the index, or commit it to the repository and use {path = \"…\"}.");
      }
    }
    List<String> markers = new ArrayList<>();
    if (value.hasNonNull("markers")) {
      markers.add(value.get("markers").asText());
    }
    Iterator<Map.Entry<String, JsonNode>> keys = value.fields();
    while (keys.hasNext()) {
      Map.Entry<String, JsonNode> key = keys.next();
      if (MARKER_KEYS.contains(key.getKey())) {
        markers.add(key.getKey() + " " + key.getValue().asText());
      }
    }
    String markerText =
        markers.isEmpty() ? "" : " ; " + String.join(" and ", parenthesize(markers));
    if (value.has("path")) {
      String path = value.get("path").asText();
      String local = path.startsWith(".") || path.startsWith("/") ? path : "./" + path;
      return (value.path("editable").asBoolean(false) ? "-e " : "") + local + markerText;
    }
    StringBuilder line = new StringBuilder(name);
    if (value.has("extras")) {
      List<String> extras = new ArrayList<>();
      value.get("extras").forEach(extra -> extras.add(extra.asText()));
      if (!extras.isEmpty()) {
        line.append('[').append(String.join(",", extras)).append(']');
      }
    }
    line.append(version(value.path("version").asText("*")));
    return line + markerText;
  }

  private static List<String> parenthesize(List<String> markers) {
    if (markers.size() == 1) {
      return markers;
    }
    return markers.stream().map(marker -> "(" + marker + ")").toList();
  }

  private static String version(String text) {
    String version = text.strip();
    if (version.isEmpty() || version.equals("*")) {
      return "";
    }
    // Pipenv accepts a bare version as ==; pip needs the operator.
    return Character.isDigit(version.charAt(0)) ? "==" + version : version;
  }

  private static String firstLine(String text) {
    if (text == null) {
      return "unreadable";
    }
    int newline = text.indexOf('\n');
    return newline < 0 ? text : text.substring(0, newline);
  }
}
