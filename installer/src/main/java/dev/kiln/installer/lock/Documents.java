package dev.kiln.installer.lock;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import dev.kiln.installer.InstallerException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Reading the TOML and JSON files the readers take, and small accessors over their trees. */
final class Documents {
  private static final TomlMapper TOML = new TomlMapper();
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private Documents() {}

  /**
   * Parses a TOML file; a syntax error becomes {@code code} with the parser's words and {@code
   * fix}.
   */
  static ObjectNode toml(byte[] content, String fileName, String code, String fix)
      throws InstallerException {
    try {
      JsonNode tree = TOML.readTree(content);
      if (tree == null || tree.isMissingNode()) {
        return TOML.createObjectNode();
      }
      if (!tree.isObject()) {
        throw new InstallerException(code, fileName + " is not a TOML document. " + fix);
      }
      return (ObjectNode) tree;
    } catch (JacksonException e) {
      throw new InstallerException(
          code,
          fileName + " is not valid TOML: " + e.getOriginalMessage() + location(e) + ". " + fix,
          e);
    } catch (IOException e) {
      throw new InstallerException(code, fileName + " cannot be read: " + e.getMessage(), e);
    }
  }

  /** Parses a JSON file whose top level must be an object. */
  static ObjectNode json(byte[] content, String fileName, String code, String fix)
      throws InstallerException {
    JsonNode tree;
    try {
      tree = JSON.readTree(content);
    } catch (JacksonException e) {
      throw new InstallerException(
          code,
          fileName + " is not valid JSON: " + e.getOriginalMessage() + location(e) + ". " + fix,
          e);
    } catch (IOException e) {
      throw new InstallerException(code, fileName + " cannot be read: " + e.getMessage(), e);
    }
    if (tree == null || !tree.isObject()) {
      throw new InstallerException(
          code, fileName + " is not valid JSON: the top level is not an object. " + fix);
    }
    return (ObjectNode) tree;
  }

  private static String location(JacksonException e) {
    return e.getLocation() == null || e.getLocation().getLineNr() < 1
        ? ""
        : " (line "
            + e.getLocation().getLineNr()
            + ", column "
            + e.getLocation().getColumnNr()
            + ")";
  }

  /** The text at {@code field}, or null when absent or not a string. */
  static String text(JsonNode node, String field) {
    JsonNode value = node == null ? null : node.get(field);
    return value != null && value.isTextual() ? value.asText() : null;
  }

  /** The table at {@code field}, or an empty one. */
  static JsonNode table(JsonNode node, String field) {
    JsonNode value = node == null ? null : node.get(field);
    return value != null && value.isObject() ? value : TOML.createObjectNode();
  }

  /** The array at {@code field} (a lone value counts as one element), or an empty list. */
  static List<JsonNode> array(JsonNode node, String field) {
    JsonNode value = node == null ? null : node.get(field);
    List<JsonNode> items = new ArrayList<>();
    if (value == null || value.isNull() || value.isMissingNode()) {
      return items;
    }
    if (value.isArray()) {
      value.forEach(items::add);
    } else {
      items.add(value);
    }
    return items;
  }

  /** The strings of the array at {@code field}; other elements are skipped. */
  static List<String> strings(JsonNode node, String field) {
    List<String> values = new ArrayList<>();
    for (JsonNode item : array(node, field)) {
      if (item.isTextual()) {
        values.add(item.asText());
      }
    }
    return values;
  }

  /** {@code text} cut to {@code max} characters, for messages. */
  static String shorten(String text, int max) {
    return text.length() <= max ? text : text.substring(0, max) + "…";
  }
}
