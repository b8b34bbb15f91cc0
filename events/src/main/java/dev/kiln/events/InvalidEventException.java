package dev.kiln.events;

/** An event or request that breaks the contract; the message names the bad field and the fix. */
public final class InvalidEventException extends Exception {
  private static final long serialVersionUID = 1L;

  private final String field;

  public InvalidEventException(String field, String message) {
    super(field + ": " + message);
    this.field = field;
  }

  public InvalidEventException(String field, String message, Throwable cause) {
    super(field + ": " + message, cause);
    this.field = field;
  }

  /** The JSON path of the offending field, or a CloudEvents attribute such as {@code ce_type}. */
  public String field() {
    return field;
  }
}
