package dev.kiln.events;

/** A warning or failure with a stable machine-readable code ({@code area::reason}). */
public record CodedMessage(String code, String message) {
  void validate(String field) throws InvalidEventException {
    Check.text(field + ".code", code);
    Check.text(field + ".message", message);
  }
}
