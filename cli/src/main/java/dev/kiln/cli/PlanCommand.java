package dev.kiln.cli;

import dev.kiln.buildpack.AppSpec;
import dev.kiln.buildpack.BuildInputs;
import dev.kiln.buildpack.BuildPlanner;
import dev.kiln.buildpack.BuildpackLevel;
import dev.kiln.buildpack.PlanResult;
import dev.kiln.buildpack.RuntimeCatalog;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code kiln plan DIR}: shows how Kiln would build the app in a directory, without building it.
 * Exit status 0 for a plan, 1 when the app cannot be built (the output says why), 2 for a usage
 * error.
 */
@Command(
    name = "plan",
    mixinStandardHelpOptions = true,
    description = {
      "Show how Kiln would build the Python app in DIR (Dockerfile or buildpack, Python version, package manager,"
          + " run command) with every warning, or the reason it cannot be built.",
      "",
      "Exit status: 0 plan ready, 1 the app cannot be built, 2 usage error."
    })
public final class PlanCommand implements Callable<Integer> {
  static final int OK = 0;
  static final int CANNOT_BUILD = 1;
  static final int USAGE = 2;

  @Spec CommandSpec spec;

  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "DIR",
      defaultValue = ".",
      description =
          "The app's repository (a checked-out directory). Default: the current directory.")
  Path directory;

  @Option(
      names = "--json",
      description = "Print the plan as one JSON object instead of a build log.")
  boolean json;

  @Option(
      names = "--app-spec",
      paramLabel = "FILE",
      description =
          "An App Platform app spec (YAML): one component's fields, or a whole spec with services:/workers:.")
  Path appSpecFile;

  @Option(
      names = "--component",
      paramLabel = "NAME",
      description = "The component of a whole app spec to plan. Default: the first one.")
  String component;

  @Option(
      names = "--env",
      paramLabel = "K=V",
      description = "A build-time environment variable of the app (repeatable).")
  Map<String, String> buildEnv = new LinkedHashMap<>();

  @Option(
      names = "--previous-python",
      paramLabel = "X.Y.Z",
      description =
          "The Python version of the app's previous successful build (used when the app names none).")
  String previousPython;

  @Option(
      names = "--strict",
      description =
          "Apply the strict policy: several package managers, a Pipfile without lock, or setup.py alone fail.")
  boolean strict;

  @Option(
      names = "--ci",
      description =
          "Plan a CI build: the test dependencies are read too (requirements-test.txt, Pipenv's"
              + " develop, Poetry's non-optional groups, uv's default groups). Every plan names"
              + " what a CI build adds.")
  boolean ci;

  @Option(
      names = "--buildpack-version",
      paramLabel = "N",
      description =
          "Reproduce the classic Python buildpack at version N (289, 322 or 351): its Python versions"
              + " and default, and which findings are warnings or errors. Without it: the farm's own"
              + " rules (those of 289) with the runtime catalog. See docs/buildpack.md.")
  Integer buildpackVersion;

  @Option(
      names = "--runtime-catalog",
      paramLabel = "default|offline|FILE",
      defaultValue = "${env:KILN_RUNTIME_CATALOG}",
      description =
          "The runtimes to plan against: 'default' (App Platform's list, the default), 'offline' (the Debian suites an offline farm builds) or a JSON catalog file. Env: KILN_RUNTIME_CATALOG.")
  String runtimeCatalog;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    BuildInputs inputs;
    RuntimeCatalog catalog;
    try {
      checkDirectory();
      inputs = inputs();
      // A level alone plans with that version's own list; with a catalog too, as a farm's
      // workers do: the level's versions on the catalog's runtimes.
      catalog =
          inputs.level() == null
              ? catalog()
              : runtimeCatalog == null
                  ? inputs.level().catalog()
                  : catalog().atLevel(inputs.level().catalog());
    } catch (UsageProblem problem) {
      err.println("kiln plan: " + problem.getMessage());
      err.flush();
      return USAGE;
    }
    PlanResult plan =
        new BuildPlanner(catalog)
            .withPythonRequirements(new dev.kiln.worker.detect.RequiresPythonCheck())
            .plan(directory, inputs);
    if (json) {
      out.println(plan.toJson());
    } else {
      plan.logLines().forEach(out::println);
    }
    out.flush();
    return plan.succeeded() ? OK : CANNOT_BUILD;
  }

  private void checkDirectory() throws UsageProblem {
    if (!Files.isDirectory(directory)) {
      throw new UsageProblem(
          "DIR '"
              + directory
              + "' is not a directory. Give the path of the app's checked-out repository,"
              + " for example: kiln plan ./my-app");
    }
  }

  private BuildInputs inputs() throws UsageProblem {
    BuildInputs.Builder builder =
        BuildInputs.builder().buildEnv(buildEnv).strict(strict).ci(ci).appSpec(appSpec());
    if (buildpackVersion != null) {
      try {
        builder.level(BuildpackLevel.of(buildpackVersion));
      } catch (dev.kiln.buildpack.BuildpackException e) {
        throw new UsageProblem("--buildpack-version: " + e.getMessage().replace("\n\n", " "));
      }
    }
    try {
      builder.previousPythonVersion(previousPython);
    } catch (IllegalArgumentException e) {
      throw new UsageProblem(
          "--previous-python: " + e.getMessage() + " (for example --previous-python 3.12.7)");
    }
    return builder.build();
  }

  private AppSpec appSpec() throws UsageProblem {
    try {
      return AppSpecFiles.read(appSpecFile, component);
    } catch (IllegalArgumentException e) {
      throw new UsageProblem(e.getMessage());
    }
  }

  private RuntimeCatalog catalog() throws UsageProblem {
    try {
      return RuntimeCatalogs.named(runtimeCatalog);
    } catch (UserError e) {
      throw new UsageProblem(e.getMessage());
    }
  }

  /** A mistake in how the command was called; reported on stderr with exit status 2. */
  private static final class UsageProblem extends Exception {
    private static final long serialVersionUID = 1L;

    UsageProblem(String message) {
      super(message);
    }
  }
}
