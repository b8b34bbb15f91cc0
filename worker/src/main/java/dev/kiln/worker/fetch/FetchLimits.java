package dev.kiln.worker.fetch;

import java.time.Duration;
import java.util.Objects;

/**
 * What one fetch of a repository may cost. A fetch beyond them fails with its own code and leaves
 * no checkout behind.
 *
 * @param connectTimeout how long connecting to the repository's server may take ({@code
 *     source::timeout})
 * @param lowSpeedBytesPerSecond with {@code lowSpeedTime}: a fetch that receives less than this on
 *     average over {@code lowSpeedTime} is given up ({@code source::timeout}); a server that
 *     accepts the connection and never answers fails after {@code lowSpeedTime}
 * @param lowSpeedTime see above
 * @param wholeFetch the longest a whole fetch (every git command of it) may take ({@code
 *     source::timeout})
 * @param maxRepositoryBytes what the fetched objects and, separately, the checked-out files may
 *     take on disk ({@code source::too-large})
 * @param maxFiles how many files (and symbolic links) the commit may have ({@code
 *     source::too-many-files})
 * @param maxFileBytes the largest single file ({@code source::file-too-large})
 */
public record FetchLimits(
    Duration connectTimeout,
    long lowSpeedBytesPerSecond,
    Duration lowSpeedTime,
    Duration wholeFetch,
    long maxRepositoryBytes,
    int maxFiles,
    long maxFileBytes) {

  /** 10 s to connect, 1 KiB/s over 15 s, 10 min in all, 500 MiB, 20,000 files, 100 MiB a file. */
  public static final FetchLimits DEFAULT =
      new FetchLimits(
          Duration.ofSeconds(10),
          1024,
          Duration.ofSeconds(15),
          Duration.ofMinutes(10),
          500L << 20,
          20_000,
          100L << 20);

  public FetchLimits {
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    Objects.requireNonNull(lowSpeedTime, "lowSpeedTime");
    Objects.requireNonNull(wholeFetch, "wholeFetch");
    if (connectTimeout.isNegative()
        || connectTimeout.isZero()
        || lowSpeedTime.toSeconds() < 1
        || wholeFetch.isNegative()
        || wholeFetch.isZero()) {
      throw new IllegalArgumentException(
          "fetch timeouts must be positive, and lowSpeedTime at least 1 s (git counts seconds)");
    }
    if (lowSpeedBytesPerSecond < 0
        || maxRepositoryBytes <= 0
        || maxFiles <= 0
        || maxFileBytes <= 0) {
      throw new IllegalArgumentException(
          "fetch size limits must be positive (the low-speed limit may be 0 to switch it off)");
    }
  }

  public FetchLimits withTimeouts(
      Duration connect, long bytesPerSecond, Duration lowSpeed, Duration whole) {
    return new FetchLimits(
        connect, bytesPerSecond, lowSpeed, whole, maxRepositoryBytes, maxFiles, maxFileBytes);
  }

  public FetchLimits withSizes(long repositoryBytes, int files, long fileBytes) {
    return new FetchLimits(
        connectTimeout,
        lowSpeedBytesPerSecond,
        lowSpeedTime,
        wholeFetch,
        repositoryBytes,
        files,
        fileBytes);
  }
}
