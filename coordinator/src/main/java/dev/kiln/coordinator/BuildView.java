package dev.kiln.coordinator;

import dev.kiln.events.AppSpec;
import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.PushEvent;
import dev.kiln.events.security.SecretValues;

/**
 * A build as the API shows it: the snapshot with every secret-looking variable of its push masked
 * ({@code PIP_EXTRA_INDEX_URL=https://u:****@…}, {@code API_TOKEN=****}). Workers still get the
 * values; people and scripts reading the API never do.
 */
final class BuildView {
  private BuildView() {}

  static BuildSnapshot masked(BuildSnapshot snapshot) {
    return snapshot.toBuilder().push(masked(snapshot.push())).build();
  }

  static PushEvent masked(PushEvent push) {
    AppSpec spec = push.appSpec();
    AppSpec maskedSpec =
        spec.withEnvs(
            spec.envs().stream()
                .map(
                    e ->
                        new AppSpec.EnvVar(
                            e.key(), SecretValues.mask(e.key(), e.value()), e.scope()))
                .toList());
    return new PushEvent(
        push.tenant(),
        push.app(),
        SecretValues.maskUrlPasswords(push.repoUrl()),
        push.ref(),
        push.commit(),
        maskedSpec,
        SecretValues.mask(push.buildEnv()),
        push.pushedAt(),
        push.ci());
  }
}
