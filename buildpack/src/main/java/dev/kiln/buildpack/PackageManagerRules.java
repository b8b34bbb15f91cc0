package dev.kiln.buildpack;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * §3: which package manager installs the app. Checked in order: {@code Pipfile.lock} (else {@code
 * Pipfile} alone), {@code requirements.txt}, {@code poetry.lock}, {@code uv.lock}, then a PEP 751
 * lock ({@code pylock.toml}, else the one {@code pylock.<name>.toml}; Kiln's own addition, after
 * every tool the classic buildpack knows, so no app that builds there changes here); {@code
 * setup.py} only when none of these is there. The first found is used.
 */
final class PackageManagerRules {
  private static final List<String> MISSPELLINGS =
      List.of(
          "requirement.txt",
          "Requirements.txt",
          "requirements.text",
          "requirements.txt.txt",
          "requirments.txt");

  /** PEP 751: {@code pylock.toml}, or {@code pylock.<name>.toml} with a name without dots. */
  static final String PYLOCK = "pylock.toml";

  private static final Pattern NAMED_PYLOCK = Pattern.compile("pylock\\.[^.]+\\.toml");

  private PackageManagerRules() {}

  private record Found(String file, String manager, PackageManagerChoice.Variant variant) {}

  static PackageManagerChoice apply(PlanContext context) throws BuildpackException {
    List<Found> found = new ArrayList<>();
    boolean hasLock = context.inspectSafely("Pipfile.lock").isFile();
    if (hasLock) {
      found.add(
          new Found(
              "Pipfile.lock",
              PackageManagerChoice.PIPENV,
              PackageManagerChoice.Variant.PIPENV_LOCKED));
    } else if (context.inspectSafely("Pipfile").isFile()) {
      found.add(
          new Found(
              "Pipfile",
              PackageManagerChoice.PIPENV,
              PackageManagerChoice.Variant.PIPENV_UNLOCKED));
    }
    if (context.inspectSafely("requirements.txt").isFile()) {
      found.add(
          new Found(
              "requirements.txt",
              PackageManagerChoice.PIP,
              PackageManagerChoice.Variant.PIP_REQUIREMENTS));
    }
    if (context.inspectSafely("poetry.lock").isFile()) {
      found.add(
          new Found(
              "poetry.lock", PackageManagerChoice.POETRY, PackageManagerChoice.Variant.POETRY));
    }
    if (context.inspectSafely("uv.lock").isFile()) {
      found.add(new Found("uv.lock", PackageManagerChoice.UV, PackageManagerChoice.Variant.UV));
    }
    pylock(context)
        .ifPresent(
            file ->
                found.add(
                    new Found(
                        file, PackageManagerChoice.PYLOCK, PackageManagerChoice.Variant.PYLOCK)));
    if (found.isEmpty() && context.inspectSafely("setup.py").isFile()) {
      found.add(
          new Found(
              "setup.py", PackageManagerChoice.PIP, PackageManagerChoice.Variant.PIP_SETUP_PY));
    }
    if (found.isEmpty()) {
      throw new BuildpackException(Codes.PM_NONE_FOUND, noneFound(context));
    }

    PlanRecorder plan = context.plan;
    Found chosen = found.get(0);
    List<String> files = found.stream().map(Found::file).toList();
    plan.packageManager = chosen.manager();
    plan.packageManagerFiles.addAll(files);
    plan.step("Using " + chosen.manager() + " (found " + chosen.file() + ")");

    BuildpackLevel level = context.inputs.level();
    if (found.size() > 1) {
      judge(context, level == null ? null : level.multiplePackageManagers(), multipleFound(found));
    }
    if (chosen.variant() == PackageManagerChoice.Variant.PIPENV_UNLOCKED) {
      judge(context, level == null ? null : level.pipfileWithoutLock(), pipenvWithoutLock());
    }
    if (chosen.variant() == PackageManagerChoice.Variant.PIP_SETUP_PY) {
      judge(context, level == null ? null : level.setupPyOnly(), setupPyOnly());
    }

    PackageManagerChoice choice = installInputs(context, chosen, files);
    plan.requirementFiles.addAll(choice.requirementFiles());
    if (!choice.requirementFiles().isEmpty()) {
      plan.detail(
          "Installs from: "
              + String.join(
                  ", ",
                  choice
                      .requirementFiles()
                      .subList(0, Math.min(10, choice.requirementFiles().size())))
              + (choice.requirementFiles().size() > 10 ? ", …" : ""));
    }
    return choice;
  }

