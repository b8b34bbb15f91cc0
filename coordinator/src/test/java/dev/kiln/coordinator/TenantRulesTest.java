package dev.kiln.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.events.Tenant;
import dev.kiln.events.security.Tokens;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The pure rules behind the tenant boundaries: who a token is, which sources, which quota verdict.
 */
class TenantRulesTest {
  private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
  private final SourcePolicy policy = new SourcePolicy(Path.of("/srv/git"));

  private static Tenant tenant(String name, List<String> sources, String... tokens) {
    List<Tenant.TokenHash> hashes =
        java.util.Arrays.stream(tokens)
            .map(t -> new Tenant.TokenHash("id-" + t.hashCode(), Tokens.sha256Hex(t), NOW))
            .toList();
    return new Tenant(name, hashes, sources, List.of(), null, NOW, NOW);
  }

  @Test
  void aTokenIdentifiesItsTenantUntilItIsRevoked() {
    String token = Tokens.newToken(Tokens.Kind.TENANT);
    TenantRegistry registry = new TenantRegistry();
    registry.apply("acme", tenant("acme", List.of(), token));

    assertThat(registry.tenantOf(token)).contains("acme");
    assertThat(registry.tenantOf(Tokens.newToken(Tokens.Kind.TENANT))).isEmpty();
    assertThat(registry.tenantOf(Tokens.sha256Hex(token))).isEmpty(); // the hash is not a token
    registry.apply("acme", tenant("acme", List.of()));
    assertThat(registry.tenantOf(token)).isEmpty();
    registry.apply("acme", tenant("acme", List.of(), token));
    registry.apply("acme", null);
    assertThat(registry.tenantOf(token)).isEmpty();
  }

  @Test
  void onlyTheOperatorTokenOrATenantTokenAuthenticates() {
    String operator = Tokens.newToken(Tokens.Kind.OPERATOR);
    String tenantToken = Tokens.newToken(Tokens.Kind.TENANT);
    TenantRegistry registry = new TenantRegistry();
    registry.apply("acme", tenant("acme", List.of(), tenantToken));
    String hash = Tokens.sha256Hex(operator);

    assertThat(Caller.authenticate("Bearer " + operator, hash, registry)).contains(Caller.OPERATOR);
    assertThat(Caller.authenticate("bearer " + tenantToken, hash, registry))
        .contains(new Caller("acme"));
    assertThat(Caller.authenticate(null, hash, registry)).isEmpty();
    assertThat(Caller.authenticate("Basic " + operator, hash, registry)).isEmpty();
    assertThat(Caller.authenticate("Bearer " + operator, null, registry)).isEmpty();
    assertThat(Caller.authenticate("Bearer " + hash, hash, registry)).isEmpty();
  }

  @Test
  void aTenantBuildsOnlyFromItsOwnSourcesAndNeverThroughPathTricks() {
    Tenant acme = tenant("acme", List.of());
    assertThat(policy.effectiveSources(acme)).containsExactly("file:///srv/git/acme/");
    assertThat(policy.refusal(acme, "file:///srv/git/acme/web.git")).isEmpty();
    for (String stolen :
        List.of(
            "file:///srv/git/globex/web.git",
            "file:///srv/git/acme-evil/web.git",
            "file:///srv/git/acme/../globex/web.git",
            "file:///srv/git/acme/./../globex/web.git",
            "file:///srv/git/acme/%2E%2E/globex/web.git",
            "file:///srv/git/acme/..",
            "file:///srv/git/acme/x\\..\\..\\globex")) {
      assertThat(policy.refusal(acme, stolen))
          .as(stolen)
          .hasValueSatisfying(m -> assertThat(m.code()).isEqualTo("source::not-allowed"));
    }
    Tenant remote = tenant("acme", List.of("https://git.example.com/acme/"));
    assertThat(policy.refusal(remote, "https://git.example.com/acme/web.git")).isEmpty();
    assertThat(policy.refusal(remote, "file:///srv/git/acme/web.git")).isPresent();
    assertThat(policy.refusal(acme, "https://bob:hunter2@git.example.com/globex/web.git"))
        .hasValueSatisfying(m -> assertThat(m.message()).doesNotContain("hunter2"));
    assertThat(new SourcePolicy(null).refusal(acme, "file:///srv/git/acme/web.git"))
        .hasValueSatisfying(m -> assertThat(m.message()).contains("no allowed sources"));
  }

  @Test
  void waitingBuildsGoFirstAndAFullQueueRefuses() {
    Tenant.Quotas quotas = new Tenant.Quotas(2, 3, 1);
    assertThat(Admission.admit(quotas, 0, 0)).isEqualTo(Admission.Verdict.START);
    assertThat(Admission.admit(quotas, 1, 0)).isEqualTo(Admission.Verdict.START);
    assertThat(Admission.admit(quotas, 2, 0)).isEqualTo(Admission.Verdict.QUEUE);
    assertThat(Admission.admit(quotas, 1, 1)).isEqualTo(Admission.Verdict.QUEUE);
    assertThat(Admission.admit(quotas, 2, 3)).isEqualTo(Admission.Verdict.REFUSE);
    assertThat(Admission.queueFull("acme", quotas).code()).isEqualTo("quota::queued-builds");
  }
}
