package dev.kiln.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class GitRemoteAccessTest {
  private static String basic(String userAndPassword) {
    return "Basic "
        + Base64.getEncoder().encodeToString(userAndPassword.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void thePasswordIsTheTokenWhateverTheUser() {
    assertThat(GitRemoteAccess.basicPassword(basic("git:kiln_t_abc"))).contains("kiln_t_abc");
    assertThat(GitRemoteAccess.basicPassword(basic(":kiln_t_abc"))).contains("kiln_t_abc");
    assertThat(GitRemoteAccess.basicPassword("basic " + basic("x:a:b").substring(6)))
        .contains("a:b");
  }

  @Test
  void missingOrUnreadableCredentialsGiveNoToken() {
    assertThat(GitRemoteAccess.basicPassword(null)).isEmpty();
    assertThat(GitRemoteAccess.basicPassword("Bearer kiln_t_abc")).isEmpty();
    assertThat(GitRemoteAccess.basicPassword("Basic !!!")).isEmpty();
    assertThat(GitRemoteAccess.basicPassword(basic("git"))).isEmpty();
    assertThat(GitRemoteAccess.basicPassword(basic("git:"))).isEmpty();
  }

  @Test
  void anotherTenantsTokenSeesNothingAndNoTokenIsChallenged() {
    assertThat(GitRemoteAccess.decide(Optional.empty(), "acme"))
        .isEqualTo(GitRemoteAccess.Verdict.CHALLENGE);
    assertThat(GitRemoteAccess.decide(Optional.of(new Caller("globex")), "acme"))
        .isEqualTo(GitRemoteAccess.Verdict.NOT_FOUND);
    assertThat(GitRemoteAccess.decide(Optional.of(new Caller("acme")), "acme"))
        .isEqualTo(GitRemoteAccess.Verdict.ALLOW);
    assertThat(GitRemoteAccess.decide(Optional.of(Caller.OPERATOR), "acme"))
        .isEqualTo(GitRemoteAccess.Verdict.ALLOW);
  }
}
