package dev.kiln.buildpack;

import java.util.Objects;

/** A parser's answer: a value, or a coded failure. Parsers return this and never throw. */
final class Outcome<T> {
  private final T value;
  private final Diagnostic failure;

  private Outcome(T value, Diagnostic failure) {
    this.value = value;
    this.failure = failure;
  }

  static <T> Outcome<T> ok(T value) {
    return new Outcome<>(Objects.requireNonNull(value), null);
  }

  static <T> Outcome<T> fail(Diagnostic failure) {
    return new Outcome<>(null, Objects.requireNonNull(failure));
  }

  static <T> Outcome<T> fail(String code, String message) {
    return fail(new Diagnostic(code, message));
  }

  boolean isOk() {
    return failure == null;
  }

  T value() {
    if (failure != null) {
      throw new IllegalStateException("no value: " + failure.code());
    }
    return value;
  }

  Diagnostic failure() {
    return failure;
  }

  /** The value, or the failure thrown as a {@link BuildpackException}. */
  T orThrow() throws BuildpackException {
    if (failure != null) {
      throw new BuildpackException(failure);
    }
    return value;
  }
}
