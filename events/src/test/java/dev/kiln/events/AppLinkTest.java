package dev.kiln.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.events.security.SecretBox;
import dev.kiln.events.security.Tokens;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AppLinkTest {
  private static final Instant NOW = Instant.parse("2026-11-30T00:00:00Z");
  private static final SecretBox BOX = SecretBox.fromBase64(SecretBox.newKeyBase64());

  private static AppLink link(String app, String branch, String sealed) {
    return new AppLink(
        app, AppLink.Forge.GITHUB, "https://github.com/acme/web.git", branch, sealed, NOW, NOW);
  }

  private static Tenant tenantWith(List<AppLink> apps) {
    return new Tenant(
        "acme",
        List.of(new Tenant.TokenHash("t1", Tokens.sha256Hex("kiln_t_x"), NOW)),
        List.of("https://github.com/acme/"),
        List.of(),
        null,
        NOW,
        NOW,
        apps);
  }

  @Test
  void aTenantWithALinkRoundTripsThroughJsonWithTheForgeInLowercase() throws Exception {
    String sealed = BOX.seal(SecretBox.webhookSecretAad("acme", "web"), "kiln_wh_secret");
    Tenant tenant = tenantWith(List.of(link("web", "main", sealed)));
    tenant.validate();
    byte[] json = EventCodec.toJson(tenant);
    assertThat(new String(json, java.nio.charset.StandardCharsets.UTF_8))
        .contains("\"forge\":\"github\"")
        .doesNotContain("kiln_wh_secret");
    Tenant back = EventCodec.fromJson(json, Tenant.class);
    assertThat(back).isEqualTo(tenant);
    assertThat(back.appLink("web").orElseThrow().ref()).isEqualTo("refs/heads/main");
  }

  @Test
  void aTenantRecordWrittenBeforeLinksExistedReadsWithNoLinks() throws Exception {
    Tenant old =
        new Tenant(
            "acme", List.of(), List.of(), List.of(), null, NOW, NOW); // the 7-field constructor
    assertThat(old.apps()).isEmpty();
    String json =
        new String(EventCodec.toJson(old), java.nio.charset.StandardCharsets.UTF_8)
            .replace(",\"apps\":[]", "");
    assertThat(json).doesNotContain("apps");
    assertThat(EventCodec.fromJson(json.getBytes(), Tenant.class).apps()).isEmpty();
  }

  @Test
  void aPlainSecretIsNeverStored() {
    assertThatThrownBy(() -> tenantWith(List.of(link("web", "main", "kiln_wh_plain"))).validate())
        .isInstanceOf(InvalidEventException.class)
        .hasMessageContaining("not sealed");
  }

  @Test
  void anAppIsLinkedAtMostOnce() {
    String sealed = BOX.seal("x", "y");
    assertThatThrownBy(
            () ->
                tenantWith(List.of(link("web", "main", sealed), link("web", "dev", sealed)))
                    .validate())
        .hasMessageContaining("linked twice");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "refs/heads/main",
        "-main",
        "a..b",
        "has space",
        "ends/",
        "x.lock",
        "a~1",
        "a^",
        "a:b",
        "@",
        "a@{1}",
        "/main",
        "a//b"
      })
  void aBranchGitWouldRefuseIsRefused(String branch) {
    assertThatThrownBy(() -> AppLink.checkBranch("branch", branch))
        .isInstanceOf(InvalidEventException.class)
        .hasMessageContaining("branch name");
  }

  @ParameterizedTest
  @ValueSource(strings = {"main", "release/1.2", "feature-x_y", "v1.0"})
  void ordinaryBranchesAreAccepted(String branch) throws Exception {
    AppLink.checkBranch("branch", branch);
  }

  @Test
  void forgejoIsGitea() {
    assertThat(AppLink.Forge.of("forgejo")).isEqualTo(AppLink.Forge.GITEA);
    assertThat(AppLink.Forge.of("GitHub")).isEqualTo(AppLink.Forge.GITHUB);
    assertThat(AppLink.Forge.of("bitbucket")).isNull();
  }
}
