package dev.kiln.buildpack;

import java.nio.file.Path;

/** What every rule needs while a plan is worked out. */
final class PlanContext {
  final SourceTree tree;
  final BuildInputs inputs;
  final RuntimeCatalog catalog;
  final PlanRecorder plan;
  Path sourceRoot;

  PlanContext(SourceTree tree, BuildInputs inputs, RuntimeCatalog catalog, PlanRecorder plan) {
    this.tree = tree;
    this.inputs = inputs;
    this.catalog = catalog;
    this.plan = plan;
    plan.repositoryRoot = tree.root();
  }

  /** Looks up a path relative to the source directory. */
  SourceTree.Entry inspect(String relative) {
    return tree.inspect(sourceRoot, relative, relative);
  }

  /** Looks up a path that must be a regular file if present; a link out of the repository fails. */
  SourceTree.Entry inspectSafely(String relative) throws BuildpackException {
    SourceTree.Entry entry = inspect(relative);
    if (entry.unsafe()) {
      throw SourceTree.unsafe(entry);
    }
    return entry;
  }

  String readText(SourceTree.Entry entry, long limit) throws BuildpackException {
    return Text.decode(tree.read(entry, limit));
  }

  /** A failure when the per-tenant strict policy is on, else a warning. */
  void warnOrFailWhenStrict(Diagnostic diagnostic) throws BuildpackException {
    if (inputs.strict()) {
      throw new BuildpackException(
          diagnostic.code(),
          diagnostic.message()
              + "\n\nThis is an error because the strict build policy is on for this app.");
    }
    plan.warn(diagnostic);
  }

  /**
   * A finding treated as the behaviour level says: not at all, a warning (an error under the strict
   * policy), or an error.
   */
  void apply(BuildpackLevel.Severity severity, Diagnostic finding) throws BuildpackException {
    switch (severity) {
      case ALLOWED -> {}
      case WARNING -> warnOrFailWhenStrict(finding);
      case ERROR ->
          throw new BuildpackException(
              finding.code(),
              finding.message()
                  + "\n\nThis is an error at buildpack level "
                  + inputs.level()
                  + " (the level this app builds with).");
    }
  }

  /** The level whose rules apply: the chosen one, else the oldest (the farm's default). */
  BuildpackLevel levelOrDefault() {
    return inputs.level() == null ? BuildpackLevel.oldest() : inputs.level();
  }
}
