package dev.kiln.buildpack;

import java.util.List;
import java.util.Optional;

/**
 * §2: which Python version the app asks for and which exact version the runtime catalog gives it.
 * Sources in order: {@code runtime.txt}, {@code .python-version}, {@code Pipfile.lock} (Pipenv
 * only), the previous build's minor version, the catalog's default. A source that is present but
 * invalid fails the build; it never falls through to the next.
 */
final class PythonVersionRules {
  private PythonVersionRules() {}

  private record Request(RequestedVersion version, String origin) {}

  static void apply(PlanContext context, PackageManagerChoice choice) throws BuildpackException {
    Request request =
        PackageManagerChoice.UV.equals(choice.name())
            ? requestForUv(context)
            : request(context, choice);
    resolve(context, request);
  }

  private static Request requestForUv(PlanContext context) throws BuildpackException {
    if (context.inspectSafely("runtime.txt").isFile()) {
      throw new BuildpackException(
          Codes.RUNTIME_TXT_NOT_SUPPORTED,
          "This app uses uv, which does not read runtime.txt, but a runtime.txt was found.\n\n"
              + "With uv the Python version comes from .python-version. Delete runtime.txt and put the version in"
              + " a file named .python-version, for example\n  3.13\n"
              + "('uv python pin 3.13' writes it for you).");
    }
    refuseMisspelledVersionFile(context);
    SourceTree.Entry file = context.inspectSafely(".python-version");
    if (!file.isFile()) {
      throw new BuildpackException(
          Codes.PYTHON_VERSION_FILE_NOT_FOUND,
          "This app uses uv, but has no .python-version file saying which Python version to use.\n\n"
              + "uv apps must name their Python version (there is no default or previous-build version for them)."
              + " Create .python-version next to uv.lock with a version that matches requires-python in"
              + " pyproject.toml, for example\n  3.13\n"
              + "('uv python pin 3.13' writes it for you), then commit it.");
    }
    RequestedVersion version =
        PythonVersionFileParser.parse(
                context.tree.read(file, SourceTree.VERSION_FILE_LIMIT), validatesFirst(context))
            .orThrow();
    return new Request(version, PythonSelection.ORIGIN_PYTHON_VERSION_FILE);
  }

  private static Request request(PlanContext context, PackageManagerChoice choice)
      throws BuildpackException {
    SourceTree.Entry runtimeTxt = context.inspectSafely("runtime.txt");
    if (runtimeTxt.isFile()) {
      RequestedVersion version =
          RuntimeTxtParser.parse(
                  context.tree.read(runtimeTxt, SourceTree.VERSION_FILE_LIMIT),
                  context.inputs.level() != null && context.inputs.level().runtimeTxtComments())
              .orThrow();
      return new Request(version, PythonSelection.ORIGIN_RUNTIME_TXT);
    }
    refuseMisspelledVersionFile(context);
    SourceTree.Entry versionFile = context.inspectSafely(".python-version");
    if (versionFile.isFile()) {
      RequestedVersion version =
          PythonVersionFileParser.parse(
                  context.tree.read(versionFile, SourceTree.VERSION_FILE_LIMIT),
                  validatesFirst(context))
              .orThrow();
      return new Request(version, PythonSelection.ORIGIN_PYTHON_VERSION_FILE);
    }
    if (choice.variant() == PackageManagerChoice.Variant.PIPENV_LOCKED) {
      SourceTree.Entry lock = context.inspectSafely("Pipfile.lock");
      Optional<RequestedVersion> version =
          PipfileLockParser.pythonVersion(context.tree.read(lock, SourceTree.LOCK_FILE_LIMIT))
              .orThrow();
      if (version.isPresent()) {
        return new Request(version.get(), PythonSelection.ORIGIN_PIPFILE_LOCK);
      }
    }
    String previous = context.inputs.previousPythonVersion();
    if (previous != null) {
      Optional<VersionNumber> number = VersionNumber.parse(previous);
      if (number.isPresent()) {
        return new Request(
            RequestedVersion.of(number.get().minorVersion().toString()),
            PythonSelection.ORIGIN_PREVIOUS_BUILD);
      }
    }
    return new Request(
        RequestedVersion.of(context.catalog.defaultMinor()), PythonSelection.ORIGIN_DEFAULT);
  }

  /**
   * A file whose name is a known misspelling of {@code .python-version} would be silently ignored,
   * and the app built with another Python than the one its author wrote down; at the levels that
   * check it, that is an error naming the file.
   */
  private static boolean validatesFirst(PlanContext context) {
    return context.inputs.level() != null && context.inputs.level().versionLinesValidatedFirst();
  }

