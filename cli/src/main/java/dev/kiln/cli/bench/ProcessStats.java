package dev.kiln.cli.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** CPU time from {@code /proc/<pid>/stat} and used heap from {@code jstat -gc}. */
final class ProcessStats {
  private ProcessStats() {}

  /** utime + stime of a {@code /proc/<pid>/stat} line, in clock ticks. */
  static long cpuTicks(String statLine) {
    // The command name (field 2) is in parentheses and may hold spaces: count from its end.
    String[] fields = statLine.substring(statLine.lastIndexOf(')') + 2).trim().split("\\s+");
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
  }

  /** The process's CPU time so far in milliseconds. */
  static double cpuMillis(long pid) {
    try {
      String line = Files.readString(Path.of("/proc", String.valueOf(pid), "stat"));
      return cpuTicks(line) * 1000.0 / clockTicksPerSecond();
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
  }

  private static volatile long ticks;

  static long clockTicksPerSecond() {
    if (ticks == 0) {
      long value = 100;
      Shell.Result result = Shell.run(null, "getconf", "CLK_TCK");
      if (result.exit() == 0) {
        try {
          value = Long.parseLong(result.output().strip());
        } catch (NumberFormatException e) {
          // keep 100, Linux's USER_HZ
        }
      }
      ticks = value;
    }
    return ticks;
  }

  /**
   * Used heap in KiB from one {@code jstat -gc} sample: survivors, eden and old used (S0U + S1U +
   * EU + OU); -1 when the line is not a sample.
   */
  static long usedHeapKib(String header, String sample) {
    List<String> names = List.of(header.trim().split("\\s+"));
    String[] values = sample.trim().split("\\s+");
    if (values.length != names.size()) {
      return -1;
    }
    double used = 0;
    for (String column : List.of("S0U", "S1U", "EU", "OU")) {
      int i = names.indexOf(column);
      if (i < 0) {
        return -1;
      }
      try {
        used += Double.parseDouble(values[i]);
      } catch (NumberFormatException e) {
        return -1;
      }
    }
    return Math.round(used);
  }

  /** Samples a process's used heap every {@code intervalMillis} with jstat until closed. */
  static final class HeapSampler implements AutoCloseable {
    private final Process jstat;
    private final Thread reader;
    private final AtomicLong peak = new AtomicLong(-1);
    private final AtomicLong samples = new AtomicLong();
    private final AtomicLong sum = new AtomicLong();

    HeapSampler(long pid, long intervalMillis) throws IOException {
      jstat =
          new ProcessBuilder(
                  "jstat", "-gc", String.valueOf(pid), String.valueOf(intervalMillis) + "ms")
              .redirectErrorStream(true)
              .start();
      reader =
          new Thread(
              () -> {
                try (BufferedReader lines =
                    new BufferedReader(
                        new InputStreamReader(jstat.getInputStream(), StandardCharsets.UTF_8))) {
                  String header = null;
                  String line;
                  while ((line = lines.readLine()) != null) {
                    if (line.trim().startsWith("S0C")) {
                      header = line;
                    } else if (header != null) {
                      long used = usedHeapKib(header, line);
                      if (used >= 0) {
                        peak.accumulateAndGet(used, Math::max);
                        samples.incrementAndGet();
                        sum.addAndGet(used);
                      }
                    }
                  }
                } catch (IOException e) {
                  // jstat ended
                }
              },
              "bench-jstat");
      reader.setDaemon(true);
      reader.start();
    }

    /** The highest used heap seen, KiB; -1 without a sample. */
    long peakKib() {
      return peak.get();
    }

    double meanKib() {
      long n = samples.get();
      return n == 0 ? Double.NaN : (double) sum.get() / n;
    }

    long samples() {
      return samples.get();
    }

    @Override
    public void close() throws InterruptedException {
      jstat.destroy();
      reader.join(5000);
    }
  }
}
