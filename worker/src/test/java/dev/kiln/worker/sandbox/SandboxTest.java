package dev.kiln.worker.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.worker.testsupport.CacheServiceFixture;
import dev.kiln.worker.testsupport.TestRootfs;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The build sandbox against the real bookworm runtime, real bubblewrap and the real cache-service.
 * Each attack test fails if the attack works.
 */
class SandboxTest {
  @TempDir static Path shared;
  @TempDir Path temp;
  private static Path rootfs;
  private static CacheServiceFixture cache;
  private final Sandbox sandbox = new Sandbox(Sandbox.Settings.defaults());

  @BeforeAll
  static void prepare() throws Exception {
    rootfs = TestRootfs.bookworm();
    cache = CacheServiceFixture.start(shared);
  }

  @AfterAll
  static void stop() {
    if (cache != null) {
      cache.close();
    }
  }

  private SandboxOutcome run(SandboxSpec spec, List<String> output) throws Exception {
    return sandbox.run(spec, line -> output.add(line));
  }

  private SandboxSpec shell(String script) throws Exception {
    Path app = Files.createDirectories(temp.resolve("app"));
    return SandboxSpec.of(rootfs, List.of("/bin/sh", "-c", script))
        .withMount(SandboxSpec.Mount.writable(app, "/app"))
        .withEnvironment(Map.of("PATH", "/usr/local/bin:/usr/bin:/bin", "HOME", "/app"));
  }

  @Test
  void aStepRunsAsTheNonRootAppUserWithTheRuntimesPythonAndOnlyItsOwnEnvironment()
      throws Exception {
    List<String> output = new ArrayList<>();
    SandboxOutcome outcome =
        run(
            shell("id -u; id -g; python3 --version; env | sort; echo > /app/written")
                .withEnvironment(Map.of("GREETING", "hello")),
            output);

    assertThat(outcome.succeeded()).as(String.join("\n", output)).isTrue();
    assertThat(output).startsWith("1000", "1000", "Python 3.11.2").contains("GREETING=hello");
    assertThat(output)
        .noneMatch(line -> line.startsWith("JAVA_HOME=") || line.startsWith("MAVEN"))
        .noneMatch(line -> line.startsWith("KILN_SANDBOX_"));
    assertThat(temp.resolve("app/written")).exists();
  }

  @Test
  void attackReadingAHostTokenFileTheWorkerCanReadFails() throws Exception {
    String secret = "farm-token-" + UUID.randomUUID();
    Path credentials = Files.createDirectories(temp.resolve("farm-credentials"));
    Path token = Files.writeString(credentials.resolve("token"), secret);
    Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-------"));
    assertThat(Files.readString(token)).isEqualTo(secret);
    List<String> output = new ArrayList<>();

    run(
        shell(
            "cat "
                + token
                + "; cat /proc/1/root"
                + token
                + "; grep -r farm-token- /proc/*/environ /etc /root /tmp 2>/dev/null; ls -la "
                + credentials),
        output);

    assertThat(String.join("\n", output)).doesNotContain(secret);
  }

  @Test
  void attackReachingAnAddressOtherThanTheIndexFails() throws Exception {
    AtomicInteger accepted = new AtomicInteger();
    try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Thread acceptor =
          new Thread(
              () -> {
                while (!listener.isClosed()) {
                  try {
                    listener.accept().close();
                    accepted.incrementAndGet();
                  } catch (Exception closed) {
                    return;
                  }
                }
              });
      acceptor.setDaemon(true);
      acceptor.start();
      List<String> addresses = new ArrayList<>(List.of("127.0.0.1"));
      for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
        nic.inetAddresses()
            .filter(a -> a instanceof java.net.Inet4Address && !a.isLoopbackAddress())
            .forEach(a -> addresses.add(a.getHostAddress()));
      }
      String attempts =
          addresses.stream()
              .map(
                  address ->
                      "try:\n"
                          + "    socket.create_connection(('"
                          + address
                          + "', "
                          + listener.getLocalPort()
                          + "), 3)\n"
                          + "    print('CONNECTED "
                          + address
                          + "')\n"
                          + "except OSError as e:\n"
                          + "    print('refused "
                          + address
                          + "', e)\n")
              .reduce("import socket\n", String::concat);
      List<String> output = new ArrayList<>();
      SandboxOutcome outcome =
          run(
              shell("python3 - <<'EOF'\n" + attempts + "EOF\n")
                  .withIndex(IndexAccess.anonymous(URI.create(cache.baseUrl()))),
              output);

