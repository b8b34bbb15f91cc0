package dev.kiln.worker.assemble;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the real launcher script with {@code /bin/sh} against fake cgroup and meminfo files. */
class LauncherTest {
  @TempDir Path dir;
  private Path script;
  private Path cgroup;
  private Path meminfo;

  @BeforeEach
  void setUp() throws IOException {
    script = Launcher.materialize(dir.resolve("launcher"));
    cgroup = Files.createDirectories(dir.resolve("cgroup"));
    meminfo = dir.resolve("meminfo");
    writeMeminfoMegabytes(8192);
  }

  private void writeMeminfoMegabytes(long megabytes) throws IOException {
    Files.writeString(
        meminfo, "MemTotal:       " + megabytes * 1024 + " kB\n" + "MemFree:         1000 kB\n");
  }

  private void write(String relative, String content) throws IOException {
    Path file = cgroup.resolve(relative);
    Files.createDirectories(file.getParent());
    Files.writeString(file, content);
  }

  private Result launch(Map<String, String> env, String... command) throws Exception {
    List<String> arguments = new ArrayList<>(List.of("/bin/sh", script.toString()));
    arguments.addAll(List.of(command));
    ProcessBuilder builder = new ProcessBuilder(arguments);
    builder.environment().remove("WEB_CONCURRENCY");
    builder.environment().put("KILN_CGROUP_ROOT", cgroup.toString());
    builder.environment().put("KILN_MEMINFO", meminfo.toString());
    builder.environment().putAll(env);
    Process process = builder.start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return new Result(process.exitValue(), out.strip(), err.strip());
  }

  private record Result(int exit, String out, String err) {}

  private String concurrency() throws Exception {
    Result result = launch(Map.of(), "echo $WEB_CONCURRENCY");
    assertThat(result.exit()).as(result.err()).isZero();
    return result.out();
  }

  @Test
  void cgroupV2MemoryLimitBoundsTheWorkers() throws Exception {
    write("memory.max", "1073741824\n");
    write("cpu.max", "400000 100000\n");

    assertThat(concurrency()).isEqualTo("4"); // 1024 MB / 256 = 4 < 2·4+1
  }

  @Test
  void cgroupV2CpuQuotaBoundsTheWorkers() throws Exception {
    write("memory.max", "8589934592\n");
    write("cpu.max", "150000 100000\n");

    assertThat(concurrency()).isEqualTo("5"); // 1.5 cores round up to 2: 2·2+1 = 5 < 8192/256
  }

  @Test
  void unlimitedCgroupV2MemoryFallsBackToMeminfo() throws Exception {
    write("memory.max", "max\n");
    write("cpu.max", "max 100000\n");
    writeMeminfoMegabytes(512);

    assertThat(concurrency()).isEqualTo("2"); // 512 MB / 256 = 2 <= 2·cores+1 for any core count
  }

  @Test
  void cgroupV1LimitsAreReadToo() throws Exception {
    write("memory/memory.limit_in_bytes", "9223372036854771712\n");
    write("cpu/cpu.cfs_quota_us", "100000\n");
    write("cpu/cpu.cfs_period_us", "100000\n");

    assertThat(concurrency()).isEqualTo("3"); // unlimited memory (8 GB host); 1 core: 2·1+1
  }

  @Test
  void tinyContainersStillGetOneWorker() throws Exception {
    write("memory.max", "104857600\n");
    write("cpu.max", "100000 100000\n");

    assertThat(concurrency()).isEqualTo("1");
  }

  @Test
  void webConcurrencyTheAppSetIsKept() throws Exception {
    write("memory.max", "104857600\n");

    Result result = launch(Map.of("WEB_CONCURRENCY", "7"), "echo $WEB_CONCURRENCY");

    assertThat(result.out()).isEqualTo("7");
  }

  @Test
  void singleArgumentRunsThroughTheShellSoVariablesExpand() throws Exception {
    Result result = launch(Map.of("PORT", "5000"), "echo serving on $PORT && exit 3");

    assertThat(result.out()).isEqualTo("serving on 5000");
    assertThat(result.exit()).isEqualTo(3);
  }

  @Test
  void severalArgumentsRunAsGiven() throws Exception {
    Result result = launch(Map.of("PORT", "5000"), "printf", "%s|%s", "$PORT", "two words");

    assertThat(result.out()).isEqualTo("$PORT|two words");
  }

  @Test
  void noCommandFailsWithAMessage() throws Exception {
    Result result = launch(Map.of());

    assertThat(result.exit()).isEqualTo(64);
    assertThat(result.err()).contains("no command to run");
  }

  @Test
  void scriptIsWrittenOnceAtAStablePathWithTheFixedTime() throws Exception {
    Path again = Launcher.materialize(dir.resolve("launcher"));

    assertThat(again).isEqualTo(script);
    assertThat(Files.getLastModifiedTime(script).toInstant()).isEqualTo(ImageLayers.FIXED_MTIME);
    assertThat(Files.isExecutable(script)).isTrue();
  }
}
