package dev.kiln.worker;

import dev.kiln.cache.client.CacheServiceClient;
import dev.kiln.worker.fs.BackgroundDeleter;

/**
 * What a worker shares between its steps, made when the worker starts and closed when it stops.
 *
 * @param deleter takes scratch trees off the build path ({@code <workDir>/trash})
 * @param cache the cache-service client (blocking; for worker threads only)
 */
public record WorkerResources(
    WorkerConfig config, BackgroundDeleter deleter, CacheServiceClient cache) {}
