package dev.kiln.worker.fetch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.testkit.GitRepo;
import dev.kiln.worker.fs.BackgroundDeleter;
import dev.kiln.worker.steps.StepFailure;
import dev.kiln.worker.testsupport.RecordingLog;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Repositories a hostile tenant would name. Each test fails if the attack works: the fetch must
 * fail with its code, and no checkout (finished or partial) may be left behind.
 */
class SourceAttackTest {
  @TempDir Path tmp;
  private BackgroundDeleter deleter;
  private Path root;
  private GitRepo acme;
  private String acmeCommit;
  private GitRepo globex;
  private String globexCommit;

  @BeforeEach
  void repositories() throws Exception {
    deleter = new BackgroundDeleter(tmp.resolve("work/trash"));
    root = tmp.resolve("repos");
    acme = GitRepo.init(root.resolve("acme/app"));
    acmeCommit = acme.commit(Map.of("app.py", "acme\n"), "acme's app");
    globex = GitRepo.init(root.resolve("globex/app"));
    globexCommit = globex.commit(Map.of("secret.py", "globex's secret\n"), "globex's app");
  }

  @AfterEach
  void nothingLeftBehind() throws Exception {
    deleter.awaitIdle(30, TimeUnit.SECONDS);
    deleter.close();
    Path inProgress = tmp.resolve("work/sources-in-progress");
    if (Files.isDirectory(inProgress)) {
      try (Stream<Path> left = Files.list(inProgress)) {
        assertThat(left.toList()).as("partial checkouts left behind").isEmpty();
      }
    }
  }

  private SourceFetcher fetcher(FetchLimits limits) {
    return new SourceFetcher(
        tmp.resolve("work"), deleter, Duration.ofMinutes(1), root, limits, Map.of());
  }

  private SourceFetcher fetcher() {
    return fetcher(FetchLimits.DEFAULT);
  }

  private static void assertFailsWith(ThrowingFetch fetch, String code, String... messageParts) {
    assertThatThrownBy(fetch::run)
        .isInstanceOfSatisfying(StepFailure.class, e -> assertThat(e.code()).isEqualTo(code))
        .satisfies(
            e -> {
              for (String part : messageParts) {
                assertThat(e.getMessage()).contains(part);
              }
            });
  }

  @FunctionalInterface
  private interface ThrowingFetch {
    void run() throws Exception;
  }

  /** Every checkout directory under {@code work/sources} (tenant/key/commit). */
  private List<Path> checkouts() throws IOException {
    Path sources = tmp.resolve("work/sources");
    if (!Files.isDirectory(sources)) {
      return List.of();
    }
    try (Stream<Path> all = Files.walk(sources, 3)) {
      return all.filter(p -> sources.relativize(p).getNameCount() == 3).toList();
    }
  }

  @Test
  void aTenantCannotFetchAnotherTenantsFileRepository() throws Exception {
    String[] attacks = {
      globex.url(),
      globex.dir().toString(),
      "file://" + root + "/acme/../globex/app",
      root + "/acme/../globex/app",
      "file://localhost" + root + "/globex/app",
      "file://" + root + "/acme/../../repos/globex/app/.git",
    };
    for (String url : attacks) {
      assertFailsWith(
          () -> fetcher().fetch("acme", url, globexCommit, new RecordingLog()),
          SourcePolicy.NOT_ALLOWED,
          "may fetch local repositories only under",
          root.toRealPath().resolve("acme").toString());
    }
    assertThat(checkouts()).isEmpty();
  }

  @Test
  void aSymlinkOutOfTheTenantsNamespaceIsRefused() throws Exception {
    Path link = Files.createSymbolicLink(root.resolve("acme/borrowed"), globex.dir());
    Path linkedParent =
        Files.createSymbolicLink(root.resolve("acme/everyone"), root.toAbsolutePath());

    assertFailsWith(
        () -> fetcher().fetch("acme", link.toUri().toString(), globexCommit, new RecordingLog()),
        SourcePolicy.NOT_ALLOWED);
    assertFailsWith(
        () ->
            fetcher()
                .fetch(
                    "acme",
                    "file://" + linkedParent + "/globex/app",
                    globexCommit,
                    new RecordingLog()),
        SourcePolicy.NOT_ALLOWED);
    assertThat(checkouts()).isEmpty();
  }

  @Test
  void aWorkerWithoutASourceRootFetchesNoLocalRepository() {
    SourceFetcher noRoot = new SourceFetcher(tmp.resolve("work"), deleter, Duration.ofMinutes(1));

    assertFailsWith(
        () -> noRoot.fetch("acme", acme.url(), acmeCommit, new RecordingLog()),
        SourcePolicy.NOT_ALLOWED,
        "no local repositories");
  }

