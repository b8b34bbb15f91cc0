package dev.kiln.buildpack;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * {@code Pipfile.lock}: the Python version is {@code _meta.requires.python_full_version}, else
 * {@code _meta.requires.python_version}; null or absent means none. Also the package names of the
 * {@code default} section (what {@code pipenv install --deploy} installs).
 */
final class PipfileLockParser {
  private static final Pattern VERSION = Pattern.compile("\\d+\\.\\d+(\\.\\d+)?");
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private PipfileLockParser() {}

  /** The parsed document, or {@code pipfile-lock::invalid-json}. */
  static Outcome<JsonNode> read(byte[] content) {
    JsonNode root;
    try {
      root = JSON.readTree(content);
    } catch (JacksonException e) {
      return invalidJson(e.getOriginalMessage() + location(e));
    } catch (IOException e) {
      return invalidJson(String.valueOf(e.getMessage()));
    }
    if (root == null || root.isMissingNode()) {
      return invalidJson("the file is empty");
    }
    if (!root.isObject()) {
      return invalidJson("the top level is not a JSON object");
    }
    return Outcome.ok(root);
  }

  private static String location(JacksonException e) {
    return e.getLocation() == null
        ? ""
        : " (line "
            + e.getLocation().getLineNr()
            + ", column "
            + e.getLocation().getColumnNr()
            + ")";
  }

  private static <T> Outcome<T> invalidJson(String parserMessage) {
    return Outcome.fail(
        Codes.PIPFILE_LOCK_INVALID_JSON,
        "Pipfile.lock is not valid JSON, so Pipenv cannot install from it.\n\n"
            + "The JSON parser reported:\n  "
            + Text.quote(parserMessage, 300)
            + "\n\n"
            + "Pipfile.lock is generated: do not edit it by hand. Run 'pipenv lock' to create it again"
            + " (resolve any merge conflict markers first), then commit the new file.");
  }

  /** The requested Python version: empty when the lock names none. */
  static Outcome<Optional<RequestedVersion>> pythonVersion(byte[] content) {
    Outcome<JsonNode> document = read(content);
    if (!document.isOk()) {
      return Outcome.fail(document.failure());
    }
    JsonNode requires = document.value().path("_meta").path("requires");
    JsonNode value = requires.path("python_full_version");
    String field = "python_full_version";
    if (value.isMissingNode() || value.isNull()) {
      value = requires.path("python_version");
      field = "python_version";
    }
    if (value.isMissingNode() || value.isNull()) {
      return Outcome.ok(Optional.empty());
    }
    if (value.isTextual() && VERSION.matcher(value.asText()).matches()) {
      return Outcome.ok(Optional.of(RequestedVersion.of(value.asText())));
    }
    String shown =
        value.isTextual() ? "\"" + Text.quote(value.asText()) + "\"" : Text.quote(value.toString());
    return Outcome.fail(
        Codes.PIPFILE_LOCK_INVALID_VERSION,
        "Pipfile.lock asks for a Python version Kiln cannot read.\n\n"
            + "_meta.requires."
            + field
            + " is:\n  "
            + shown
            + "\n\n"
            + "It must be a string holding X.Y or X.Y.Z, such as \"3.13\". Set the version in the Pipfile:\n"
            + "  [requires]\n  python_version = \"3.13\"\n"
            + "then run 'pipenv lock' and commit both files.");
  }

  /** Names in the {@code default} section, normalized. */
  static Outcome<Set<String>> defaultPackages(byte[] content) {
    Outcome<JsonNode> document = read(content);
    if (!document.isOk()) {
      return Outcome.fail(document.failure());
    }
    Set<String> names = new LinkedHashSet<>();
    JsonNode section = document.value().path("default");
    if (section.isObject()) {
      section.fieldNames().forEachRemaining(name -> names.add(PackageNames.normalize(name)));
    }
    return Outcome.ok(names);
  }
}