  private static void refuseMisspelledVersionFile(PlanContext context) throws BuildpackException {
    BuildpackLevel level = context.inputs.level();
    if (level == null) {
      return;
    }
    for (String name : level.misspelledPythonVersionFiles()) {
      if (context.inspect(name).exists()) {
        throw new BuildpackException(
            Codes.PYTHON_VERSION_FILE_MISSPELLED,
            "The file '"
                + name
                + "' looks like a misspelled .python-version, so Kiln would not read it.\n\n"
                + "The Python version file must be named exactly .python-version (a dot first, a"
                + " hyphen, no extension, no spaces). Rename it, for example\n"
                + "  git mv '"
                + name
                + "' .python-version\n"
                + "(or delete it if a correct .python-version exists too), then commit and push"
                + " again.");
      }
    }
  }

  private static void resolve(PlanContext context, Request request) throws BuildpackException {
    PlanRecorder plan = context.plan;
    RuntimeCatalog catalog = context.catalog;
    VersionNumber asked = request.version().number();
    VersionNumber minor = asked.minorVersion();
    plan.python = new PythonSelection(null, request.version().text(), request.origin());
    plan.step(announce(request));
    if (PythonSelection.ORIGIN_RUNTIME_TXT.equals(request.origin())) {
      plan.warn(runtimeTxtDeprecated(request.version()));
    }

    if (minor.compareTo(catalog.oldestMinorVersion()) < 0) {
      throw new BuildpackException(Codes.PYTHON_VERSION_EOL, endOfLife(context, request));
    }
    if (minor.compareTo(catalog.newestMinorVersion()) > 0) {
      throw new BuildpackException(
          Codes.PYTHON_VERSION_UNKNOWN_MAJOR, unknownMajor(context, request));
    }
    if (!catalog.hasMinor(minor) || (asked.exact() && !catalog.hasExact(asked))) {
      throw new BuildpackException(
          Codes.PYTHON_VERSION_NOT_AVAILABLE, notAvailable(context, request));
    }
    int newestPatch = catalog.newestPatchOf(minor).orElseThrow();
    VersionNumber resolved = asked.exact() ? asked : minor.withPatch(newestPatch);
    if (catalog.knownButNotOnFarm(resolved)) {
      throw new BuildpackException(
          Codes.PYTHON_VERSION_NOT_ON_FARM, notOnFarm(context, request, resolved));
    }
    plan.python =
        new PythonSelection(resolved.toString(), request.version().text(), request.origin());
    plan.runtime = catalog.runtimeFor(resolved.toString()).orElseThrow();
    plan.detail("Python " + resolved + " (runtime image " + plan.runtime.image() + ")");

    if (!plan.python.explicit()) {
      plan.warn(unspecified(context, request, resolved));
    }
    if (catalog.isDeprecated(minor.toString())) {
      plan.warn(deprecated(minor, catalog));
    }
    if (asked.exact() && asked.patch() < newestPatch) {
      plan.warn(outdated(request, minor.withPatch(newestPatch)));
    }
  }

  private static String announce(Request request) {
    String text = request.version().text();
    return switch (request.origin()) {
      case PythonSelection.ORIGIN_DEFAULT ->
          "No Python version was specified. Using the default: Python " + text;
      case PythonSelection.ORIGIN_PREVIOUS_BUILD ->
          "No Python version was specified. Using the same minor version as the previous build: Python "
              + text;
      default -> "Using Python " + text + " specified in " + request.origin();
    };
  }

  /** Where the user changes the version, phrased for the source it came from. */
  private static String howToChange(Request request, String example) {
    return switch (request.origin()) {
      case PythonSelection.ORIGIN_RUNTIME_TXT ->
          "Change the version in runtime.txt, or better, delete runtime.txt and create .python-version containing\n  "
              + example;
      case PythonSelection.ORIGIN_PYTHON_VERSION_FILE ->
          "Change .python-version to contain\n  " + example;
      case PythonSelection.ORIGIN_PIPFILE_LOCK ->
          "Change python_version in the [requires] section of the Pipfile to \""
              + example
              + "\", run 'pipenv lock', and commit both files.";
      default ->
          "Create a file named .python-version at the top level of the app containing\n  "
              + example;
    };
  }

  private static String subject(Request request) {
    return switch (request.origin()) {
      case PythonSelection.ORIGIN_PREVIOUS_BUILD ->
          "The app's previous build used Python "
              + request.version().text()
              + " (no version is specified, so Kiln keeps the previous build's version)";
      case PythonSelection.ORIGIN_DEFAULT ->
          "The farm's default Python " + request.version().text();
      default -> request.origin() + " asks for Python " + Text.quote(request.version().text());
    };
  }

