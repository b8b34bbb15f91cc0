package dev.kiln.events;

/** Where a build is. SUCCEEDED and FAILED are final. */
public enum BuildState {
  DETECTING,
  INSTALLING,
  ASSEMBLING,
  SUCCEEDED,
  FAILED;

  public boolean isFinal() {
    return this == SUCCEEDED || this == FAILED;
  }
}
