package dev.kiln.events.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class SecurityHelpersTest {

  @Test
  void tokensHaveTheirKindAndMatchOnlyTheirHash() {
    String token = Tokens.newToken(Tokens.Kind.OPERATOR);
    assertThat(token).matches("kiln_op_[A-Za-z0-9_-]{43}");
    assertThat(Tokens.looksLike(Tokens.Kind.OPERATOR, token)).isTrue();
    assertThat(Tokens.looksLike(Tokens.Kind.TENANT, token)).isFalse();
    String hash = Tokens.sha256Hex(token);
    assertThat(hash).matches("[0-9a-f]{64}");
    assertThat(Tokens.matches(token, hash)).isTrue();
    assertThat(Tokens.matches(Tokens.newToken(Tokens.Kind.OPERATOR), hash)).isFalse();
    assertThat(Tokens.matches(token, "not-a-hash")).isFalse();
    assertThat(Tokens.newToken(Tokens.Kind.TENANT)).startsWith("kiln_t_");
    assertThat(Tokens.newToken(Tokens.Kind.FARM)).startsWith("kiln_farm_");
  }

  @Test
  void aSealedSecretOpensOnlyWithItsKeyAndPlace() {
    SecretBox box = SecretBox.fromBase64(SecretBox.newKeyBase64());
    String aad = SecretBox.tenantSecretAad("acme", "private");
    String sealed = box.seal(aad, "hunter2");
    assertThat(sealed).startsWith("v1:").doesNotContain("hunter2");
    assertThat(box.open(aad, sealed)).isEqualTo("hunter2");
    assertThat(box.seal(aad, "hunter2")).isNotEqualTo(sealed);
    assertThatThrownBy(() -> box.open(SecretBox.tenantSecretAad("evil", "private"), sealed))
        .isInstanceOf(IllegalArgumentException.class);
    SecretBox other = SecretBox.fromBase64(SecretBox.newKeyBase64());
    assertThatThrownBy(() -> other.open(aad, sealed)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new SecretBox(new byte[16])).hasMessageContaining("32 bytes");
  }

  @Test
  void secretLookingValuesAreMasked() {
    Map<String, String> masked =
        SecretValues.mask(
            Map.of(
                "PIP_EXTRA_INDEX_URL", "https://bob:s3cret@pypi.example.com/simple/",
                "API_TOKEN", "abc",
                "DEBUG", "1"));
    assertThat(masked)
        .containsEntry("PIP_EXTRA_INDEX_URL", "https://bob:****@pypi.example.com/simple/")
        .containsEntry("API_TOKEN", "****")
        .containsEntry("DEBUG", "1");
    assertThat(SecretValues.withoutUserInfo("https://bob:pw@h.example/simple/"))
        .isEqualTo("https://h.example/simple/");
  }
}
