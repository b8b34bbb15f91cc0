package dev.kiln.cache.client;

/** The cache-service refused a request or could not be reached; the message says which and why. */
public final class CacheServiceClientException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Status when no HTTP answer came back at all. */
  public static final int UNREACHABLE = -1;

  private final int status;

  public CacheServiceClientException(int status, String message) {
    super(message);
    this.status = status;
  }

  public CacheServiceClientException(String message, Throwable cause) {
    super(message, cause);
    this.status = UNREACHABLE;
  }

  /** The HTTP status the service answered with, or {@link #UNREACHABLE}. */
  public int status() {
    return status;
  }
}
