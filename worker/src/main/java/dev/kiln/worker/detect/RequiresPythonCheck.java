package dev.kiln.worker.detect;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import dev.kiln.buildpack.Codes;
import dev.kiln.buildpack.Diagnostic;
import dev.kiln.buildpack.PythonRequirements;
import dev.kiln.installer.pep.Pep440Version;
import dev.kiln.installer.pep.RequiresPython;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The Python requirements the app's files state, checked when the plan is made instead of when the
 * install fails on them: uv's {@code requires-python} ({@code pyproject.toml}, then {@code
 * uv.lock}) and Pipenv's {@code [requires]} in the {@code Pipfile} of a locked app. Both tools
 * refuse a mismatched interpreter at install ({@code uv sync --locked}, {@code pipenv install
 * --deploy}), so the plan fails the same build, earlier and with the fix. Poetry's own check is not
 * reliable upstream, so its apps are not judged here. Files that cannot be read or hold no usable
 * specifier are left to the install, which reports them.
 */
public final class RequiresPythonCheck implements PythonRequirements {
  private static final TomlMapper TOML = new TomlMapper();
  private static final long MAX_BYTES = 1 << 20;

  @Override
  public Optional<Diagnostic> conflict(Path sourceRoot, String packageManager, String python) {
    if (sourceRoot == null || python == null) {
      return Optional.empty();
    }
    return switch (packageManager) {
      case "uv" -> uv(sourceRoot, python);
      case "pipenv" -> pipenv(sourceRoot, python);
      default -> Optional.empty();
    };
  }

  private static Optional<Diagnostic> uv(Path root, String python) {
    Optional<String> project =
        read(root.resolve("pyproject.toml"))
            .map(toml -> toml.path("project").path("requires-python").asText(""))
            .filter(spec -> !spec.isBlank());
    if (project.isPresent()) {
      return judge(python, project.get(), "requires-python in pyproject.toml", "pyproject.toml");
    }
    return read(root.resolve("uv.lock"))
        .map(toml -> toml.path("requires-python").asText(""))
        .filter(spec -> !spec.isBlank())
        .flatMap(spec -> judge(python, spec, "requires-python in uv.lock", "pyproject.toml"));
  }

  private static Optional<Diagnostic> pipenv(Path root, String python) {
    if (!Files.isRegularFile(root.resolve("Pipfile.lock"))) {
      return Optional.empty(); // without its lock Pipenv only warns about another Python
    }
    Optional<JsonNode> requires = read(root.resolve("Pipfile")).map(toml -> toml.path("requires"));
    if (requires.isEmpty()) {
      return Optional.empty();
    }
    String full = requires.get().path("python_full_version").asText("");
    if (!full.isBlank()) {
      return judge(python, "==" + full, "python_full_version in the Pipfile", "Pipfile");
    }
    String minor = requires.get().path("python_version").asText("");
    if (!minor.isBlank()) {
      return judge(python, "==" + minor + ".*", "python_version in the Pipfile", "Pipfile");
    }
    return Optional.empty();
  }

  private static Optional<Diagnostic> judge(
      String python, String specifier, String where, String fileToChange) {
    RequiresPython required;
    try {
      required = RequiresPython.parse(specifier);
    } catch (IllegalArgumentException e) {
      return Optional.empty(); // the install names what is wrong with it
    }
    Optional<Pep440Version> version = Pep440Version.parse(python);
    if (version.isEmpty() || required.admits(version.get())) {
      return Optional.empty();
    }
    return Optional.of(
        new Diagnostic(
            Codes.PYTHON_VERSION_REQUIRES_PYTHON_CONFLICT,
            "The app asks for Python "
                + python
                + ", but "
                + where
                + " ("
                + specifier
                + ") rules that version out, so installing the dependencies would fail.\n\n"
                + "Make the two agree: change the version the app names (.python-version) to one"
                + " that "
                + specifier
                + " admits, or change "
                + fileToChange
                + " (and lock again) to admit Python "
                + python
                + "."));
  }

  private static Optional<JsonNode> read(Path file) {
    try {
      if (!Files.isRegularFile(file) || Files.size(file) > MAX_BYTES) {
        return Optional.empty();
      }
      return Optional.of(TOML.readTree(Files.readString(file)));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }
}
