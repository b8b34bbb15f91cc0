package dev.kiln.buildpack;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * Turns a source tree and the build inputs into a {@link PlanResult}: a build plan, or the first
 * failure. Checks run in this order: source directory, Dockerfile (§0), detection (§1), package
 * manager (§3), Python version (§2), run command (§6). Never throws for anything found in the tree;
 * I/O problems become coded failures.
 */
public final class BuildPlanner {
  private final RuntimeCatalog catalog;
  private final PythonRequirements requirements;

  public BuildPlanner(RuntimeCatalog catalog) {
    this(catalog, PythonRequirements.NONE);
  }

  private BuildPlanner(RuntimeCatalog catalog, PythonRequirements requirements) {
    this.catalog = Objects.requireNonNull(catalog, "catalog");
    this.requirements = Objects.requireNonNull(requirements, "requirements");
  }

  /**
   * A planner that also fails a plan whose Python version the app's own files rule out ({@code
   * python-version::requires-python-conflict}), instead of leaving it to fail at install.
   */
  public BuildPlanner withPythonRequirements(PythonRequirements requirements) {
    return new BuildPlanner(catalog, requirements);
  }

  /**
   * This planner for builds at a behaviour level: the level's Python versions, default and
   * deprecations, on this planner's runtimes ({@link RuntimeCatalog#atLevel}). Pass the level in
   * the {@link BuildInputs} too; it decides the rest of the level's behaviour.
   */
  public BuildPlanner atLevel(BuildpackLevel level) {
    return new BuildPlanner(catalog.atLevel(level.catalog()), requirements);
  }

  /** The runtimes this planner resolves versions against. */
  public RuntimeCatalog catalog() {
    return catalog;
  }

  public PlanResult plan(Path repositoryRoot, BuildInputs inputs) {
    PlanRecorder plan = new PlanRecorder();
    String buildCommand = inputs.appSpec().buildCommand();
    plan.buildCommand =
        buildCommand == null || buildCommand.isBlank() ? null : buildCommand.strip();
    try {
      PlanContext context = new PlanContext(SourceTree.open(repositoryRoot), inputs, catalog, plan);
      run(context, requirements);
    } catch (BuildpackException e) {
      plan.fail(e.toDiagnostic());
    } catch (UncheckedIOException | SecurityException e) {
      plan.fail(
          new Diagnostic(
              Codes.SOURCE_UNREADABLE,
              "The source could not be read: "
                  + Text.quote(String.valueOf(e.getMessage()), 300)
                  + "\n\nMake sure every file in the repository is readable, then build again."));
    }
    return plan.toResult();
  }

  private static void run(PlanContext context, PythonRequirements requirements)
      throws BuildpackException {
    SourceDirRules.resolve(context);
    if (DockerfileRules.apply(context)) {
      return;
    }
    Detection.apply(context);
    SourceChecks.herokuPythonDir(context);
    PackageManagerChoice choice = PackageManagerRules.apply(context);
    SourceChecks.virtualEnvironment(context);
    CiInstallRules.apply(context, choice);
    PythonVersionRules.apply(context, choice);
    java.util.Optional<Diagnostic> conflict =
        requirements.conflict(
            context.plan.sourceRoot, choice.name(), context.plan.python.version());
    if (conflict.isPresent()) {
      throw new BuildpackException(conflict.get().code(), conflict.get().message());
    }
    RunCommandRules.apply(context, choice);
    RunCommandRules.processTypes(context);
    Map<String, String> userRunTime = context.inputs.appSpec().runTimeEnv();
    context.plan.runtimeEnvironment.putAll(RuntimeEnvironment.defaults(userRunTime.keySet()));
    context.plan.runtimeEnvironment.putAll(userRunTime);
  }
}
