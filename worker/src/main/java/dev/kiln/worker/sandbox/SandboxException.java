package dev.kiln.worker.sandbox;

/**
 * The sandbox could not be set up (bubblewrap missing or refused, a mount point absent from the
 * root file system, the worker's disk full): the command never ran. The message says what the
 * operator has to fix; it is never the app's fault.
 */
public class SandboxException extends Exception {
  public SandboxException(String message) {
    super(message);
  }

  public SandboxException(String message, Throwable cause) {
    super(message, cause);
  }
}
