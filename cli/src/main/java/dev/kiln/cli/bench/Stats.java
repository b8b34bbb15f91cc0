package dev.kiln.cli.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/** Percentiles, means and ratios of measured durations (milliseconds). */
public final class Stats {
  private Stats() {}

  /** A sample's count, nearest-rank p50 and p99, mean, min and max; NaN for an empty sample. */
  public record Summary(int count, double p50, double p99, double mean, double min, double max) {
    public static final Summary EMPTY =
        new Summary(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
  }

  public static Summary summarize(List<? extends Number> values) {
    if (values.isEmpty()) {
      return Summary.EMPTY;
    }
    List<Double> sorted = new ArrayList<>();
    double sum = 0;
    for (Number value : values) {
      sorted.add(value.doubleValue());
      sum += value.doubleValue();
    }
    Collections.sort(sorted);
    return new Summary(
        sorted.size(),
        percentile(sorted, 50),
        percentile(sorted, 99),
        sum / sorted.size(),
        sorted.get(0),
        sorted.get(sorted.size() - 1));
  }

  /**
   * The nearest-rank percentile of a sorted sample: the smallest value with at least {@code p}
   * percent of the sample at or below it.
   */
  public static double percentile(List<Double> sorted, double p) {
    if (sorted.isEmpty()) {
      return Double.NaN;
    }
    if (p <= 0) {
      return sorted.get(0);
    }
    int rank = (int) Math.ceil(p / 100.0 * sorted.size());
    return sorted.get(Math.min(Math.max(rank, 1), sorted.size()) - 1);
  }

  /** {@code value / baseline}, NaN when either is missing or the baseline is zero. */
  public static double ratio(double value, double baseline) {
    if (Double.isNaN(value) || Double.isNaN(baseline) || baseline == 0) {
      return Double.NaN;
    }
    return value / baseline;
  }

  /** "2.35×", or "n/a" for NaN. */
  public static String times(double ratio) {
    return Double.isNaN(ratio) || Double.isInfinite(ratio)
        ? "n/a"
        : String.format(Locale.ROOT, ratio >= 100 ? "%.0f×" : "%.2f×", ratio);
  }

  /** Milliseconds as "123 ms" or "4.56 s"; "n/a" for NaN. */
  public static String millis(double ms) {
    if (Double.isNaN(ms)) {
      return "n/a";
    }
    return ms < 10_000
        ? String.format(Locale.ROOT, "%.0f ms", ms)
        : String.format(Locale.ROOT, "%.2f s", ms / 1000);
  }

  /** A plain number with one decimal; "n/a" for NaN. */
  public static String number(double value) {
    return Double.isNaN(value) ? "n/a" : String.format(Locale.ROOT, "%.1f", value);
  }
}
