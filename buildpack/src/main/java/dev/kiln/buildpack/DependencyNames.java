package dev.kiln.buildpack;

import java.util.LinkedHashSet;
import java.util.Set;

/** The names of the packages the chosen package manager installs, read from its files. */
final class DependencyNames {
  private DependencyNames() {}

  static Set<String> of(PlanContext context, PackageManagerChoice choice)
      throws BuildpackException {
    return switch (choice.variant()) {
      case PIP_REQUIREMENTS -> choice.requirementsPackages();
      case PIPENV_LOCKED ->
          PipfileLockParser.defaultPackages(
                  read(context, "Pipfile.lock", SourceTree.LOCK_FILE_LIMIT))
              .orThrow();
      case PIPENV_UNLOCKED ->
          LockfileNames.pipfilePackages(
              Text.decode(read(context, "Pipfile", SourceTree.TEXT_FILE_LIMIT)));
      case POETRY ->
          LockfileNames.lockedPackages(
              Text.decode(read(context, "poetry.lock", SourceTree.LOCK_FILE_LIMIT)));
      case UV ->
          LockfileNames.lockedPackages(
              Text.decode(read(context, "uv.lock", SourceTree.LOCK_FILE_LIMIT)));
      case PYLOCK ->
          LockfileNames.pylockPackages(
              Text.decode(read(context, choice.filesFound().get(0), SourceTree.LOCK_FILE_LIMIT)));
      case PIP_SETUP_PY -> setupPyPackages(context);
    };
  }

  private static Set<String> setupPyPackages(PlanContext context) throws BuildpackException {
    Set<String> names =
        new LinkedHashSet<>(
            LockfileNames.listedRequirements(
                Text.decode(read(context, "setup.py", SourceTree.TEXT_FILE_LIMIT)),
                "install_requires"));
    if (context.inspectSafely("pyproject.toml").isFile()) {
      names.addAll(
          LockfileNames.listedRequirements(
              Text.decode(read(context, "pyproject.toml", SourceTree.TEXT_FILE_LIMIT)),
              "dependencies"));
    }
    return names;
  }

  private static byte[] read(PlanContext context, String name, long limit)
      throws BuildpackException {
    return context.tree.read(context.inspectSafely(name), limit);
  }
}
