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

  private Codes() {}
}
