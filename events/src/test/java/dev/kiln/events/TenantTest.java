package dev.kiln.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.events.security.Tokens;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class TenantTest {
  private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");

  private static Tenant tenant(List<String> sources, List<Tenant.TenantIndex> indexes) {
    return new Tenant(
        "acme",
        List.of(new Tenant.TokenHash("t1", Tokens.sha256Hex("kiln_t_x"), NOW)),
        sources,
        indexes,
        null,
        NOW,
        NOW);
  }

  @Test
  void aValidTenantRoundTripsThroughJson() throws Exception {
    Tenant t =
        tenant(
            List.of("https://git.example.com/acme/"),
            List.of(
                new Tenant.TenantIndex("private", "https://pypi.example.com/simple/", "u", null)));
    t.validate();
    Tenant back = EventCodec.fromJson(EventCodec.toJson(t), Tenant.class);
    assertThat(back).isEqualTo(t);
    assertThat(back.quotas()).isEqualTo(Tenant.Quotas.DEFAULTS);
    assertThat(back.indexRefs())
        .containsExactly(new IndexRef("private", "https://pypi.example.com/simple/"));
  }

  @Test
  void aSourcePrefixMustEndWithASlash() {
    assertThatThrownBy(() -> tenant(List.of("https://git.example.com/acme"), List.of()).validate())
        .isInstanceOf(InvalidEventException.class)
        .hasMessageContaining("must end with '/'");
  }

  @Test
  void anIndexUrlWithCredentialsOrAPlainPasswordIsRefused() {
    assertThatThrownBy(
            () ->
                tenant(
                        List.of(),
                        List.of(
                            new Tenant.TenantIndex(
                                "p", "https://u:pw@pypi.example.com/simple/", null, null)))
                    .validate())
        .hasMessageContaining("credentials");
    assertThatThrownBy(
            () ->
                tenant(
                        List.of(),
                        List.of(
                            new Tenant.TenantIndex(
                                "p", "https://pypi.example.com/simple/", "u", "plain")))
                    .validate())
        .hasMessageContaining("not sealed");
  }

  @Test
  void anIndexPasswordOpensOnlyForItsTenant() {
    var box =
        dev.kiln.events.security.SecretBox.fromBase64(
            dev.kiln.events.security.SecretBox.newKeyBase64());
    var index =
        new Tenant.TenantIndex(
            "private",
            "https://pypi.example.com/simple/",
            "u",
            box.seal(dev.kiln.events.security.SecretBox.tenantSecretAad("acme", "private"), "pw"));
    assertThat(index.password(box, "acme")).isEqualTo("pw");
    assertThatThrownBy(() -> index.password(box, "globex"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void taskIdsAreUnguessable() {
    String a = BuildTask.taskId("b-0123456789abcdef0123", TaskKind.DETECT, 1);
    String b = BuildTask.taskId("b-0123456789abcdef0123", TaskKind.DETECT, 1);
    assertThat(a).isNotEqualTo(b).matches("b-0123456789abcdef0123/detect/1/[0-9a-f]{16}");
    assertThat(BuildTask.isUnguessable(a)).isTrue();
    assertThat(BuildTask.isUnguessable("b-0123456789abcdef0123/detect/1")).isFalse();
  }
}
