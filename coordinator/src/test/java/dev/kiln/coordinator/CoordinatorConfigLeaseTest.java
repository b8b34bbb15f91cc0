package dev.kiln.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.events.Topics;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The lease, attempt and retention settings: defaults, and bad values named with a fix. */
class CoordinatorConfigLeaseTest {
  private final CoordinatorConfig defaults =
      CoordinatorConfig.defaults("127.0.0.1:9092", Topics.DEFAULT);

  @Test
  void defaultsAreAMinuteLeaseThreeAttemptsAndAWeekOfBuilds() {
    assertThat(defaults.taskLease()).isEqualTo(Duration.ofSeconds(60));
    assertThat(defaults.maxTaskAttempts()).isEqualTo(3);
    assertThat(defaults.buildRetention()).isEqualTo(Duration.ofDays(7));
    assertThat(defaults.withTaskLeases(null, 0).taskLease()).isEqualTo(Duration.ofSeconds(60));
    assertThat(defaults.withTaskLeases(null, 0).maxTaskAttempts()).isEqualTo(3);
    assertThat(defaults.withBuildRetention(null).buildRetention()).isEqualTo(Duration.ofDays(7));
  }

  @Test
  void withMethodsChangeOnlyTheirFields() {
    CoordinatorConfig changed =
        defaults
            .withTaskLeases(Duration.ofSeconds(90), 5)
            .withBuildRetention(Duration.ofDays(30))
            .withInstanceId("coordinator-2");
    assertThat(changed.taskLease()).isEqualTo(Duration.ofSeconds(90));
    assertThat(changed.maxTaskAttempts()).isEqualTo(5);
    assertThat(changed.buildRetention()).isEqualTo(Duration.ofDays(30));
    assertThat(changed.instanceId()).isEqualTo("coordinator-2");
  }

  @Test
  void aLeaseTooShortForRenewalsIsRefusedWithTheMinimum() {
    assertThatThrownBy(() -> defaults.withTaskLeases(Duration.ofMillis(100), 3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("taskLease is 100 ms")
        .hasMessageContaining("at least 500 ms");
  }

  @Test
  void attemptsOutsideOneToAHundredAreRefused() {
    assertThatThrownBy(() -> defaults.withTaskLeases(Duration.ofSeconds(60), -1))
        .hasMessageStartingWith("maxTaskAttempts is -1")
        .hasMessageContaining("use 1 to 100");
    assertThatThrownBy(() -> defaults.withTaskLeases(Duration.ofSeconds(60), 101))
        .hasMessageStartingWith("maxTaskAttempts is 101");
  }

  @Test
  void aRetentionUnderASecondIsRefusedWithAnExample() {
    assertThatThrownBy(() -> defaults.withBuildRetention(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("buildRetention is PT0S")
        .hasMessageContaining("P7D");
  }
}