      assertThat(outcome.succeeded()).as(String.join("\n", output)).isTrue();
      assertThat(output).noneMatch(line -> line.startsWith("CONNECTED"));
      assertThat(output).hasSize(addresses.size());
      assertThat(accepted).hasValue(0);
    }
  }

  @Test
  void theIndexIsReachableButTheStoreIsNot() throws Exception {
    String script =
        """
        import urllib.request, urllib.error
        def status(method, path, body=None):
            request = urllib.request.Request('http://127.0.0.1:3141' + path, data=body, method=method)
            try:
                return urllib.request.urlopen(request, timeout=10).status
            except urllib.error.HTTPError as e:
                return e.code
        print('index', status('GET', '/simple/'))
        print('put-ac', status('PUT', '/ac/' + 'a' * 64, b'{"blobs": []}'))
        print('get-cas', status('GET', '/cas/' + 'b' * 64))
        print('escape', status('GET', '/simple/../cas/' + 'b' * 64))
        print('health', status('GET', '/health'))
        """;
    List<String> output = new ArrayList<>();
    SandboxOutcome outcome =
        run(
            shell("python3 - <<'EOF'\n" + script + "EOF\n")
                .withIndex(IndexAccess.anonymous(URI.create(cache.baseUrl()))),
            output);

    assertThat(outcome.succeeded()).as(String.join("\n", output)).isTrue();
    assertThat(output)
        .contains("index 200", "put-ac 403", "get-cas 403", "escape 403", "health 403");
    assertThat(output)
        .anySatisfy(
            line -> assertThat(line).startsWith("Refused a request from the build sandbox"));
  }

  @Test
  void withoutTheIndexThereIsNoNetworkAtAll() throws Exception {
    List<String> output = new ArrayList<>();
    run(
        shell(
            "python3 -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:3141/simple/', timeout=3)\""
                + " 2>&1 | tail -1"),
        output);

    assertThat(output).anySatisfy(line -> assertThat(line).contains("Connection refused"));
  }

  @Test
  void aStepPastItsTimeLimitIsKilledWithEverythingItStarted() throws Exception {
    String marker = "kiln-marker-" + UUID.randomUUID().toString().substring(0, 8);
    List<String> output = new ArrayList<>();
    SandboxOutcome outcome =
        run(
            shell(
                    "python3 -c 'import time; time.sleep(1000)' "
                        + marker
                        + " & python3 -c 'import time; time.sleep(1000)' "
                        + marker)
                .withLimits(SandboxLimits.defaults().withTime(Duration.ofSeconds(2))),
            output);

    assertThat(outcome.ending()).isEqualTo(SandboxOutcome.Ending.TIMED_OUT);
    assertThat(outcome.succeeded()).isFalse();
    assertThat(
            ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().orElse("").contains(marker))
                .toList())
        .isEmpty();
  }

  @Test
  void aStepOverItsMemoryLimitIsKilledAsOutOfMemory() throws Exception {
    List<String> output = new ArrayList<>();
    SandboxOutcome outcome =
        run(
            shell(
                    "python3 -c \"blocks = [bytearray(16 << 20) for _ in range(64)]; print('survived')\"")
                .withLimits(SandboxLimits.defaults().withMemoryBytes(128L << 20)),
            output);

    assertThat(output).doesNotContain("survived");
    assertThat(outcome.succeeded()).isFalse();
    if (sandbox.limitsEnforcedBy().startsWith("cgroup")) {
      assertThat(outcome.ending()).isEqualTo(SandboxOutcome.Ending.OUT_OF_MEMORY);
    }
  }

  @Test
  void withoutCgroupsMemoryIsStillBoundedByPrlimit() throws Exception {
    Sandbox fallback = new Sandbox(Sandbox.Settings.defaults().withoutCgroups());
    List<String> output = new ArrayList<>();
    SandboxOutcome outcome =
        fallback.run(
            shell(
                    "python3 -c \"blocks = [bytearray(16 << 20) for _ in range(64)]; print('survived')\"")
                .withLimits(SandboxLimits.defaults().withMemoryBytes(128L << 20)),
            output::add);

    assertThat(fallback.limitsEnforcedBy()).isEqualTo("prlimit");
    assertThat(output)
        .doesNotContain("survived")
        .anySatisfy(l -> assertThat(l).contains("MemoryError"));
    assertThat(outcome.succeeded()).isFalse();
  }

  @Test
  void theRuntimeAndReadOnlyMountsCannotBeWritten() throws Exception {
    Path deps = Files.createDirectories(temp.resolve("deps"));
    Files.writeString(deps.resolve("dep.py"), "X = 1\n");
    List<String> output = new ArrayList<>();
    run(
        shell(
                "echo x > /opt/kiln/deps/dep.py || echo deps-read-only;"
                    + " echo x > /usr/lib/python3.11/os.py || echo runtime-read-only;"
                    + " echo x > /tmp/scratch && echo tmp-writable")
            .withMount(SandboxSpec.Mount.readOnly(deps, "/opt/kiln/deps")),
        output);

    assertThat(output).contains("deps-read-only", "runtime-read-only", "tmp-writable");
    assertThat(Files.readString(deps.resolve("dep.py"))).isEqualTo("X = 1\n");
    assertThat(Files.readString(rootfs.resolve("usr/lib/python3.11/os.py"))).doesNotStartWith("x");
  }

  @Test
  void outputBeyondTheLimitIsCountedNotShown() throws Exception {
    List<String> output = new ArrayList<>();
    SandboxOutcome outcome =
        run(
            shell("for i in $(seq 1 50); do echo line $i; done")
                .withLimits(new SandboxLimits(Duration.ofMinutes(1), 1L << 30, 1, 64, 10)),
            output);

    assertThat(output).hasSize(11).startsWith("line 1").endsWith(output.get(10));
    assertThat(output.get(10)).contains("more output than the 10 lines");
    assertThat(outcome.hiddenLines()).isEqualTo(40);
    assertThat(outcome.tail()).endsWith("line 50");
  }

  @Test
  void aRootFileSystemWithoutTheMountPointsIsASetupFailure() throws Exception {
    Path bare = Files.createDirectories(temp.resolve("bare-rootfs"));

    assertThatThrownBy(() -> sandbox.run(SandboxSpec.of(bare, List.of("true")), line -> {}))
        .isInstanceOf(SandboxException.class)
        .hasMessageContaining("has no directory /app");
  }
}
