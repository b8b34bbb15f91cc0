package dev.kiln.worker.fetch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.testkit.GitRepo;
import dev.kiln.worker.fs.BackgroundDeleter;
import dev.kiln.worker.steps.StepFailure;
import dev.kiln.worker.testsupport.RecordingLog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SourceFetcherTest {
  @TempDir Path tmp;
  private BackgroundDeleter deleter;
  private GitRepo repo;
  private String first;
  private String second;

  @BeforeEach
  void makeRepository() throws Exception {
    deleter = new BackgroundDeleter(tmp.resolve("work/trash"));
    repo = GitRepo.init(tmp.resolve("repos/acme/app"));
    first = repo.commit(Map.of("requirements.txt", "flask==3.0.0\n", "app.py", "v1\n"), "first");
    second = repo.commit(Map.of("app.py", "v2\n"), "second");
  }

  @AfterEach
  void stopDeleter() throws Exception {
    deleter.awaitIdle(30, TimeUnit.SECONDS);
    deleter.close();
  }

  private SourceFetcher fetcher(Map<String, String> gitConfig) {
    return fetcher(FetchLimits.DEFAULT, gitConfig);
  }

  private SourceFetcher fetcher(FetchLimits limits) {
    return fetcher(limits, Map.of());
  }

  private SourceFetcher fetcher(FetchLimits limits, Map<String, String> gitConfig) {
    return new SourceFetcher(
        tmp.resolve("work"),
        deleter,
        Duration.ofMinutes(1),
        tmp.resolve("repos"),
        limits,
        gitConfig);
  }

  @Test
  void checksALocalCommitOutInProcessWithGitsModesAndLinksAndNoGitDirectory() throws Exception {
    Files.createDirectories(repo.dir().resolve("bin"));
    Files.writeString(repo.dir().resolve("bin/post_compile"), "#!/bin/sh\necho hi\n");
    repo.dir().resolve("bin/post_compile").toFile().setExecutable(true);
    Files.createSymbolicLink(repo.dir().resolve("link.py"), Path.of("app.py"));
    String third = repo.commit(Map.of(), "modes and a link");

    Path checkout = fetcher(Map.of()).fetch("acme", repo.url(), third, new RecordingLog());

    assertThat(Files.readString(checkout.resolve("app.py"))).isEqualTo("v2\n");
    assertThat(
            java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(checkout.resolve("bin/post_compile"))))
        .isEqualTo("rwxr-xr-x");
    assertThat(
            java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(checkout.resolve("app.py"))))
        .isEqualTo("rw-r--r--");
    assertThat(Files.readSymbolicLink(checkout.resolve("link.py"))).isEqualTo(Path.of("app.py"));
    assertThat(checkout.resolve(".git")).doesNotExist();
  }

  @Test
  void fetchesAnOlderCommitBySha_shallowly() throws Exception {
    Path checkout =
        fetcher(Map.of()).commandLineOnly().fetch("acme", repo.url(), first, new RecordingLog());

    assertThat(checkout).isEqualTo(fetcher(Map.of()).checkoutDir("acme", repo.url(), first));
    assertThat(checkout).startsWith(tmp.resolve("work/sources/acme"));
    assertThat(Files.readString(checkout.resolve("app.py"))).isEqualTo("v1\n");
    assertThat(GitRepo.run(checkout, "rev-list", "--count", "HEAD").strip()).isEqualTo("1");
    assertThat(GitRepo.run(checkout, "rev-parse", "HEAD").strip()).isEqualTo(first);
  }

  @Test
  void reusesACompleteCheckoutWithoutCallingTheServer() throws Exception {
    SourceFetcher fetcher = fetcher(Map.of());
    Path checkout = fetcher.fetch("acme", repo.url(), second, new RecordingLog());
    Files.writeString(checkout.resolve("marker"), "still here");
    BackgroundDeleter.deleteTree(repo.dir());

    RecordingLog log = new RecordingLog();
    Path again = fetcher.fetch("acme", repo.url(), second, log);

    assertThat(again).isEqualTo(checkout);
    assertThat(again.resolve("marker")).exists();
    assertThat(log.text()).contains("Reusing the checkout");
  }

  @Test
  void concurrentFetchesOfOneCommitAllSucceedWithOneCheckout() throws Exception {
    SourceFetcher fetcher = fetcher(Map.of());
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(6);
    try {
      java.util.List<java.util.concurrent.Future<Path>> fetches = new java.util.ArrayList<>();
      for (int i = 0; i < 6; i++) {
        fetches.add(
            pool.submit(() -> fetcher.fetch("acme", repo.url(), first, new RecordingLog())));
      }
      for (var fetch : fetches) {
        assertThat(fetch.get(60, TimeUnit.SECONDS))
            .isEqualTo(fetcher.checkoutDir("acme", repo.url(), first));
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(Files.readString(fetcher.checkoutDir("acme", repo.url(), first).resolve("app.py")))
        .isEqualTo("v1\n");
  }

  @Test
  void keepsCheckoutsOfDifferentTenantsApart() throws Exception {
    // globex has its own copy of the same history, so the commit ids are the same.
    Path globexRepo = tmp.resolve("repos/globex/app.git");
    GitRepo.run(tmp, "clone", "--quiet", "--bare", repo.dir().toString(), globexRepo.toString());
    SourceFetcher fetcher = fetcher(Map.of());
    Path forAcme = fetcher.fetch("acme", repo.url(), second, new RecordingLog());
    Path forGlobex =
        fetcher.fetch("globex", globexRepo.toUri().toString(), second, new RecordingLog());

    assertThat(forGlobex).isNotEqualTo(forAcme);
    assertThat(Files.readString(forGlobex.resolve("app.py"))).isEqualTo("v2\n");
  }

  @Test
  void fallsBackToACloneWhenTheServerRefusesCommitsById() throws Exception {
    // Protocol v0 upload-pack refuses "want <sha>" for unadvertised commits, like older servers.
    SourceFetcher fetcher = fetcher(Map.of("protocol.version", "0")).commandLineOnly();
    RecordingLog log = new RecordingLog();

    Path checkout = fetcher.fetch("acme", repo.url(), first, log);

    assertThat(Files.readString(checkout.resolve("app.py"))).isEqualTo("v1\n");
    assertThat(GitRepo.run(checkout, "rev-parse", "HEAD").strip()).isEqualTo(first);
    assertThat(log.text()).contains("does not serve commits by id");
  }

  @Test
  void aMissingCommitFailsWithFetchFailedAndLeavesNoCheckout() throws Exception {
    String unknown = "0123456789abcdef0123456789abcdef01234567";

    assertThatThrownBy(
            () -> fetcher(Map.of()).fetch("acme", repo.url(), unknown, new RecordingLog()))
        .isInstanceOf(StepFailure.class)
        .satisfies(e -> assertThat(((StepFailure) e).code()).isEqualTo("fetch::failed"))
        .hasMessageContaining(unknown)
        .hasMessageContaining("push it first");
    assertThat(fetcher(Map.of()).checkoutDir("acme", repo.url(), unknown)).doesNotExist();
  }

  @Test
  void credentialsInTheUrlNeverReachTheMessage() {
    String url = "https://kiln-bot:s3cr3t-t0ken@127.0.0.1:1/acme/app.git";

    assertThatThrownBy(() -> fetcher(Map.of()).fetch("acme", url, first, new RecordingLog()))
        .isInstanceOf(StepFailure.class)
        .hasMessageContaining("https://***@127.0.0.1:1/acme/app.git")
        .hasMessageNotContaining("s3cr3t")
        .hasMessageNotContaining("kiln-bot");
  }

  @Test
  void redactsUserInfoOfEveryUrlInText() {
    assertThat(
            SourceFetcher.redact(
                "fatal: unable to access 'https://u:p@h/x/': 403 and ssh://me@h2/y"))
        .isEqualTo("fatal: unable to access 'https://***@h/x/': 403 and ssh://***@h2/y");
    assertThat(SourceFetcher.redact("git@github.com:acme/app.git"))
        .isEqualTo("git@github.com:acme/app.git");
  }
}
