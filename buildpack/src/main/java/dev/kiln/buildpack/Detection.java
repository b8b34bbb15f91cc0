package dev.kiln.buildpack;

import java.util.ArrayList;
import java.util.List;

/** §1: the app is Python if one of the marker files or directories is at the source root. */
final class Detection {
  static final List<String> MARKERS =
      List.of(
          "requirements.txt",
          "Pipfile",
          "Pipfile.lock",
          "setup.py",
          "setup.cfg",
          "pyproject.toml",
          "poetry.lock",
          "uv.lock",
          "pdm.lock",
          "runtime.txt",
          ".python-version",
          "manage.py",
          "app.py",
          "main.py",
          "server.py",
          "__init__.py",
          "requirement.txt",
          "Requirements.txt",
          "requirements.text",
          "requirements.txt.txt",
          "requirments.txt");
  static final List<String> MARKER_DIRECTORIES = List.of("venv", ".venv");

  private Detection() {}

  static void apply(PlanContext context) throws BuildpackException {
    List<String> found = new ArrayList<>();
    for (String name : MARKERS) {
      if (context.inspect(name).exists()) {
        found.add(name);
      }
    }
    for (String name : MARKER_DIRECTORIES) {
      if (context.inspect(name).isDirectory()) {
        found.add(name + "/");
      }
    }
    if (found.isEmpty()) {
      throw new BuildpackException(Codes.DETECT_NO_PYTHON_FILES, noPythonFiles(context));
    }
    context.plan.strategy = PlanResult.STRATEGY_BUILDPACK;
    context.plan.step("Python app detected");
    context.plan.detail("Found: " + String.join(", ", found.subList(0, Math.min(found.size(), 8))));
  }

  private static String noPythonFiles(PlanContext context) {
    List<String> listing = context.tree.listing(context.sourceRoot);
    String where =
        ".".equals(context.plan.sourceDir)
            ? "the repository"
            : "source_dir " + context.plan.sourceDir;
    return "Kiln found no Python app at the top level of "
        + where
        + ", and there is no Dockerfile either.\n\n"
        + (listing.isEmpty()
            ? "The directory is empty.\n\n"
            : "It contains:\n" + Text.list(listing, 50) + "\n\n")
        + "A Python app needs one of these at the top level: requirements.txt, Pipfile, Pipfile.lock,"
        + " pyproject.toml, poetry.lock, uv.lock, setup.py, .python-version, manage.py, app.py or main.py.\n"
        + "Check that:\n"
        + "  - the file is at the top level of "
        + where
        + " (not in a subdirectory; for a monorepo set source_dir"
        + " in the app spec),\n"
        + "  - the name is spelled exactly, including upper and lower case (requirements.txt, not"
        + " Requirements.txt),\n"
        + "  - it is not listed in .gitignore,\n"
        + "  - it has been committed and pushed.";
  }
}
