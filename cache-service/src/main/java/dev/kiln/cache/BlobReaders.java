package dev.kiln.cache;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Everyone a stored blob may be read on behalf of: the union of the scopes it was written with.
 * Public wins: a public blob is readable for every tenant and charged to none. Pure logic; stored
 * as a small text file next to the blob ({@link #encode()}, one line per scope).
 *
 * @param isPublic readable on behalf of anyone
 * @param tenants tenants it was written for (kept even once public, so the history is visible)
 */
record BlobReaders(boolean isPublic, Set<String> tenants) {
  static final BlobReaders PUBLIC = new BlobReaders(true, Set.of());

  BlobReaders {
    tenants = Set.copyOf(new TreeSet<>(tenants));
  }

  static BlobReaders of(BlobScope scope) {
    return scope.isPublic() ? PUBLIC : new BlobReaders(false, Set.of(scope.tenant()));
  }

  BlobReaders with(BlobScope scope) {
    if (scope.isPublic()) {
      return isPublic ? this : new BlobReaders(true, tenants);
    }
    if (tenants.contains(scope.tenant())) {
      return this;
    }
    Set<String> more = new TreeSet<>(tenants);
    more.add(scope.tenant());
    return new BlobReaders(isPublic, more);
  }

  /**
   * @param tenant the tenant a request acts for, or null for a request acting for no tenant (it
   *     sees public blobs only)
   */
  boolean readableBy(String tenant) {
    return isPublic || (tenant != null && tenants.contains(tenant));
  }

  /** The tenants whose store quota this blob counts against: none once it is public. */
  Set<String> chargedTo() {
    return isPublic ? Set.of() : tenants;
  }

  String encode() {
    List<String> lines = new ArrayList<>();
    if (isPublic) {
      lines.add("public");
    }
    for (String tenant : new TreeSet<>(tenants)) {
      lines.add("tenant " + tenant);
    }
    return String.join("\n", lines) + "\n";
  }

  /**
   * Reads {@link #encode()}'s form; unknown lines are ignored, so a newer writer's additions do not
   * make a blob unreadable (they also grant nothing).
   */
  static BlobReaders decode(String text) {
    boolean isPublic = false;
    Set<String> tenants = new TreeSet<>();
    for (String line : text.split("\n")) {
      String trimmed = line.strip();
      if (trimmed.equals("public")) {
        isPublic = true;
      } else if (trimmed.startsWith("tenant ")
          && BlobScope.isTenantName(trimmed.substring("tenant ".length()))) {
        tenants.add(trimmed.substring("tenant ".length()));
      }
    }
    return new BlobReaders(isPublic, tenants);
  }
}
