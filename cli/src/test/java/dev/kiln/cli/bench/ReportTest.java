package dev.kiln.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class ReportTest {
  private Report report() {
    return new Report("Kiln bench")
        .run("machine", "2 cores")
        .target(new Report.Target("p50", "≤ 300 ms", "flask 250 ms", true))
        .target(new Report.Target("rate", "≥ 120", "80.0", false))
        .target(new Report.Target("heap", "-", "-", null))
        .section(
            new Report.Section(
                "1. Rebuild",
                "How it was measured.",
                List.of("set", "p50"),
                List.of(List.of("flask", "250 ms"), List.of("a|b"))))
        .section(new Report.Section("2. Empty", "", List.of("x"), List.of()))
        .note("a note");
  }

  @Test
  void rendersTheRunTargetsAndOneTablePerMeasurement() {
    String md = report().markdown();

    assertThat(md).startsWith("## Kiln bench\n\n- **machine**: 2 cores\n");
    assertThat(md)
        .contains("| what | target | measured | met? |\n|---|---|---|---|\n")
        .contains("| p50 | ≤ 300 ms | flask 250 ms | met |")
        .contains("| rate | ≥ 120 | 80.0 | **not met** |")
        .contains("| heap | - | - | not measured |")
        .contains("### 1. Rebuild\n\nHow it was measured.\n\n| set | p50 |\n|---|---|\n")
        .contains("| flask | 250 ms |\n| a\\|b |  |\n")
        .contains("### 2. Empty\n\n(no figures: the phase did not run)")
        .contains("### Notes\n\n- a note\n");
  }

  @Test
  void theReportGoesOnTopOfTheExistingSections() {
    String existing = "# Benchmarks\n\n## Throughput\n\nold figures\n";

    String merged = Report.mergeInto(existing, "## Kiln bench\n\nnew\n\n", "Kiln bench");

    assertThat(merged)
        .isEqualTo("# Benchmarks\n\n## Kiln bench\n\nnew\n\n## Throughput\n\nold figures\n");
  }

  @Test
  void anEarlierReportIsReplaced() {
    String existing = "# Benchmarks\n\n## Kiln bench\n\nold run\n\n## Throughput\n\nkept\n";

    String merged = Report.mergeInto(existing, "## Kiln bench\n\nnew run\n\n", "Kiln bench");

    assertThat(merged)
        .isEqualTo("# Benchmarks\n\n## Kiln bench\n\nnew run\n\n## Throughput\n\nkept\n");
  }

  @Test
  void aNewFileGetsATitle() {
    assertThat(Report.mergeInto(null, "## Kiln bench\n", "Kiln bench"))
        .isEqualTo("# Benchmarks\n\n## Kiln bench\n");
  }
}
