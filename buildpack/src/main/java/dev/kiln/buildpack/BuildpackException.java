package dev.kiln.buildpack;

/** A problem with an input, carrying the stable code of {@link Codes} and a helpful message. */
public final class BuildpackException extends Exception {
  private static final long serialVersionUID = 1L;
  private final String code;

  public BuildpackException(String code, String message) {
    super(message);
    this.code = code;
  }

  BuildpackException(Diagnostic diagnostic) {
    this(diagnostic.code(), diagnostic.message());
  }

  public String code() {
    return code;
  }

  public Diagnostic toDiagnostic() {
    return new Diagnostic(code, getMessage());
  }
}
