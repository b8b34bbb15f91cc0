package dev.kiln.events;

/**
 * Where a build is. SUCCEEDED and FAILED are final; QUEUED waits for a free slot of its tenant's
 * concurrent-builds quota.
 */
public enum BuildState {
  QUEUED,
  DETECTING,
  INSTALLING,
  ASSEMBLING,
  SUCCEEDED,
  FAILED;

  public boolean isFinal() {
    return this == SUCCEEDED || this == FAILED;
  }
}
