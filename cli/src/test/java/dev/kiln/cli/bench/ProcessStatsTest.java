package dev.kiln.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ProcessStatsTest {
  @Test
  void cpuTicksAreUtimePlusStimeEvenWithSpacesInTheName() {
    String stat =
        "1234 (java (my app)) S 1 1234 1234 0 -1 4194304 100 0 0 0 250 75 0 0 20 0 40 0 99 0 0";

    assertThat(ProcessStats.cpuTicks(stat)).isEqualTo(325);
  }

  @Test
  void usedHeapSumsSurvivorsEdenAndOld() {
    String header =
        "    S0C         S1C         S0U         S1U          EC           EU           OC    "
            + "       OU          MC         MU       CCSC      CCSU     YGC     YGCT     FGC    FGCT"
            + "     CGC    CGCT       GCT   ";
    String sample =
        "        0.0      8192.0         0.0      4670.7      61440.0      20480.0      90112.0 "
            + "     60134.5    68032.0    67053.9    8512.0    8080.0     16     0.229     0     0.000"
            + "     6     0.010     0.239";

    assertThat(ProcessStats.usedHeapKib(header, sample)).isEqualTo(85285);
    assertThat(ProcessStats.usedHeapKib(header, "not a sample")).isEqualTo(-1);
  }
}