  private static String endOfLife(PlanContext context, Request request) {
    String oldest = context.catalog.oldestMinorVersion().toString();
    String recommended = context.catalog.defaultMinor();
    return subject(request)
        + ", which has reached its end of life and no longer gets security fixes.\n\n"
        + "Kiln supports Python "
        + oldest
        + " and newer. Upgrade the app (Python "
        + recommended
        + " is recommended) and test it with the new version.\n"
        + howToChange(request, recommended);
  }

  private static String unknownMajor(PlanContext context, Request request) {
    String newest = context.catalog.newestMinorVersion().toString();
    return subject(request)
        + ", which is newer than any version this farm knows.\n\n"
        + "The newest version available is Python "
        + newest
        + " (available: "
        + Text.commaList(context.catalog.minors())
        + "). Check the version for typos, or use an available one.\n"
        + howToChange(request, newest);
  }

  private static String notAvailable(PlanContext context, Request request) {
    VersionNumber minor = request.version().number().minorVersion();
    java.util.List<String> patches = context.catalog.patches(minor.toString());
    String available =
        patches.isEmpty()
            ? "This farm has no Python "
                + minor
                + " at all. Available versions: "
                + Text.commaList(context.catalog.minors())
            : "Available " + minor + " versions: " + Text.commaList(patches);
    String example = patches.isEmpty() ? context.catalog.defaultMinor() : minor.toString();
    return subject(request)
        + ", which is not available on this farm.\n\n"
        + available
        + ".\n"
        + "Name just the minor version ("
        + example
        + ") to always get its newest patch release.\n"
        + howToChange(request, example);
  }

  private static String notOnFarm(PlanContext context, Request request, VersionNumber resolved) {
    BuildpackLevel level = context.inputs.level();
    String levelName = level == null ? "The farm's catalog" : "Buildpack level " + level.version();
    List<String> onFarm = context.catalog.onFarm();
    String example =
        onFarm.isEmpty()
            ? context.catalog.defaultMinor()
            : VersionNumber.parse(onFarm.get(onFarm.size() - 1))
                .map(v -> v.minorVersion().toString())
                .orElse(context.catalog.defaultMinor());
    return subject(request)
        + ", which resolves to Python "
        + resolved
        + ": "
        + levelName
        + " knows that version, but this farm has no runtime image for it.\n\n"
        + "Runtimes on this farm: "
        + (onFarm.isEmpty() ? "none" : Text.commaList(onFarm))
        + ". Use one of those, or ask the farm's operator to add a runtime for Python "
        + resolved
        + " to the runtime catalog (see \"Runtime catalog\" in docs/buildpack.md).\n"
        + howToChange(request, example);
  }

  private static Diagnostic runtimeTxtDeprecated(RequestedVersion version) {
    return new Diagnostic(
        Codes.RUNTIME_TXT_DEPRECATED,
        "runtime.txt is deprecated; use a .python-version file instead.\n\n"
            + "runtime.txt still works, but .python-version is the file other tools (pyenv, uv) read too."
            + " Delete runtime.txt and create .python-version containing\n  "
            + version.number().minorVersion()
            + "\n"
            + "(the minor version alone gets you the newest patch release).");
  }

  private static Diagnostic unspecified(
      PlanContext context, Request request, VersionNumber resolved) {
    String reason =
        PythonSelection.ORIGIN_PREVIOUS_BUILD.equals(request.origin())
            ? "Kiln used Python "
                + resolved.minorVersion()
                + " because the app's previous build did."
            : "Kiln used the farm's default, Python "
                + resolved.minorVersion()
                + ", which changes when new versions come out.";
    return new Diagnostic(
        Codes.PYTHON_VERSION_UNSPECIFIED,
        "No Python version is specified.\n\n"
            + reason
            + " To choose the version yourself and get the same one on every build, create a file named"
            + " .python-version at the top level of the app containing\n  "
            + resolved.minorVersion());
  }

  private static Diagnostic deprecated(VersionNumber minor, RuntimeCatalog catalog) {
    return new Diagnostic(
        Codes.PYTHON_VERSION_DEPRECATED,
        "Python "
            + minor
            + " is close to its end of life and will stop getting security fixes.\n\n"
            + "Builds with it will fail once it is removed from the farm. Upgrade to a newer version (Python "
            + catalog.defaultMinor()
            + " is recommended) and name it in .python-version.");
  }

  private static Diagnostic outdated(Request request, VersionNumber newest) {
    return new Diagnostic(
        Codes.PYTHON_VERSION_OUTDATED,
        "Python "
            + request.version().text()
            + " is not the newest patch release of Python "
            + newest.minorVersion()
            + ": "
            + newest
            + " is available.\n\n"
            + "Patch releases fix bugs and security problems without breaking changes. Use "
            + newest
            + ", or name just "
            + newest.minorVersion()
            + " to always get the newest patch release.\n"
            + howToChange(request, newest.minorVersion().toString()));
  }
}