  /**
   * The PEP 751 lock to install from: {@code pylock.toml}, else the only {@code
   * pylock.<name>.toml}. Several named locks and no {@code pylock.toml} is an error: which
   * environment each is for is the app's knowledge, not something to guess.
   */
  private static Optional<String> pylock(PlanContext context) throws BuildpackException {
    if (context.inspectSafely(PYLOCK).isFile()) {
      return Optional.of(PYLOCK);
    }
    List<String> named = new ArrayList<>();
    for (String name : context.tree.listing(context.sourceRoot)) {
      if (NAMED_PYLOCK.matcher(name).matches() && context.inspectSafely(name).isFile()) {
        named.add(name);
      }
    }
    if (named.size() > 1) {
      throw new BuildpackException(
          Codes.PM_PYLOCK_AMBIGUOUS,
          "Found several PEP 751 lock files and no pylock.toml: "
              + Text.commaList(named)
              + ".\n\n"
              + "Each named lock is for another environment, and Kiln will not guess which one"
              + " is for deployment. Rename the one to deploy to pylock.toml (or keep only that"
              + " one), commit, and push again.");
    }
    return named.stream().findFirst();
  }

  private static PackageManagerChoice installInputs(
      PlanContext context, Found chosen, List<String> files) throws BuildpackException {
    List<String> inputs = new ArrayList<>();
    switch (chosen.variant()) {
      case PIPENV_LOCKED -> {
        if (context.inspectSafely("Pipfile").isFile()) {
          inputs.add("Pipfile");
        }
        inputs.add("Pipfile.lock");
      }
      case PIPENV_UNLOCKED -> inputs.add("Pipfile");
      case PIP_REQUIREMENTS -> {
        RequirementsWalk.Result walk =
            RequirementsWalk.walk(context, context.inspect("requirements.txt"));
        return new PackageManagerChoice(
            chosen.manager(), chosen.variant(), files, walk.files(), walk.packageNames());
      }
      case PIP_SETUP_PY -> {
        inputs.add("setup.py");
        addIfFile(context, inputs, "setup.cfg");
        addIfFile(context, inputs, "pyproject.toml");
      }
      case POETRY, UV -> {
        requirePyproject(context, chosen);
        inputs.add("pyproject.toml");
        inputs.add(chosen.file());
        if (chosen.variant() == PackageManagerChoice.Variant.UV) {
          addIfFile(context, inputs, ".python-version");
        }
      }
      case PYLOCK -> {
        inputs.add(chosen.file());
        // A lock may install the app's own project (a directory package); its metadata decides
        // what that project needs, so it belongs to the install's inputs.
        addIfFile(context, inputs, "pyproject.toml");
        addIfFile(context, inputs, "setup.py");
        addIfFile(context, inputs, "setup.cfg");
      }
    }
    return new PackageManagerChoice(chosen.manager(), chosen.variant(), files, inputs, null);
  }

  private static void addIfFile(PlanContext context, List<String> inputs, String name)
      throws BuildpackException {
    if (context.inspectSafely(name).isFile()) {
      inputs.add(name);
    }
  }