  @Test
  void gitRemoteHelpersAndOtherSchemesAreRefused() throws Exception {
    Path marker = tmp.resolve("pwned-" + UUID.randomUUID());
    for (String url :
        List.of(
            "ext::sh -c touch% " + marker,
            "ext::sh -c 'touch " + marker + "'",
            "fd::3",
            "ftp://example.com/app.git",
            "-uhttps://example.com/app.git",
            "--upload-pack=touch " + marker,
            "ssh://-oProxyCommand=touch%20" + marker + "/x",
            "relative/path")) {
      assertFailsWith(
          () -> fetcher().fetch("acme", url, acmeCommit, new RecordingLog()),
          SourcePolicy.NOT_ALLOWED);
    }
    assertThat(marker).doesNotExist();
  }

  @Test
  void theSameCommitFromAnotherUrlIsNotReused() throws Exception {
    SourceFetcher fetcher = fetcher();
    Path fromApp = fetcher.fetch("acme", acme.url(), acmeCommit, new RecordingLog());
    // Another repository of the same tenant that does not have the commit: naming the commit must
    // not hand out the checkout made from the first repository.
    GitRepo other = GitRepo.init(root.resolve("acme/other"));
    other.commit(Map.of("other.py", "x\n"), "unrelated");

    RecordingLog log = new RecordingLog();
    assertFailsWith(
        () -> fetcher.fetch("acme", other.url(), acmeCommit, log), SourceFetcher.FAILED);
    assertThat(log.text()).doesNotContain("Reusing");

    // A fork that has it gets a checkout of its own.
    Path fork = root.resolve("acme/fork.git");
    GitRepo.run(tmp, "clone", "--quiet", "--bare", acme.dir().toString(), fork.toString());
    RecordingLog forkLog = new RecordingLog();
    Path fromFork = fetcher.fetch("acme", fork.toUri().toString(), acmeCommit, forkLog);
    assertThat(fromFork).isNotEqualTo(fromApp);
    assertThat(forkLog.text()).contains("Fetching").doesNotContain("Reusing");
  }

  @Test
  void attackATreeWithAGitDirectoryCannotPlantGitConfigurationInTheCheckout() throws Exception {
    Path content = tmp.resolve("content");
    Files.writeString(content, "[core]\n\tfsmonitor = touch /tmp/kiln-pwned\n");
    String blob = acme.git("hash-object", "-w", content.toString()).strip();
    String config = hashLiterally(acme, "tree", entry("100644", "config", blob));
    String tree =
        hashLiterally(
            acme, "tree", entry("40000", ".GIT", config), entry("100644", "app.py", blob));
    String commit = commitTree(acme, tree);

    assertFailsWith(
        () -> fetcher().fetch("acme", acme.url(), commit, new RecordingLog()),
        SourceFetcher.FAILED,
        "refuses to check out",
        "'.GIT'");
    assertThat(checkouts()).isEmpty();
  }

  @Test
  void attackALinkAndADirectoryOfOneNameCannotWriteThroughTheLink() throws Exception {
    Path outside = Files.createDirectories(tmp.resolve("outside"));
    Path linkTarget = tmp.resolve("link-target");
    Files.writeString(linkTarget, outside.toString());
    String target = acme.git("hash-object", "-w", linkTarget.toString()).strip();
    Path payload = tmp.resolve("payload");
    Files.writeString(payload, "pwned\n");
    String pwned = acme.git("hash-object", "-w", payload.toString()).strip();
    String inner = hashLiterally(acme, "tree", entry("100644", "pwned.txt", pwned));
    String tree =
        hashLiterally(acme, "tree", entry("120000", "evil", target), entry("40000", "evil", inner));
    String commit = commitTree(acme, tree);

    assertFailsWith(
        () -> fetcher().fetch("acme", acme.url(), commit, new RecordingLog()),
        SourceFetcher.FAILED,
        "'evil' appears twice");
    assertThat(outside.resolve("pwned.txt")).doesNotExist();
    assertThat(checkouts()).isEmpty();
  }

  /** One raw tree entry: {@code <mode> <name>\0<20-byte id>}. */
  private static byte[] entry(String mode, String name, String hexId) {
    byte[] head = (mode + " " + name + "\0").getBytes(java.nio.charset.StandardCharsets.UTF_8);
    byte[] id = java.util.HexFormat.of().parseHex(hexId);
    byte[] all = java.util.Arrays.copyOf(head, head.length + id.length);
    System.arraycopy(id, 0, all, head.length, id.length);
    return all;
  }

