package dev.kiln.installer;

/** Every stable code the install engine produces. Codes never change meaning. */
public final class Codes {
  private Codes() {}
}
