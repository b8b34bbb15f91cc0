package dev.kiln.worker.runtime;

/**
 * Building or finding the local runtime image failed. The message says what happened and what to do
 * about it; {@link #code()} is stable for callers that branch on the cause.
 */
public final class RuntimeImageException extends Exception {

  private static final long serialVersionUID = 1L;

  /** Why the runtime image is not available. */
  public enum Code {
    /** debootstrap is not installed and could not be installed (not root, or apt-get failed). */
    DEBOOTSTRAP_MISSING,
    /** Building a rootfs needs root (debootstrap chroots and creates device nodes). */
    NEEDS_ROOT,
    /** debootstrap ran and failed, usually because the Debian mirror was unreachable. */
    DEBOOTSTRAP_FAILED,
    /** The rootfs was built but its Python interpreter does not run. */
    BROKEN_ROOTFS,
    /** Reading or writing the cache directory failed. */
    IO_FAILED,
    /** The thread was interrupted; nothing was left behind. */
    INTERRUPTED
  }

  private final Code code;

  RuntimeImageException(Code code, String message) {
    super(message);
    this.code = code;
  }

  RuntimeImageException(Code code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  public Code code() {
    return code;
  }
}
