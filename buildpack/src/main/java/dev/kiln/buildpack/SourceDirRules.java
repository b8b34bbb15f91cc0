package dev.kiln.buildpack;

import java.util.Optional;

/**
 * §1: the app spec's {@code source_dir} (monorepos) must name a directory inside the repository.
 */
final class SourceDirRules {
  private SourceDirRules() {}

  static void resolve(PlanContext context) throws BuildpackException {
    String raw = context.inputs.appSpec().sourceDir();
    if (raw == null || raw.isBlank()) {
      accept(context, "", context.tree.root());
      return;
    }
    Optional<String> normalized = SourceTree.normalizeRepositoryPath(raw.strip());
    if (normalized.isEmpty()) {
      throw new BuildpackException(
          Codes.SOURCE_DIR_OUTSIDE,
          "The app spec's source_dir "
              + quoted(raw)
              + " climbs out of the repository with '..'.\n\n"
              + "source_dir is a directory inside the repository, relative to its root, for example\n"
              + "  source_dir: services/api\n"
              + "Use '/' or leave it out to build from the repository root.");
    }
    if (normalized.get().isEmpty()) {
      accept(context, "", context.tree.root());
      return;
    }
    SourceTree.Entry entry =
        context.tree.inspect(context.tree.root(), normalized.get(), normalized.get());
    switch (entry.kind()) {
      case DIRECTORY -> accept(context, normalized.get(), entry.real());
      case SYMLINK_OUTSIDE ->
          throw new BuildpackException(
              Codes.SOURCE_DIR_OUTSIDE,
              "The app spec's source_dir "
                  + quoted(raw)
                  + " is (or passes through) a symbolic link to a location"
                  + " outside the repository. Kiln only builds files that are in the repository.\n\n"
                  + "Point source_dir at a real directory inside the repository.");
      default ->
          throw new BuildpackException(
              Codes.SOURCE_DIR_NOT_FOUND,
              "The app spec's source_dir "
                  + quoted(raw)
                  + " is not a directory in the repository"
                  + (entry.kind() == SourceTree.Kind.MISSING
                      ? " (nothing has that name)"
                      : " (it is not a directory)")
                  + ".\n\nsource_dir is relative to the repository root and case-sensitive. The repository root contains:\n"
                  + Text.list(context.tree.listing(context.tree.root()), 40)
                  + "\n\nFix source_dir in the app spec, or commit the directory.");
    }
  }

  private static void accept(PlanContext context, String relative, java.nio.file.Path real) {
    context.sourceRoot = real;
    context.plan.sourceRoot = real;
    context.plan.sourceDir = relative.isEmpty() ? "." : relative;
    if (!relative.isEmpty()) {
      context.plan.step("Using source directory " + relative + " (source_dir in the app spec)");
    }
  }

  private static String quoted(String raw) {
    return "'" + Text.quote(raw) + "'";
  }
}
