package dev.kiln.worker.install;

import dev.kiln.cache.client.CacheServiceClient;
import dev.kiln.cache.client.CacheServiceClientException;
import dev.kiln.events.Digest;
import dev.kiln.installer.ArtifactFile;
import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.LockedDistribution;
import dev.kiln.installer.LockedSet;
import dev.kiln.installer.ResolvedSet;
import dev.kiln.installer.TargetEnvironment;
import dev.kiln.installer.pep.Pep440Version;
import dev.kiln.installer.wheel.WheelChooser;
import dev.kiln.installer.wheel.WheelFilename;
import dev.kiln.worker.steps.StepFailure;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Chooses the file of every locked distribution for the target (the wheel its tags rank highest,
 * else the sdist) among the files the lock names and the files Kiln's index lists, and checks that
 * the index really serves the chosen file with the hash the lock pins. A file committed to the
 * app's repository ({@code file:} URL, e.g. {@code ./vendor/x.whl}) is taken as it is.
 */
final class FileChoice {
  private final CacheServiceClient cache;

  FileChoice(CacheServiceClient cache) {
    this.cache = Objects.requireNonNull(cache, "cache");
  }

  /**
   * @param shownAs the file the set came from, for messages ({@code uv.lock})
   * @param fix the command that writes that file again ({@code uv lock})
   */
  ResolvedSet choose(LockedSet locked, TargetEnvironment target, String shownAs, String fix)
      throws StepFailure {
    WheelChooser chooser = WheelChooser.forTarget(target);
    List<ResolvedSet.Chosen> chosen = new ArrayList<>();
    for (LockedDistribution distribution : locked.distributions()) {
      // The tenant's own files (committed to its repository, or served by its private index
      // through the cache-service's proxy, which checked their hashes) are taken as they are.
      if (distribution.files().size() == 1
          && LayerBuilder.tenantOwned(distribution.files().get(0))) {
        chosen.add(
            new ResolvedSet.Chosen(
                distribution.name(), distribution.version(), distribution.files().get(0)));
        continue;
      }
      List<ArtifactFile> offered = offered(distribution);
      ArtifactFile file;
      try {
        file = chooser.choose(distribution, offered);
      } catch (InstallerException e) {
        if (Codes.NO_COMPATIBLE_FILE.equals(e.code())) {
          hashMismatch(distribution, offered, shownAs, fix);
        }
        throw new StepFailure(
            e.code(), e.getMessage() + (shownAs == null ? "" : "\n(from " + shownAs + ")"), e);
      }
      checkServed(distribution, file, offered, shownAs, fix);
      chosen.add(new ResolvedSet.Chosen(distribution.name(), distribution.version(), file));
    }
    return new ResolvedSet(chosen, locked.localProjects());
  }

  /**
   * The index has files of exactly the pinned version, but none with a hash the lock allows: the
   * lock's hashes are not the index's files, which pip reports as a hash mismatch too.
   */
  private static void hashMismatch(
      LockedDistribution distribution, List<ArtifactFile> offered, String shownAs, String fix)
      throws StepFailure {
    if (distribution.allowedHashes().isEmpty()) {
      return;
    }
    Optional<Pep440Version> pinned = Pep440Version.parse(distribution.version());
    List<ArtifactFile> sameVersion =
        offered.stream()
            .filter(file -> pinned.isPresent() && pinned.equals(versionOf(file.filename())))
            .toList();
    if (sameVersion.isEmpty()
        || sameVersion.stream().anyMatch(f -> distribution.allowedHashes().contains(f.sha256()))) {
      return;
    }
    StringBuilder files = new StringBuilder();
    for (ArtifactFile file : sameVersion.subList(0, Math.min(10, sameVersion.size()))) {
      files.append("\n  ").append(file.filename()).append("  ").append(file.sha256());
    }
    throw new StepFailure(
        Codes.HASH_MISMATCH,
        (shownAs == null ? "The lock" : shownAs)
            + " allows "
            + distribution.name()
            + " "
            + distribution.version()
            + " only with the hashes "
            + distribution.allowedHashes().stream().map(Digest::toString).sorted().toList()
            + ", but no file the package index serves for that version has one of them:"
            + files
            + "\nThe files changed after the lock was written, or the hashes were edited;"
            + " nothing was installed."
            + (fix == null
                ? " Write the hashes again (pip-compile --generate-hashes) and commit them."
                : " Run `" + fix + "` and commit the result."));
  }

  private static Optional<Pep440Version> versionOf(String filename) {
    try {
      if (filename.endsWith(".whl")) {
        return Optional.of(WheelFilename.parse(filename).version());
      }
      String stem =
          filename.endsWith(".tar.gz")
              ? filename.substring(0, filename.length() - 7)
              : filename.endsWith(".zip") ? filename.substring(0, filename.length() - 4) : null;
      if (stem == null || stem.lastIndexOf('-') < 0) {
        return Optional.empty();
      }
      return Pep440Version.parse(stem.substring(stem.lastIndexOf('-') + 1));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  private List<ArtifactFile> offered(LockedDistribution distribution) throws StepFailure {
    try {
      List<ArtifactFile> files = new ArrayList<>();
      for (CacheServiceClient.IndexFile file : cache.projectFiles(distribution.name())) {
        files.add(new ArtifactFile(file.filename(), file.sha256(), null, -1));
      }
      return files;
    } catch (CacheServiceClientException e) {
      throw new StepFailure(
          InstallStep.CACHE_UNAVAILABLE,
          "the cache-service did not list the files of "
              + distribution.name()
              + ": "
              + e.getMessage()
              + "; the build can be retried once it answers",
          e);
    } catch (IllegalArgumentException e) {
      throw new StepFailure(
          Codes.UNSUPPORTED_REQUIREMENT,
          "'" + distribution.name() + "' is not a project name Kiln's index can serve.");
    }
  }

  /**
   * The index must list the chosen file with the chosen hash: Kiln fetches files from its store by
   * hash, and a lock whose hash the index's file does not have is stale or was edited.
   */
  private static void checkServed(
      LockedDistribution distribution,
      ArtifactFile file,
      List<ArtifactFile> offered,
      String shownAs,
      String fix)
      throws StepFailure {
    boolean served = false;
    ArtifactFile sameName = null;
    for (ArtifactFile candidate : offered) {
      if (candidate.filename().equals(file.filename())) {
        sameName = candidate;
        if (candidate.sha256().equals(file.sha256())) {
          served = true;
        }
      }
    }
    if (served) {
      return;
    }
    if (sameName != null) {
      throw new StepFailure(
          Codes.HASH_MISMATCH,
          (shownAs == null ? "The resolution" : shownAs)
              + " pins "
              + file.filename()
              + " ("
              + distribution.name()
              + " "
              + distribution.version()
              + ") to "
              + file.sha256()
              + ", but the package index serves that file with "
              + sameName.sha256()
              + ". The file on the index changed after the lock was written, or the lock was"
              + " edited by hand; nothing was installed."
              + (fix == null ? "" : " Run `" + fix + "` and commit the result."));
    }
    throw new StepFailure(
        Codes.NO_COMPATIBLE_FILE,
        (shownAs == null ? "The resolution" : shownAs)
            + " names "
            + file.filename()
            + " ("
            + distribution.name()
            + " "
            + distribution.version()
            + "), but Kiln's package index does not list that file. Check that the package"
            + " is published on the index the farm uses"
            + (fix == null ? "." : ", or run `" + fix + "` and commit the result."));
  }
}
