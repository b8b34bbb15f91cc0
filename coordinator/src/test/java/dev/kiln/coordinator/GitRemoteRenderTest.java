package dev.kiln.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.events.BuildLogLine;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class GitRemoteRenderTest {
  private static BuildLogLine line(BuildLogLine.Level level, String text) {
    return new BuildLogLine("b-00000000000000000000", null, null, 1, level, text, Instant.EPOCH);
  }

  @Test
  void infoLinesAreShownAsTheBuildWroteThem() {
    assertThat(GitRemote.render(line(BuildLogLine.Level.INFO, "-----> Python app detected")))
        .isEqualTo("-----> Python app detected");
  }

  @Test
  void everyLineOfAnErrorIsMarked() {
    assertThat(
            GitRemote.render(
                line(BuildLogLine.Level.ERROR, "Build failed: nothing matches.\nCheck the name.")))
        .isEqualTo(" !     Build failed: nothing matches.\n !     Check the name.");
    assertThat(GitRemote.render(line(BuildLogLine.Level.ERROR, " !     Error: install::x")))
        .isEqualTo(" !     Error: install::x");
  }
}
