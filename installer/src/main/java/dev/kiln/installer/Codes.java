package dev.kiln.installer;

/** Every stable code the install engine produces. Codes never change meaning. */
public final class Codes {
  /** A distribution's Requires-Python does not admit the runtime's Python. */
  public static final String REQUIRES_PYTHON = "install::requires-python";

  private Codes() {}
}
