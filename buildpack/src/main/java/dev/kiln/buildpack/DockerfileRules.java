package dev.kiln.buildpack;

import java.util.Optional;

/**
 * §0: a {@code Dockerfile} in the source directory, or the app spec's {@code dockerfile_path}
 * (relative to the repository root), means a Dockerfile build instead of the buildpack.
 */
final class DockerfileRules {
  private DockerfileRules() {}

  /** True when this is a Dockerfile build (the plan is then complete). */
  static boolean apply(PlanContext context) throws BuildpackException {
    Optional<String> dockerfile = find(context);
    if (dockerfile.isEmpty()) {
      return false;
    }
    PlanRecorder plan = context.plan;
    plan.strategy = PlanResult.STRATEGY_DOCKERFILE;
    plan.dockerfilePath = dockerfile.get();
    plan.step(
        "Building with the Dockerfile at "
            + dockerfile.get()
            + " (the Python buildpack is not used)");
    if (!context.inputs.dockerfileBuilderAvailable()) {
      throw new BuildpackException(
          Codes.DOCKERFILE_NO_BUILDER,
          "This app is built from a Dockerfile ("
              + Text.quote(dockerfile.get())
              + "), but this farm has no"
              + " Dockerfile builder configured.\n\n"
              + "Either remove the Dockerfile (and any dockerfile_path in the app spec) to build with the Python"
              + " buildpack, or ask the farm's operator to configure a Dockerfile builder (Docker, BuildKit or"
              + " buildah).");
    }
    String runCommand = context.inputs.appSpec().runCommand();
    if (runCommand != null && !runCommand.isBlank()) {
      plan.run = new RunCommand(runCommand.strip(), RunCommand.SOURCE_APP_SPEC);
      plan.step(
          "Run command from the app spec (replaces the Dockerfile's CMD): " + runCommand.strip());
    }
    return true;
  }

  private static Optional<String> find(PlanContext context) throws BuildpackException {
    String raw = context.inputs.appSpec().dockerfilePath();
    if (raw != null && !raw.isBlank()) {
      Optional<String> normalized = SourceTree.normalizeRepositoryPath(raw.strip());
      if (normalized.isEmpty()) {
        throw new BuildpackException(
            Codes.DOCKERFILE_OUTSIDE,
            "The app spec's dockerfile_path '"
                + Text.quote(raw)
                + "' climbs out of the repository with '..'.\n\n"
                + "dockerfile_path is relative to the repository root, for example\n  dockerfile_path: docker/web.Dockerfile");
      }
      SourceTree.Entry entry =
          context.tree.inspect(
              context.tree.root(),
              normalized.get(),
              normalized.get().isEmpty() ? "/" : normalized.get());
      if (entry.unsafe()) {
        throw SourceTree.unsafe(entry);
      }
      if (normalized.get().isEmpty() || !entry.isFile()) {
        throw new BuildpackException(
            Codes.DOCKERFILE_NOT_FOUND,
            "The app spec's dockerfile_path '"
                + Text.quote(raw)
                + "' does not name a file in the repository"
                + (entry.isDirectory() ? " (it is a directory)" : "")
                + ".\n\n"
                + "dockerfile_path is relative to the repository root (not to source_dir) and case-sensitive."
                + " Fix the path, commit the Dockerfile, or remove dockerfile_path to build with the Python buildpack.");
      }
      return normalized;
    }
    SourceTree.Entry entry = context.inspect("Dockerfile");
    if (entry.unsafe()) {
      throw SourceTree.unsafe(entry);
    }
    if (!entry.isFile()) {
      return Optional.empty();
    }
    String sourceDir = context.plan.sourceDir;
    return Optional.of(".".equals(sourceDir) ? "Dockerfile" : sourceDir + "/Dockerfile");
  }
}
