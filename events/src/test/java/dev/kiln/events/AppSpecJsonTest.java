package dev.kiln.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AppSpecJsonTest {

  @Test
  void envsCarryTheirScopeOnTheWire() throws Exception {
    AppSpec spec =
        new AppSpec(
            null,
            null,
            null,
            null,
            List.of(
                new AppSpec.EnvVar("TOKEN", "t", AppSpec.Scope.BUILD_TIME),
                new AppSpec.EnvVar("PORT", "9000", AppSpec.Scope.RUN_TIME),
                new AppSpec.EnvVar("BOTH", "b", null)));
    String json = EventCodec.mapper().writeValueAsString(spec);

    AppSpec read = EventCodec.mapper().readValue(json, AppSpec.class);

    assertThat(json).contains("\"scope\":\"BUILD_TIME\"");
    assertThat(read).isEqualTo(spec);
    assertThat(read.buildTimeEnv()).containsOnlyKeys("TOKEN", "BOTH");
    assertThat(read.runTimeEnv()).containsOnlyKeys("PORT", "BOTH");
  }

  @Test
  void theOlderMapFormStillReadsWithBothScopes() throws Exception {
    AppSpec read = EventCodec.mapper().readValue("{\"envs\": {\"A\": \"1\"}}", AppSpec.class);
    assertThat(read.envs())
        .containsExactly(new AppSpec.EnvVar("A", "1", AppSpec.Scope.RUN_AND_BUILD_TIME));
  }

  @Test
  void anUnknownScopeIsRefused() {
    assertThatThrownBy(
            () ->
                EventCodec.mapper()
                    .readValue(
                        "{\"envs\": [{\"key\": \"A\", \"scope\": \"SOMETIMES\"}]}", AppSpec.class))
        .hasMessageContaining("is not RUN_TIME, BUILD_TIME or RUN_AND_BUILD_TIME");
  }

  @Test
  void aPushWithAnInvalidVariableNameIsInvalid() {
    PushEvent push =
        new PushEvent(
            "acme",
            "shop",
            "https://git.example.com/shop.git",
            "main",
            "a".repeat(40),
            new AppSpec(null, null, null, null, List.of(new AppSpec.EnvVar("1X", "v", null))),
            Map.of(),
            Instant.EPOCH);
    assertThatThrownBy(push::validate)
        .isInstanceOf(InvalidEventException.class)
        .hasMessageContaining("appSpec.envs[0].key");
  }

  @Test
  void thePushsOwnBuildVariablesWinOverTheAppSpecsAndNeverReachRunTime() {
    PushEvent push =
        new PushEvent(
            "acme",
            "shop",
            "https://git.example.com/shop.git",
            "main",
            "a".repeat(40),
            new AppSpec(
                null,
                null,
                null,
                null,
                List.of(
                    new AppSpec.EnvVar("MODE", "spec", null),
                    new AppSpec.EnvVar("ONLY_RUN", "r", AppSpec.Scope.RUN_TIME))),
            Map.of("MODE", "push"),
            Instant.EPOCH);
    assertThat(push.buildTimeEnv()).containsExactlyEntriesOf(Map.of("MODE", "push"));
    assertThat(push.appSpec().runTimeEnv()).containsOnlyKeys("MODE", "ONLY_RUN");
  }
}
