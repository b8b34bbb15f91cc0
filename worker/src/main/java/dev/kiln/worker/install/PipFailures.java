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
    String output = outcome.tailText();
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
    if (requirement != null) {
      Matcher name = NAME.matcher(requirement);
      String packageName = name.find() ? name.group() : requirement;
      String available =
          versions == null || versions.isBlank() || versions.strip().equals("none")
              ? "The index has no wheel of " + packageName + " for this Python and platform at all."
              : "Versions the index has for this Python and platform: " + versions.strip() + ".";
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