  private static void requirePyproject(PlanContext context, Found chosen)
      throws BuildpackException {
    if (context.inspectSafely("pyproject.toml").isFile()) {
      return;
    }
    String tool = chosen.manager().equals(PackageManagerChoice.UV) ? "uv" : "Poetry";
    String lockCommand =
        chosen.manager().equals(PackageManagerChoice.UV) ? "uv lock" : "poetry lock";
    throw new BuildpackException(
        Codes.PM_MISSING_PYPROJECT,
        "Found "
            + chosen.file()
            + ", so this app is installed with "
            + tool
            + ", but pyproject.toml is missing.\n\n"
            + tool
            + " reads the app's dependencies from pyproject.toml; the lock file alone is not enough."
            + " Commit pyproject.toml next to "
            + chosen.file()
            + " (run '"
            + lockCommand
            + "' afterwards if they disagree).");
  }

  /** As the chosen level says; without one, Kiln's own rule: a warning, an error when strict. */
  private static void judge(
      PlanContext context, BuildpackLevel.Severity severity, Diagnostic finding)
      throws BuildpackException {
    if (severity == null) {
      context.warnOrFailWhenStrict(finding);
    } else {
      context.apply(severity, finding);
    }
  }

  private static Diagnostic multipleFound(List<Found> found) {
    StringBuilder list = new StringBuilder();
    for (Found f : found) {
      list.append("\n  ").append(f.file()).append(" (").append(f.manager()).append(')');
    }
    Found chosen = found.get(0);
    return new Diagnostic(
        Codes.PM_MULTIPLE_FOUND,
        "Files of more than one package manager were found; only "
            + chosen.manager()
            + " will be used.\n\n"
            + "Found:"
            + list
            + "\n\n"
            + "Kiln uses the first in the order above ("
            + chosen.file()
            + "). Keep the files of the package manager"
            + " you use and delete the others, so that everyone (and every tool) installs the same dependencies.");
  }

  private static Diagnostic pipenvWithoutLock() {
    return new Diagnostic(
        Codes.PM_PIPENV_MISSING_LOCKFILE,
        "Found a Pipfile but no Pipfile.lock, so the dependencies are not pinned.\n\n"
            + "Without the lock file every build may install different versions. Run 'pipenv lock' and commit"
            + " the Pipfile.lock it writes.");
  }

  private static Diagnostic setupPyOnly() {
    return new Diagnostic(
        Codes.PM_SETUP_PY_ONLY,
        "Found only setup.py, so the app is installed as a package with 'pip install -e .'.\n\n"
            + "This way of declaring an app's dependencies is deprecated. Add a requirements.txt (it may contain"
            + " just '-e .'), or use Poetry or uv with pyproject.toml and a lock file.");
  }

  private static String noneFound(PlanContext context) {
    List<String> listing = context.tree.listing(context.sourceRoot);
    List<String> misspelled = new ArrayList<>();
    for (String name : MISSPELLINGS) {
      if (context.inspect(name).exists()) {
        misspelled.add(name);
      }
    }
    StringBuilder message =
        new StringBuilder(
            "No package manager files were found, so Kiln cannot tell how to install the app's dependencies.\n\n");
    message.append(
        listing.isEmpty()
            ? "The source directory is empty.\n\n"
            : "The source directory contains:\n" + Text.list(listing, 50) + "\n\n");
    if (!misspelled.isEmpty()) {
      message
          .append("Found ")
          .append(Text.commaList(misspelled))
          .append(": the file must be named exactly requirements.txt (all lower case).\n\n");
    }
    if (context.inspect("pyproject.toml").isFile()) {
      message.append(
          "Found pyproject.toml but no lock file. pyproject.toml alone is not enough: run 'uv lock' or"
              + " 'poetry lock' and commit the lock file, or list the dependencies in requirements.txt.\n\n");
    }
    message.append(
        "Add one of these at the top level of the source directory:\n"
            + "  requirements.txt (pip), Pipfile.lock (Pipenv), poetry.lock (Poetry), uv.lock (uv)"
            + " or pylock.toml (a PEP 751 lock).\n"
            + "An app without dependencies can commit an empty requirements.txt.");
    return message.toString();
  }
}
