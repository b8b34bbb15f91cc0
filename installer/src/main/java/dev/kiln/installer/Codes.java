package dev.kiln.installer;

/** Every stable code the install engine produces. Codes never change meaning. */
public final class Codes {
  /**
   * No file of a locked distribution fits the target: no wheel for its Python, glibc or machine, no
   * sdist, or none with a hash the lock allows. The message lists every file and why it does not
   * fit.
   */
  public static final String NO_COMPATIBLE_FILE = "install::no-compatible-file";

  /** A distribution's Requires-Python does not admit the runtime's Python. */
  public static final String REQUIRES_PYTHON = "install::requires-python";

  /** A wheel's bytes (or size) are not what the lock or the index promised for that file. */
  public static final String HASH_MISMATCH = "install::hash-mismatch";

  /**
   * A file in a wheel differs from its RECORD line (hash or size), is missing from RECORD, or
   * RECORD names no hash or a weak one.
   */
  public static final String RECORD_MISMATCH = "install::record-mismatch";

  /**
   * A wheel would write outside the dependency root or over files that are not its own (absolute or
   * {@code ..} paths, symlinks, unknown {@code .data} schemes, a foreign {@code .dist-info},
   * duplicate entries), or is too large or compressed too well to be unpacked safely.
   */
  public static final String UNSAFE_WHEEL = "install::unsafe-wheel";

  /**
   * A file is not a wheel that can be installed: not a zip, a malformed file name, no {@code
   * .dist-info} with WHEEL, RECORD and METADATA, or an entry point pip would also refuse.
   */
  public static final String INVALID_WHEEL = "install::invalid-wheel";

  /** A wheel's {@code Wheel-Version} major is not 1, so its layout cannot be known. */
  public static final String UNSUPPORTED_WHEEL_VERSION = "install::unsupported-wheel-version";

  /**
   * Warning: a wheel's {@code Wheel-Version} is a newer 1.x than this engine knows; it is unpacked
   * as 1.0, as the binary distribution format asks.
   */
  public static final String NEWER_WHEEL_VERSION = "install::newer-wheel-version";

  /**
   * A layer fragment is not a tar this engine can concatenate (bad header checksum, an entry type
   * it never writes, data after the end-of-archive marker, truncated).
   */
  public static final String INVALID_FRAGMENT = "install::invalid-fragment";

  private Codes() {}
}
