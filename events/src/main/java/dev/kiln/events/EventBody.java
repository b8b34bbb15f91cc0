package dev.kiln.events;

/** The JSON body of a Kiln CloudEvent. */
public interface EventBody {

  /**
   * Checks every field and throws {@link InvalidEventException} naming the first bad one, with what
   * was found and what is expected.
   */
  void validate() throws InvalidEventException;
}
