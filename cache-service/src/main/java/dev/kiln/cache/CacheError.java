package dev.kiln.cache;

/**
 * The one failure type of the cache-service: the HTTP status it maps to and a message that says
 * what was wrong and what to do about it. Thrown by the blocking store code and by the HTTP layer
 * alike; rendered once, in {@link CacheServiceVerticle}.
 */
final class CacheError extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int httpStatus;

  private CacheError(int httpStatus, String message, Throwable cause) {
    super(message, cause);
    this.httpStatus = httpStatus;
  }

  static CacheError badRequest(String message) {
    return new CacheError(400, message, null);
  }

  static CacheError notFound(String message) {
    return new CacheError(404, message, null);
  }

  static CacheError notAcceptable(String message) {
    return new CacheError(406, message, null);
  }

  static CacheError conflict(String message) {
    return new CacheError(409, message, null);
  }

  static CacheError unauthorized(String message) {
    return new CacheError(401, message, null);
  }

  static CacheError forbidden(String message) {
    return new CacheError(403, message, null);
  }

  static CacheError payloadTooLarge(String message) {
    return new CacheError(413, message, null);
  }

  /** The store (or a tenant's share of it) has no room; the message names the limit. */
  static CacheError insufficientStorage(String message) {
    return new CacheError(507, message, null);
  }

  static CacheError internal(String message, Throwable cause) {
    return new CacheError(500, message, cause);
  }

  /** The upstream index failed us; the message must name the upstream. */
  static CacheError badGateway(String message, Throwable cause) {
    return new CacheError(502, message, cause);
  }

  /** The shared object store failed or did not answer in time; the message must name it. */
  static CacheError unavailable(String message, Throwable cause) {
    return new CacheError(503, message, cause);
  }

  int httpStatus() {
    return httpStatus;
  }
}
