package dev.kiln.worker.install;

import dev.kiln.worker.process.ExternalProcess;
import dev.kiln.worker.steps.StepFailure;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Turns a failed pip run into a coded failure that names the package and the fix. */
final class PipFailures {
  private static final Pattern NO_MATCHING =
      Pattern.compile("No matching distribution found for (\\S+)");
  private static final Pattern NO_VERSION =
      Pattern.compile(
          "Could not find a version that satisfies the requirement (\\S+)"
              + "(?: \\(from versions: ([^)]*)\\))?");
  private static final Pattern NAME = Pattern.compile("^[A-Za-z0-9][A-Za-z0-9._-]*");
  private static final int SHOWN_LINES = 20;

  private PipFailures() {}

  /**
   * What pip's "No matching distribution found for X" / "Could not find a version that satisfies
   * the requirement X (from versions: …)" names.
   *
   * @param versions the versions pip listed, or null
   */
  record Missing(String requirement, String packageName, String versions) {
    /** The sentence about what the index has, for a message. */
    String available(String noneText, String someText) {
      return versions == null || versions.isBlank() || versions.strip().equals("none")
          ? noneText
          : someText + versions.strip() + ".";
    }
  }

  /** The requirement pip could not find, read from its output, if that is what failed. */
  static java.util.Optional<Missing> missing(String output) {
    String requirement = null;
    String versions = null;
    Matcher noVersion = NO_VERSION.matcher(output);
    if (noVersion.find()) {
      requirement = noVersion.group(1);
      versions = noVersion.group(2);
    }
    Matcher noMatching = NO_MATCHING.matcher(output);
    if (requirement == null && noMatching.find()) {
      requirement = noMatching.group(1);
    }
    if (requirement == null) {
      return java.util.Optional.empty();
    }
    Matcher name = NAME.matcher(requirement);
    return java.util.Optional.of(
        new Missing(requirement, name.find() ? name.group() : requirement, versions));
  }

  static StepFailure classify(
      ExternalProcess.Outcome outcome,
      String requirementsName,
      String pythonVersion,
      TargetPlatform platform,
      String indexUrl,
      String timeoutText) {
    if (outcome.timedOut()) {
      return new StepFailure(
          InstallStep.FAILED,
          "pip did not finish within "
              + timeoutText
              + ". Its last output:\n"
              + lastLines(outcome.tail())
              + "\nCheck that the package index answers, or split very large dependency sets.");
    }
    java.util.Optional<Missing> missing = missing(outcome.tailText());
    if (missing.isPresent()) {
      String requirement = missing.get().requirement();
      String packageName = missing.get().packageName();
      String available =
          missing
              .get()
              .available(
                  "The index has no wheel of "
                      + packageName
                      + " for this Python and platform at all.",
                  "Versions the index has for this Python and platform: ");
      return new StepFailure(
          InstallStep.PACKAGE_NOT_FOUND,
          "No distribution of "
              + packageName
              + " matches '"
              + requirement
              + "' (from "
              + requirementsName
              + ") for Python "
              + pythonVersion
              + " on "
              + platform.id()
              + ". "
              + available
              + "\nCheck the package name and version in "
              + requirementsName
              + ", and that the package is published on the index ("
              + indexUrl
              + ", or the one in"
              + " PIP_EXTRA_INDEX_URL) as a wheel for Python "
              + pythonVersion
              + " on "
              + platform.id()
              + ": Kiln installs wheels only, never source distributions.");
    }
    return new StepFailure(
        InstallStep.FAILED,
        "pip could not install the dependencies from "
            + requirementsName
            + " (exit status "
            + outcome.exitCode()
            + "). Its last output:\n"
            + lastLines(outcome.tail()));
  }

  static String lastLines(List<String> tail) {
    List<String> shown = tail.subList(Math.max(0, tail.size() - SHOWN_LINES), tail.size());
    StringBuilder out = new StringBuilder();
    for (String line : shown) {
      out.append("       ").append(line).append('\n');
    }
    return out.toString().stripTrailing();
  }
}
