package dev.kiln.worker.fetch;

import dev.kiln.cache.client.CacheServiceClient;
import dev.kiln.cache.client.CacheServiceClientException;
import dev.kiln.events.Digest;
import dev.kiln.worker.assemble.LayerBlobSource;
import dev.kiln.worker.assemble.MaterializedLayers;
import dev.kiln.worker.install.LayerTar;
import dev.kiln.worker.steps.LogSink;
import dev.kiln.worker.steps.StepFailure;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * An app's files as a build step left them (today: {@code bin/pre_compile}, which runs before
 * anything is planned or installed), stored once in the cache-service as a reproducible tar and
 * unpacked by every later step of the build at a stable path, {@code <workDir>/snapshots/<hex>/},
 * instead of fetching the commit: INSTALL and ASSEMBLE see exactly what the hook produced.
 */
public final class SourceSnapshots {
  public static final String FAILED = "source::snapshot-failed";

  private final CacheServiceClient cache;
  private final MaterializedLayers unpacked;

  public SourceSnapshots(Path workDir, CacheServiceClient cache) {
    this.cache = Objects.requireNonNull(cache, "cache");
    this.unpacked =
        new MaterializedLayers(workDir.resolve("snapshots"), LayerBlobSource.cacheService(cache));
  }

  /** Stores the tree (its {@code .git} left out by the caller) and returns its digest. */
  public Digest store(Path tree, Path scratchTar) throws StepFailure {
    try {
      LayerTar.Written written = LayerTar.write(tree, scratchTar);
      // The app's own files: readable on behalf of its tenant only.
      Digest stored = cache.putBlob(scratchTar, CacheServiceClient.Scope.TENANT);
      if (!stored.equals(written.sha256())) {
        throw new StepFailure(
            FAILED,
            "the app's files changed while they were stored ("
                + written.sha256()
                + " became "
                + stored
                + "); push again");
      }
      return stored;
    } catch (IOException e) {
      throw new StepFailure(
          FAILED,
          "the worker could not write the app's files as pre_compile left them: " + e.getMessage(),
          e);
    } catch (CacheServiceClientException e) {
      throw new StepFailure(
          FAILED,
          "the cache-service did not store the app's files as pre_compile left them: "
              + e.getMessage()
              + "; the build can be retried once it is reachable again",
          e);
    } finally {
      try {
        Files.deleteIfExists(scratchTar);
      } catch (IOException e) {
        // A scratch file; the slot is emptied before its next use anyway.
      }
    }
  }

  /** The snapshot's files on this worker, unpacked once. */
  public Path materialize(Digest snapshot, LogSink log) throws StepFailure {
    log.info("-----> Using the app's files as bin/pre_compile left them (" + snapshot + ")");
    return unpacked.materialize(snapshot, log);
  }
}