  /** Writes an object git's own checks would refuse, as a hostile repository can hold one. */
  private String hashLiterally(GitRepo repo, String type, byte[]... entries) throws Exception {
    java.io.ByteArrayOutputStream raw = new java.io.ByteArrayOutputStream();
    for (byte[] entry : entries) {
      raw.write(entry);
    }
    Path file = Files.createTempFile(tmp, "object", ".raw");
    Files.write(file, raw.toByteArray());
    return repo.git("hash-object", "-w", "--literally", "-t", type, file.toString()).strip();
  }

  private static String commitTree(GitRepo repo, String tree) throws Exception {
    return repo.git(
            "-c",
            "user.name=Mallory",
            "-c",
            "user.email=m@example.com",
            "commit-tree",
            tree,
            "-m",
            "hostile tree")
        .strip();
  }

  @Test
  void aRepositoryWithAHugeFileIsRefused() throws Exception {
    String commit = acme.commit(Map.of("data/huge.bin", "x".repeat(3 << 20)), "a huge file");
    FetchLimits limits = FetchLimits.DEFAULT.withSizes(500L << 20, 20_000, 1L << 20);

    assertFailsWith(
        () -> fetcher(limits).fetch("acme", acme.url(), commit, new RecordingLog()),
        SourceFetcher.FILE_TOO_LARGE,
        "data/huge.bin",
        "1048576");
    assertThat(checkouts()).isEmpty();
  }

  @Test
  void aRepositoryWithTooManyFilesIsRefused() throws Exception {
    Map<String, String> files = new HashMap<>();
    for (int i = 0; i < 60; i++) {
      files.put("many/file" + i + ".txt", "file " + i + "\n");
    }
    String commit = acme.commit(files, "many files");
    FetchLimits limits = FetchLimits.DEFAULT.withSizes(500L << 20, 50, 100L << 20);

    assertFailsWith(
        () -> fetcher(limits).fetch("acme", acme.url(), commit, new RecordingLog()),
        SourceFetcher.TOO_MANY_FILES,
        "61 files",
        "50");
    assertThat(checkouts()).isEmpty();
  }

  @Test
  void aRepositoryLargerThanTheLimitIsRefused() throws Exception {
    Random random = new Random(7);
    Map<String, String> files = new HashMap<>();
    for (int i = 0; i < 4; i++) {
      byte[] noise = new byte[300 << 10];
      random.nextBytes(noise);
      files.put("noise" + i + ".txt", java.util.Base64.getEncoder().encodeToString(noise));
    }
    String commit = acme.commit(files, "incompressible data");
    FetchLimits limits = FetchLimits.DEFAULT.withSizes(1L << 20, 20_000, 100L << 20);

    assertFailsWith(
        () -> fetcher(limits).fetch("acme", acme.url(), commit, new RecordingLog()),
        SourceFetcher.TOO_LARGE,
        "1048576");
    assertThat(checkouts()).isEmpty();
  }

  @Test
  void aBlackHoleRepositoryFailsInSecondsNotMinutes() throws Exception {
    FetchLimits limits =
        FetchLimits.DEFAULT.withTimeouts(
            Duration.ofSeconds(2), 1024, Duration.ofSeconds(2), Duration.ofSeconds(30));
    try (BlackHole hole = new BlackHole()) {
      assertFailsWith(
          () ->
              fetcher(limits)
                  .fetch(
                      "acme",
                      "http://127.0.0.1:" + hole.port() + "/acme/app.git",
                      acmeCommit,
                      new RecordingLog()),
          SourceFetcher.TIMEOUT,
          "timed out");
      assertFailsWith(
          () ->
              fetcher(limits)
                  .fetch(
                      "acme",
                      "git://127.0.0.1:" + hole.port() + "/acme/app.git",
                      acmeCommit,
                      new RecordingLog()),
          SourceFetcher.TIMEOUT,
          "timed out");
      assertThat(hole.accepted()).isGreaterThanOrEqualTo(2);
    }
    assertThat(checkouts()).isEmpty();
  }

  /** Accepts TCP connections on 127.0.0.1 and never says a word. */
  private static final class BlackHole implements AutoCloseable {
    private final ServerSocket server;
    private final List<Socket> held = new ArrayList<>();
    private final Thread acceptor;

    BlackHole() throws IOException {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      acceptor =
          new Thread(
              () -> {
                while (!server.isClosed()) {
                  try {
                    Socket socket = server.accept();
                    synchronized (held) {
                      held.add(socket);
                    }
                  } catch (IOException e) {
                    return;
                  }
                }
              },
              "black-hole");
      acceptor.setDaemon(true);
      acceptor.start();
    }

    int port() {
      return server.getLocalPort();
    }

    int accepted() {
      synchronized (held) {
        return held.size();
      }
    }

    @Override
    public void close() throws Exception {
      server.close();
      synchronized (held) {
        for (Socket socket : held) {
          socket.close();
        }
      }
      acceptor.join(5000);
    }
  }
}
