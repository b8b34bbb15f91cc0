package dev.kiln.coordinator;

import dev.kiln.events.CodedMessage;
import dev.kiln.events.Tenant;

/**
 * Whether a tenant's new build starts now, waits for a slot (QUEUED) or is refused, from its quotas
 * and what it has running and waiting. Quotas are per tenant, so one tenant's burst only ever
 * queues that tenant's builds.
 */
final class Admission {
  static final String QUEUED_QUOTA = "quota::queued-builds";

  enum Verdict {
    START,
    QUEUE,
    REFUSE
  }

  private Admission() {}

  /**
   * @param running the tenant's builds in DETECTING, INSTALLING or ASSEMBLING
   * @param queued the tenant's builds waiting in QUEUED
   */
  static Verdict admit(Tenant.Quotas quotas, int running, int queued) {
    // Waiting builds go first: a new one may not overtake them even if a slot is free right now.
    if (running < quotas.concurrentBuilds() && queued == 0) {
      return Verdict.START;
    }
    return queued < quotas.queuedBuilds() ? Verdict.QUEUE : Verdict.REFUSE;
  }

  static String queuedReason(String tenant, Tenant.Quotas quotas) {
    return "tenant "
        + tenant
        + " already runs its quota of "
        + quotas.concurrentBuilds()
        + " concurrent builds; this one starts when one of them finishes";
  }

  static CodedMessage queueFull(String tenant, Tenant.Quotas quotas) {
    return new CodedMessage(
        QUEUED_QUOTA,
        "Tenant "
            + tenant
            + " already has "
            + quotas.queuedBuilds()
            + " builds waiting (quota queuedBuilds = "
            + quotas.queuedBuilds()
            + ", concurrentBuilds = "
            + quotas.concurrentBuilds()
            + "). Push again when some have finished, or ask the operator to raise the quota:"
            + " PATCH /v1/tenants/"
            + tenant
            + " {\"quotas\": {\"queuedBuilds\": N}}.");
  }
}
