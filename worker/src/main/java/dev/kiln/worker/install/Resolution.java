package dev.kiln.worker.install;

import dev.kiln.cache.client.CacheServiceClient;
import dev.kiln.cache.client.CacheServiceClientException;
import dev.kiln.events.ActionResults;
import dev.kiln.events.DependencyLayer;
import dev.kiln.events.Digest;
import dev.kiln.events.EventCodec;
import dev.kiln.installer.ArtifactFile;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.LocalProject;
import dev.kiln.installer.LockedDistribution;
import dev.kiln.installer.LockedSet;
import dev.kiln.installer.build.BuildFailureHints;
import dev.kiln.installer.lock.Locks;
import dev.kiln.installer.resolve.PipReport;
import dev.kiln.installer.resolve.PipfileRequirements;
import dev.kiln.worker.buildsteps.BuildStepRunner;
import dev.kiln.worker.fs.AppTree;
import dev.kiln.worker.sandbox.SandboxException;
import dev.kiln.worker.sandbox.SandboxOutcome;
import dev.kiln.worker.steps.LogSink;
import dev.kiln.worker.steps.StepFailure;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Unpinned requirements resolved by pip under the target runtime's Python in the build sandbox,
 * against Kiln's index, into a locked set. The result is remembered under the build's install key,
 * which for unpinned inputs names the tenant and app: the same app pushing byte-identical inputs
 * gets the same distributions (the classic buildpack's sticky cache), even after its layer was
 * evicted, and no other app ever sees it.
 */
final class Resolution {
  static final String RESOLUTION_KEY_VERSION = "kiln-resolution-v1";
  static final String PIPFILE_REQUIREMENTS = ".kiln-pipfile-requirements.txt";

  /** A CI build's PEP 735 groups as requirement lines, for pip versions without --group. */
  static final String GROUP_REQUIREMENTS = ".kiln-dependency-groups.txt";

  private static final int TAIL_SHOWN = 20;

  /** Where pip runs. */
  record Sandbox(Path rootfs, Path pip) {}

  private final CacheServiceClient cache;
  private final SandboxPip sandboxPip;

  Resolution(CacheServiceClient cache, SandboxPip sandboxPip) {
    this.cache = cache;
    this.sandboxPip = sandboxPip;
  }

  /** The remembered resolution's key for an install key. */
  static String key(String installKey) {
    MessageDigest sha256 = Digest.newSha256();
    for (String field : List.of(RESOLUTION_KEY_VERSION, installKey)) {
      byte[] bytes = field.getBytes(StandardCharsets.UTF_8);
      sha256.update(ByteBuffer.allocate(Long.BYTES).putLong(bytes.length).array());
      sha256.update(bytes);
    }
    return Digest.fromSha256(sha256).hex();
  }

  /** The resolution remembered for this install key, if any. */
  Optional<LockedSet> remembered(String installKey) throws StepFailure {
    Optional<String> json;
    try {
      json = cache.getAction(key(installKey));
    } catch (CacheServiceClientException e) {
      throw InstallStep.cacheUnavailable(e);
    }
    if (json.isEmpty()) {
      return Optional.empty();
    }
    try {
      ActionResults.Resolution stored =
          EventCodec.mapper().readValue(json.get(), ActionResults.Resolution.class);
      return Optional.of(
          new LockedSet(
              stored.resolved().stream()
                  .map(
                      d ->
                          new LockedDistribution(
                              d.name(),
                              d.version(),
                              List.of(new ArtifactFile(d.filename(), d.sha256(), null, -1)),
                              Set.of(d.sha256())))
                  .toList(),
              stored.localProjects().stream()
                  .map(p -> new LocalProject(p.path(), p.editable()))
                  .toList()));
    } catch (IOException | IllegalArgumentException unreadable) {
      return Optional.empty();
    }
  }

  /**
   * Runs pip's resolution for the app.
   *
   * @param manager the plan's package manager ({@code pip} or {@code pipenv})
   * @param sourceRoot the app's source directory (copied; pip may write into the copy)
   * @param pipfile the Pipfile's bytes for an unlocked Pipenv app, else null
   * @param ci a CI build: a Pipfile's {@code [dev-packages]} are resolved too
   * @param testRequirements {@code requirements-test.txt} is resolved too (a CI build of a pip app
   *     that has one)
   * @param groups PEP 735 dependency groups resolved too ({@code --group}): a CI build of a uv or
   *     Poetry app that pip resolves
   */
  LockedSet resolve(
      String installKey,
      String manager,
      Path sourceRoot,
      byte[] pipfile,
      boolean ci,
      boolean testRequirements,
      List<String> groups,
      Sandbox sandbox,
      PrivateIndex privateIndex,
      Path scratch,
      String pythonVersion,
      LogSink log)
      throws StepFailure {
    try {
      Path source = Files.createDirectories(scratch.resolve("resolve-source"));
      AppTree.copy(sourceRoot, source);
      Path out = Files.createDirectories(scratch.resolve("resolve-out"));
      List<String> args = new java.util.ArrayList<>();
      if (privateIndex != null) {
        args.addAll(List.of("--extra-index-url", privateIndex.sandboxUrl()));
      }
      if (pipfile != null) {
        List<String> lines = PipfileRequirements.lines(pipfile, ci);
        Files.writeString(source.resolve(PIPFILE_REQUIREMENTS), String.join("\n", lines) + "\n");
      }
      if (!groups.isEmpty()) {
        List<String> lines =
            Locks.dependencyGroupLines(
                Files.readAllBytes(source.resolve("pyproject.toml")), groups);
        Files.writeString(source.resolve(GROUP_REQUIREMENTS), String.join("\n", lines) + "\n");
      }
      Requested requested =
          requested(
              pipfile != null,
              Files.isRegularFile(source.resolve("requirements.txt")),
              testRequirements,
              groups);
      args.addAll(requested.args());
      String shownAs = requested.shownAs();
      log.info(
          "-----> Resolving "
              + shownAs
              + " for Python "
              + pythonVersion
              + " with pip in the build sandbox (kept for this app until "
              + shownAs
              + " changes)");
      SandboxOutcome outcome;
      try {
        outcome =
            sandboxPip.resolve(
                new SandboxPip.Workspace(
                    sandbox.rootfs(),
                    sandbox.pip(),
                    source,
                    null,
                    out,
                    privateIndex == null ? null : privateIndex.tenant()),
                args,
                line -> {
                  if (!line.startsWith("Would install") && !line.isBlank()) {
                    log.info("       " + line);
                  }
                });
      } catch (SandboxException e) {
        throw new StepFailure(
            BuildStepRunner.SANDBOX_UNAVAILABLE,
            "The build sandbox could not start to resolve " + shownAs + ": " + e.getMessage(),
            e);
      }
      if (!outcome.succeeded()) {
        throw failure(outcome, shownAs, pythonVersion);
      }
      LockedSet set =
          PipReport.read(
              Files.readAllBytes(out.resolve("report.json")), SandboxPip.SOURCE_DIR, shownAs);
      remember(installKey, set);
      return set;
    } catch (InstallerException e) {
      throw new StepFailure(e.code(), e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StepFailure(InstallStep.FAILED, "the resolution was interrupted", e);
    } catch (IOException e) {
      throw new StepFailure(
          InstallStep.FAILED, "the worker could not prepare the resolution: " + e.getMessage(), e);
    }
  }

  /**
   * What pip is asked to resolve, as the classic buildpack asks: {@code -r requirements.txt} (with
   * {@code -r requirements-test.txt} for a CI build, as its {@code bin/test-compile} does), the
   * Pipfile's packages as requirement lines, or the project itself for a setup.py-only app.
   *
   * @param args pip's requirement arguments
   * @param shownAs the inputs as messages name them
   */
  record Requested(List<String> args, String shownAs) {}

  static Requested requested(boolean pipfile, boolean requirementsTxt, boolean testRequirements) {
    return requested(pipfile, requirementsTxt, testRequirements, List.of());
  }

  static Requested requested(
      boolean pipfile, boolean requirementsTxt, boolean testRequirements, List<String> groups) {
    List<String> args = new java.util.ArrayList<>();
    String shownAs;
    if (pipfile) {
      args.addAll(List.of("-r", PIPFILE_REQUIREMENTS));
      shownAs = "Pipfile";
    } else if (requirementsTxt) {
      args.addAll(List.of("-r", "requirements.txt"));
      shownAs = "requirements.txt";
    } else {
      args.addAll(List.of("-e", "."));
      shownAs = "setup.py";
    }
    if (testRequirements && !pipfile) {
      args.addAll(List.of("-r", Locks.REQUIREMENTS_TEST));
      shownAs += " and " + Locks.REQUIREMENTS_TEST;
    }
    if (!groups.isEmpty()) {
      args.addAll(List.of("-r", GROUP_REQUIREMENTS));
      shownAs += " with the groups " + String.join(", ", groups);
    }
    return new Requested(List.copyOf(args), shownAs);
  }

  private void remember(String installKey, LockedSet set) throws StepFailure, IOException {
    ActionResults.Resolution resolution =
        new ActionResults.Resolution(
            set.distributions().stream()
                .map(
                    d ->
                        new DependencyLayer.Distribution(
                            d.name(),
                            d.version(),
                            d.files().get(0).filename(),
                            d.files().get(0).sha256(),
                            null))
                .toList(),
            set.localProjects().stream()
                .map(p -> new DependencyLayer.LocalProject(p.path(), p.editable()))
                .toList());
    if (set.distributions().stream()
        .anyMatch(
            d -> d.files().get(0).url() != null && d.files().get(0).url().startsWith("file:"))) {
      return; // a file from the app's repository is read from the checkout every time
    }
    try {
      // A resolution is this app's own (the install key names the tenant and app): never shared.
      cache.putAction(
          key(installKey),
          EventCodec.mapper().writeValueAsString(resolution),
          CacheServiceClient.Scope.TENANT);
    } catch (CacheServiceClientException e) {
      throw InstallStep.cacheUnavailable(e);
    }
  }

  private static StepFailure failure(SandboxOutcome outcome, String shownAs, String pythonVersion) {
    java.util.Optional<PipFailures.Missing> missing = PipFailures.missing(outcome.tailText());
    if (missing.isPresent()) {
      String requirement = missing.get().requirement();
      String available =
          missing
              .get()
              .available(
                  "The index has no release of it for this Python at all.",
                  "Releases the index has for this Python: ");
      return new StepFailure(
          InstallStep.PACKAGE_NOT_FOUND,
          "Nothing on Kiln's package index matches '"
              + requirement
              + "' (from "
              + shownAs
              + ") for Python "
              + pythonVersion
              + ". "
              + available
              + "\nCheck the name and version in "
              + shownAs
              + ", and that the package is published on the index the farm uses.");
    }
    StringBuilder message =
        new StringBuilder("pip could not resolve " + shownAs + " for Python " + pythonVersion);
    switch (outcome.ending()) {
      case TIMED_OUT -> message.append(": it did not finish within the sandbox's time limit");
      case OUT_OF_MEMORY -> message.append(": it ran out of memory in the sandbox");
      default -> message.append(" (exit status ").append(outcome.exitCode()).append(')');
    }
    message.append('.');
    BuildFailureHints.explain(outcome.tail())
        .ifPresent(
            hint ->
                message
                    .append(" A package had to be built from source and needs ")
                    .append(hint.missing())
                    .append(", which Kiln's runtime does not have. ")
                    .append(hint.advice()));
    message.append(" Its last output:\n");
    List<String> tail = outcome.tail();
    for (String line : tail.subList(Math.max(0, tail.size() - TAIL_SHOWN), tail.size())) {
      message.append("       ").append(line).append('\n');
    }
    return new StepFailure(InstallStep.FAILED, message.toString().stripTrailing());
  }
}
