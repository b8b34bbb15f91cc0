package dev.kiln.coordinator;

import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.CodedMessage;
import dev.kiln.events.PushEvent;
import dev.kiln.events.Tenant;
import java.util.Optional;

/**
 * The checks a push of a known tenant passes before it is written to {@code kiln.push}, whichever
 * way it came ({@code POST /v1/pushes}, a forge webhook, the git remote): the repository is one of
 * the tenant's sources, a commit builds once, and the tenant's queue has room. Pure: callers turn
 * the verdict into their protocol's answer.
 */
final class PushChecks {
  private PushChecks() {}

  /** What to do with a push: refuse it, point at the build it already has, or write it. */
  sealed interface Verdict {
    /**
     * Not allowed; {@code queueFull} tells a full queue (a retry later may pass) from a refusal.
     */
    record Refused(CodedMessage why, boolean queueFull) implements Verdict {}

    record Known(BuildSnapshot build) implements Verdict {}

    record Admit() implements Verdict {}
  }

  static Verdict check(PushEvent push, Tenant tenant, SourcePolicy sources, KnownBuilds builds) {
    Optional<CodedMessage> refusal = sources.refusal(tenant, push.repoUrl());
    if (refusal.isPresent()) {
      return new Verdict.Refused(refusal.get(), false);
    }
    Optional<BuildSnapshot> known = builds.get(push.buildId());
    if (known.isPresent()) {
      return new Verdict.Known(known.get());
    }
    if (Admission.admit(
            tenant.quotas(), builds.running(tenant.name()), builds.queued(tenant.name()).size())
        == Admission.Verdict.REFUSE) {
      return new Verdict.Refused(Admission.queueFull(tenant.name(), tenant.quotas()), true);
    }
    return new Verdict.Admit();
  }
}
