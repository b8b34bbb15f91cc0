package dev.kiln.images;

/** Building Kiln's image failed; the message says what happened and what to do. */
public final class KilnImageException extends Exception {
  private static final long serialVersionUID = 1L;

  public KilnImageException(String message, Throwable cause) {
    super(message, cause);
  }
}
