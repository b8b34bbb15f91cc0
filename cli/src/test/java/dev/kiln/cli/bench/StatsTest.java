package dev.kiln.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class StatsTest {
  @Test
  void nearestRankPercentilesOfASample() {
    Stats.Summary s = Stats.summarize(List.of(5, 1, 4, 2, 3, 10, 9, 8, 7, 6));

    assertThat(s.count()).isEqualTo(10);
    assertThat(s.p50()).isEqualTo(5);
    assertThat(s.p99()).isEqualTo(10);
    assertThat(s.mean()).isEqualTo(5.5);
    assertThat(s.min()).isEqualTo(1);
    assertThat(s.max()).isEqualTo(10);
  }

  @Test
  void p99OfAHundredValuesIsTheNinetyNinth() {
    List<Integer> values = new java.util.ArrayList<>();
    for (int i = 100; i >= 1; i--) {
      values.add(i);
    }
    assertThat(Stats.summarize(values).p99()).isEqualTo(99);
    assertThat(Stats.summarize(values).p50()).isEqualTo(50);
  }

  @Test
  void aSingleValueIsEveryPercentile() {
    Stats.Summary s = Stats.summarize(List.of(42L));
    assertThat(s.p50()).isEqualTo(42);
    assertThat(s.p99()).isEqualTo(42);
  }

  @Test
  void anEmptySampleHasNoFigures() {
    assertThat(Stats.summarize(List.of()).p50()).isNaN();
    assertThat(Stats.millis(Stats.summarize(List.of()).p50())).isEqualTo("n/a");
  }

  @Test
  void ratiosAndTheirText() {
    assertThat(Stats.ratio(10, 4)).isEqualTo(2.5);
    assertThat(Stats.ratio(10, 0)).isNaN();
    assertThat(Stats.ratio(Double.NaN, 3)).isNaN();
    assertThat(Stats.times(2.5)).isEqualTo("2.50×");
    assertThat(Stats.times(250)).isEqualTo("250×");
    assertThat(Stats.times(Double.NaN)).isEqualTo("n/a");
    assertThat(Stats.millis(250)).isEqualTo("250 ms");
    assertThat(Stats.millis(12_345)).isEqualTo("12.35 s");
    assertThat(Stats.number(120.04)).isEqualTo("120.0");
  }
}
