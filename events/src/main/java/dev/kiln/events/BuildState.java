package dev.kiln.events;

/**
 * Where a build is. SUCCEEDED, FAILED and CANCELLED are final; QUEUED waits for a free slot of its
 * tenant's concurrent-builds quota; CANCELLED means a later push to the same app and branch
 * superseded it.
 */
public enum BuildState {
  QUEUED,
  DETECTING,
  INSTALLING,
  ASSEMBLING,
  SUCCEEDED,
  FAILED,
  CANCELLED;

  public boolean isFinal() {
    return this == SUCCEEDED || this == FAILED || this == CANCELLED;
  }
}
