package dev.kiln.events;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PushEventIndexCredentialsTest {
  @Test
  void anIndexPasswordInABuildVariableIsNeverRecorded() {
    PushEvent push =
        new PushEvent(
            "acme",
            "web",
            "https://git.example.com/acme/web.git",
            "main",
            "a".repeat(40),
            new AppSpec(
                null,
                null,
                null,
                null,
                List.of(
                    new AppSpec.EnvVar(
                        "PIP_INDEX_URL", "https://ci:hunter2@pkgs.example.com/simple/", null),
                    new AppSpec.EnvVar("SECRET_KEY", "kept-for-collectstatic", null))),
            Map.of(
                "PIP_EXTRA_INDEX_URL",
                "https://ci:hunter2@pkgs.example.com/simple/ https://other.example/simple/",
                "DEBUG",
                "1"),
            Instant.EPOCH);

    PushEvent recorded = push.withoutIndexCredentials();

    assertThat(new String(EventCodec.toJson(recorded))).doesNotContain("hunter2");
    assertThat(recorded.buildEnv().get("PIP_EXTRA_INDEX_URL"))
        .isEqualTo("https://pkgs.example.com/simple/ https://other.example/simple/");
    assertThat(recorded.buildTimeEnv())
        .containsEntry("PIP_INDEX_URL", "https://pkgs.example.com/simple/")
        .containsEntry("SECRET_KEY", "kept-for-collectstatic")
        .containsEntry("DEBUG", "1");
    assertThat(recorded.buildId()).isEqualTo(push.buildId());
  }
}
