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
  void buildpackLevelsRoundTripAndAnAppsOwnLevelWins() throws Exception {
    Tenant t =
        tenant(List.of(), List.of()).withBuildpackLevels(289, java.util.Map.of("web", 351), NOW);
    t.validate();
    Tenant back = EventCodec.fromJson(EventCodec.toJson(t), Tenant.class);
    assertThat(back).isEqualTo(t);
    assertThat(back.buildpackLevelFor("web")).isEqualTo(351);
    assertThat(back.buildpackLevelFor("api")).isEqualTo(289);
    // A record written before levels existed reads as the farm's own rules.
    Tenant old = EventCodec.fromJson(EventCodec.toJson(tenant(List.of(), List.of())), Tenant.class);
    assertThat(old.buildpackLevelFor("web")).isNull();
  }

  @Test
  void aForgedTenantRecordWithAnAbsurdLevelOrTooManyAppLevelsIsRefused() {
    assertThatThrownBy(
            () ->
                tenant(List.of(), List.of())
                    .withBuildpackLevels(-1, java.util.Map.of(), NOW)
                    .validate())
        .isInstanceOf(InvalidEventException.class)
        .hasMessageContaining("buildpackLevel");
    java.util.Map<String, Integer> many = new java.util.HashMap<>();
    for (int i = 0; i <= Tenant.MAX_APP_LEVELS; i++) {
      many.put("app-" + i, 351);
    }
    assertThatThrownBy(
            () -> tenant(List.of(), List.of()).withBuildpackLevels(null, many, NOW).validate())
        .hasMessageContaining("at most " + Tenant.MAX_APP_LEVELS);
    assertThatThrownBy(
            () ->
                tenant(List.of(), List.of())
                    .withBuildpackLevels(null, java.util.Map.of("../other", 351), NOW)
                    .validate())
        .isInstanceOf(InvalidEventException.class);
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
