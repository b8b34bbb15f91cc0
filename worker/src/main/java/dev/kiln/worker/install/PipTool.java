package dev.kiln.worker.install;

import dev.kiln.cache.client.CacheServiceClient;
import dev.kiln.cache.client.CacheServiceClientException;
import dev.kiln.installer.TargetEnvironment;
import dev.kiln.installer.pep.Pep440Version;
import dev.kiln.installer.pep.RequiresPython;
import dev.kiln.installer.wheel.WheelFilename;
import dev.kiln.worker.steps.LogSink;
import dev.kiln.worker.steps.StepFailure;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * The pip that runs in the build sandbox: the newest pip wheel Kiln's index offers for the target
 * Python (not yanked, its {@code Requires-Python} admitting the target), unpacked once per wheel
 * hash under the worker's tools directory and mounted read-only. The runtimes carry no pip of their
 * own, and the worker's own pip is for the worker's Python, not the image's.
 */
public final class PipTool {
  public static final String UNAVAILABLE = "install::pip-unavailable";

  private final CacheServiceClient cache;
  private final Path toolsDir;
  private final ConcurrentHashMap<String, Path> unpacked = new ConcurrentHashMap<>();

  public PipTool(CacheServiceClient cache, Path toolsDir) {
    this.cache = Objects.requireNonNull(cache, "cache");
    this.toolsDir = Objects.requireNonNull(toolsDir, "toolsDir");
  }

  private record Candidate(CacheServiceClient.IndexFile file, Pep440Version version) {}

  /** A directory holding the {@code pip} package for {@code target}, ready to mount. */
  public Path forTarget(TargetEnvironment target, LogSink log) throws StepFailure {
    List<CacheServiceClient.IndexFile> files;
    try {
      files = cache.projectFiles("pip");
    } catch (CacheServiceClientException e) {
      throw new StepFailure(
          InstallStep.CACHE_UNAVAILABLE,
          "the cache-service did not list pip, which the build sandbox needs to resolve or build"
              + " packages: "
              + e.getMessage(),
          e);
    }
    Optional<Candidate> newest =
        files.stream()
            .filter(file -> !file.yanked())
            .filter(file -> file.filename().endsWith("-py3-none-any.whl"))
            .filter(file -> admits(file.requiresPython(), target))
            .map(file -> candidate(file))
            .flatMap(Optional::stream)
            .max(Comparator.comparing(Candidate::version));
    if (newest.isEmpty()) {
      throw new StepFailure(
          UNAVAILABLE,
          "Kiln's package index has no pip wheel for Python "
              + target.pythonVersion()
              + " ("
              + files.size()
              + " pip files listed). The build sandbox runs pip from the index to resolve"
              + " unpinned requirements and to build sdists and local projects; make pip"
              + " available on the index the cache-service proxies, or pin the app's"
              + " dependencies in a lock file.");
    }
    CacheServiceClient.IndexFile file = newest.get().file();
    Path existing = unpacked.get(file.sha256().hex());
    if (existing != null) {
      return existing;
    }
    Path dir = toolsDir.resolve("pip-" + file.sha256().hex());
    try {
      if (!Files.isDirectory(dir)) {
        log.info("       Fetching " + file.filename() + " for the build sandbox");
        unpack(file, dir);
      }
    } catch (IOException | CacheServiceClientException e) {
      throw new StepFailure(
          UNAVAILABLE,
          "could not fetch and unpack "
              + file.filename()
              + " from the cache-service: "
              + e.getMessage()
              + "; check free space in "
              + toolsDir,
          e);
    }
    unpacked.put(file.sha256().hex(), dir);
    return dir;
  }

  private static boolean admits(String requiresPython, TargetEnvironment target) {
    if (requiresPython == null || requiresPython.isBlank()) {
      return true;
    }
    try {
      return RequiresPython.parse(requiresPython).admits(target);
    } catch (IllegalArgumentException e) {
      return true; // pip ignores an index's unreadable Requires-Python too
    }
  }

  private static Optional<Candidate> candidate(CacheServiceClient.IndexFile file) {
    try {
      return Optional.of(new Candidate(file, WheelFilename.parse(file.filename()).version()));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  private void unpack(CacheServiceClient.IndexFile file, Path dir) throws IOException {
    Files.createDirectories(toolsDir);
    Path staging = toolsDir.resolve(".staging-" + UUID.randomUUID());
    Path wheel = toolsDir.resolve(".download-" + UUID.randomUUID() + ".whl");
    try {
      if (cache.getIndexFile(file.sha256(), file.filename(), wheel).isEmpty()) {
        throw new IOException("the cache-service no longer has " + file.filename());
      }
      Files.createDirectories(staging);
      try (InputStream in = Files.newInputStream(wheel);
          ZipInputStream zip = new ZipInputStream(in)) {
        for (ZipEntry entry; (entry = zip.getNextEntry()) != null; ) {
          Path target = staging.resolve(entry.getName()).normalize();
          if (!target.startsWith(staging) || target.equals(staging)) {
            throw new IOException(
                file.filename() + " holds an entry outside its root: " + entry.getName());
          }
          if (entry.isDirectory()) {
            Files.createDirectories(target);
          } else {
            Files.createDirectories(target.getParent());
            Files.copy(zip, target);
          }
        }
      }
      try {
        Files.move(staging, dir, StandardCopyOption.ATOMIC_MOVE);
      } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException raced) {
        // Another build unpacked the same wheel first; its copy is as good as ours.
      } catch (IOException e) {
        if (!Files.isDirectory(dir)) {
          throw e;
        }
      }
    } finally {
      Files.deleteIfExists(wheel);
      if (Files.exists(staging)) {
        dev.kiln.worker.fs.BackgroundDeleter.deleteTree(staging);
      }
    }
  }
}
