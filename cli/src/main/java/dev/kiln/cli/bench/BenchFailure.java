package dev.kiln.cli.bench;

/** The bench could not measure something (a build failed, a process died); stops the run. */
public final class BenchFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public BenchFailure(String message) {
    super(message);
  }
}
