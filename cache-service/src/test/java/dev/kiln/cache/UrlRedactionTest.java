package dev.kiln.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import org.junit.jupiter.api.Test;

class UrlRedactionTest {
  @Test
  void userInfoIsMaskedAndTheRestKept() {
    assertThat(UrlRedaction.mask("https://user:s3cret@pkgs.example.com:8443/simple/x/?a=1"))
        .isEqualTo("https://****@pkgs.example.com:8443/simple/x/?a=1");
    assertThat(UrlRedaction.mask("https://pkgs.example.com/simple/"))
        .isEqualTo("https://pkgs.example.com/simple/");
    assertThat(UrlRedaction.mask("http://u:p w@host/ x"))
        .doesNotContain("p w")
        .contains("****@host");
  }

  @Test
  void credentialsCanBeStrippedForConnecting() {
    assertThat(UrlRedaction.withoutUserInfo(URI.create("https://u:p@h.example/simple/")))
        .isEqualTo(URI.create("https://h.example/simple/"));
  }
}
