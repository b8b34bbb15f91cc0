package dev.kiln.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.events.BuildIds;
import dev.kiln.events.BuildTask;
import dev.kiln.events.TaskKind;
import dev.kiln.events.TaskResult;
import dev.kiln.testkit.GitRepo;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real {@code git push} to the coordinator's git remote, a real broker and scripted workers whose
 * DETECT fetches the pushed commit from the farm's bare repository the way the worker does
 * (shallow, by commit id, over {@code file://}) while the push still waits for its build.
 */
@ExtendWith(SharedKafka.class)
class GitRemoteKafkaTest {
  @TempDir static Path tmp;

  private static Harness harness;
  private static Path sourceRoot;
  private static int port;
  private static final List<String> fetched = new CopyOnWriteArrayList<>();
  private static final long MAX_PUSH_BYTES = 1024 * 1024;
  private static final AtomicReference<BuildTask> heldDetect = new AtomicReference<>();
  private static final List<BuildTask> tasks = new CopyOnWriteArrayList<>();
  private static ScriptedWorkers workers;

  @BeforeAll
  static void startFarm() throws Exception {
    harness = new Harness();
    sourceRoot = tmp.resolve("repos");
    workers = harness.workers(GitRemoteKafkaTest::work);
    CoordinatorVerticle coordinator =
        new CoordinatorVerticle(harness.config().withSourceRoot(sourceRoot))
            .withGitRemote(new GitRemoteConfig(MAX_PUSH_BYTES, Duration.ofSeconds(60), 4));
    harness.deploy(coordinator);
    port = coordinator.actualHttpPort();
  }

  @AfterAll
  static void stopFarm() {
    harness.close();
  }

  /**
   * DETECT fetches the commit as the worker does; an app named "broken" fails its build, and a
   * commit that cannot be fetched fails it with fetch::failed.
   */
  private static TaskResult work(BuildTask task) {
    tasks.add(task);
    if (task.kind() == TaskKind.DETECT) {
      try {
        Path checkout = Files.createTempDirectory(tmp, "checkout-");
        GitRepo.run(checkout, "init", "--quiet");
        GitRepo.run(checkout, "fetch", "--quiet", "--depth", "1", task.repoUrl(), task.commit());
        fetched.add(task.commit());
      } catch (IOException | InterruptedException e) {
        return Fixtures.failed(task, "fetch::failed", e.getMessage());
      }
      if (task.app().equals("slow") && heldDetect.compareAndSet(null, task)) {
        return null; // the first build of "slow" waits in DETECT until a later push arrives
      }
      if (task.app().equals("slow")) {
        workers.publish(ScriptedWorkers.succeedEverything(heldDetect.get()));
      }
      if (task.app().equals("broken")) {
        return Fixtures.failed(
            task, "requirements::unparsable", "requirements.txt line 1 is not a requirement");
      }
    }
    return ScriptedWorkers.succeedEverything(task);
  }

  private record GitResult(int exit, String output) {}

  private static GitResult git(Path dir, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("git"));
    command.addAll(List.of(args));
    ProcessBuilder builder =
        new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
    Map<String, String> env = builder.environment();
    env.put("GIT_TERMINAL_PROMPT", "0");
    env.put("GIT_CONFIG_NOSYSTEM", "1");
    env.put("GIT_CONFIG_GLOBAL", "/dev/null");
    env.put("GIT_ASKPASS", "");
    env.remove("SSH_ASKPASS");
    Process process = builder.start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
    return new GitResult(process.exitValue(), output);
  }

  private static GitResult gitWithInput(Path dir, String input, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("git"));
    command.addAll(List.of(args));
    ProcessBuilder builder =
        new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
    builder.environment().put("GIT_TERMINAL_PROMPT", "0");
    builder.environment().put("GIT_CONFIG_NOSYSTEM", "1");
    builder.environment().put("GIT_CONFIG_GLOBAL", "/dev/null");
    Process process = builder.start();
    process.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
    process.getOutputStream().close();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return new GitResult(process.exitValue(), output);
  }

  private static String remote(String token, String tenant, String app) {
    String credentials = token == null ? "" : "git:" + token + "@";
    return "http://" + credentials + "127.0.0.1:" + port + "/git/" + tenant + "/" + app + ".git";
  }

  private static GitRepo app(String name, Map<String, String> files) throws Exception {
    GitRepo repo = GitRepo.init(Files.createTempDirectory(tmp, name + "-"));
    repo.commit(files, "the app");
    return repo;
  }

  private static GitRepo app(String name) throws Exception {
    return app(name, Map.of("app.py", "print('hi')\n", "requirements.txt", "flask\n"));
  }

  @Test
  void aPushBuildsTheCommitAndStreamsItsLogAndDigest() throws Exception {
    GitRepo repo = app("web");
    String commit = repo.git("rev-parse", "HEAD").strip();

    GitResult push =
        git(repo.dir(), "push", remote(TestSecurity.ACME_TOKEN, "acme", "web"), "main");

    System.out.println(push.output()); // what the pushing terminal shows, for the docs
    assertThat(push.exit()).as(push.output()).isZero();
    assertThat(push.output())
        .contains("remote: -----> Building acme/web main@" + commit.substring(0, 12))
        .contains("remote: -----> Build " + BuildIds.of("acme", "web", commit) + " succeeded")
        .contains("remote: -----> Image: registry.test/acme/web:" + commit.substring(0, 12))
        .contains("remote: -----> Digest: sha256:" + "e".repeat(64))
        .contains("* [new branch]      main -> main");
    assertThat(fetched).contains(commit);
    Path bare = sourceRoot.resolve("acme").resolve("web.git");
    assertThat(GitRepo.run(bare, "rev-parse", "refs/heads/main").strip()).isEqualTo(commit);

    // The same commit again: nothing to push, git says so and nothing is built twice.
    GitResult again =
        git(repo.dir(), "push", remote(TestSecurity.ACME_TOKEN, "acme", "web"), "main");
    assertThat(again.exit()).isZero();
    assertThat(again.output()).contains("Everything up-to-date");
  }

  @Test
  void aPushWithTheCiOptionIsACiBuildOfItsOwnAndDetectCarriesTheAppsBuildpackLevel()
      throws Exception {
    HttpJson operator = new HttpJson(port);
    HttpJson.Response levels =
        operator.patch(
            "/v1/tenants/acme",
            "{\"buildpackLevel\": 322, \"appBuildpackLevels\": {\"tests\": 351}}");
    assertThat(levels.status()).as(levels.json().toString()).isEqualTo(200);
    assertThat(levels.json().path("appBuildpackLevels").path("tests").asInt()).isEqualTo(351);
    GitRepo repo = app("tests");
    String commit = repo.git("rev-parse", "HEAD").strip();

    GitResult push =
        git(
            repo.dir(),
            "push",
            "-o",
            "ci",
            "-o",
            "nonsense",
            remote(TestSecurity.ACME_TOKEN, "acme", "tests"),
            "main");

    assertThat(push.exit()).as(push.output()).isZero();
    String ciBuild = BuildIds.of("acme", "tests", commit + "\0ci");
    assertThat(push.output())
        .contains("Ignoring the push option 'nonsense'")
        .contains("(CI build: test dependencies included)")
        .contains("remote: -----> Build " + ciBuild + " succeeded");
    List<BuildTask> ciTasks = tasks.stream().filter(t -> t.buildId().equals(ciBuild)).toList();
    assertThat(ciTasks).extracting(BuildTask::kind).contains(TaskKind.DETECT, TaskKind.ASSEMBLE);
    assertThat(ciTasks).allMatch(BuildTask::isCi);
    assertThat(ciTasks.stream().filter(t -> t.kind() == TaskKind.DETECT))
        .allMatch(t -> Integer.valueOf(351).equals(t.buildpackLevel()));

    // The app goes back to the tenant's level; a normal push of the same commit is another build.
    operator.patch("/v1/tenants/acme", "{\"appBuildpackLevels\": {\"tests\": null}}");
    repo.commit(Map.of("app.py", "print('again')\n"), "again");
    String second = repo.git("rev-parse", "HEAD").strip();
    assertThat(
            git(repo.dir(), "push", remote(TestSecurity.ACME_TOKEN, "acme", "tests"), "main")
                .exit())
        .isZero();
    BuildTask detect =
        tasks.stream()
            .filter(t -> t.buildId().equals(BuildIds.of("acme", "tests", second)))
            .filter(t -> t.kind() == TaskKind.DETECT)
            .findFirst()
            .orElseThrow();
    assertThat(detect.isCi()).isFalse();
    assertThat(detect.buildpackLevel()).isEqualTo(322);

    // A level Kiln does not reproduce is refused, and nothing changes.
    HttpJson.Response unknown = operator.patch("/v1/tenants/acme", "{\"buildpackLevel\": 300}");
    assertThat(unknown.status()).isEqualTo(400);
    assertThat(unknown.json().toString()).contains("289, 322, 351");
    // A tenant cannot choose its own level: moving tenants is the operator's decision.
    assertThat(
            operator
                .as(TestSecurity.ACME_TOKEN)
                .patch("/v1/tenants/acme", "{\"buildpackLevel\": 351}")
                .status())
        .isEqualTo(403);
    operator.patch("/v1/tenants/acme", "{\"buildpackLevel\": null}");
  }

  @Test
  void anAppLinkedToABranchBuildsOnlyThatBranchAndStoresTheOthers() throws Exception {
    HttpJson acme = new HttpJson(port, TestSecurity.ACME_TOKEN);
    String bare = sourceRoot.resolve("acme").resolve("linked.git").toUri().toString();
    HttpJson.Response linked =
        acme.put(
            "/v1/tenants/acme/apps/linked/link",
            "{\"forge\":\"github\",\"repoUrl\":\"" + bare + "\",\"branch\":\"main\"}");
    assertThat(linked.status()).as(linked.json().toString()).isEqualTo(201);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> acme.get("/v1/tenants/acme").json().toString().contains("linked"));
    GitRepo repo = app("linked");
    String commit = repo.git("rev-parse", "HEAD").strip();

    GitResult feature =
        git(
            repo.dir(),
            "push",
            remote(TestSecurity.ACME_TOKEN, "acme", "linked"),
            "main:refs/heads/feature");

    assertThat(feature.exit()).as(feature.output()).isZero();
    assertThat(feature.output())
        .contains("remote: -----> feature is stored but not built")
        .contains("builds pushes to main, its linked branch");
    assertThat(fetched).doesNotContain(commit);

    GitResult main =
        git(repo.dir(), "push", remote(TestSecurity.ACME_TOKEN, "acme", "linked"), "main");
    assertThat(main.exit()).as(main.output()).isZero();
    assertThat(main.output()).contains("remote: -----> Digest: sha256:");
  }

  @Test
  void theTokenCanComeFromGitsCredentialStoreOrAnExtraHeader() throws Exception {
    GitRepo repo = app("stored");
    Path home = Files.createTempDirectory(tmp, "home-");
    String url = "http://127.0.0.1:" + port + "/git/acme/stored.git";
    // As docs/ingest.md says: a remote without the token, the token in git's credential store.
    git(repo.dir(), "remote", "add", "kiln", url);
    git(repo.dir(), "config", "credential.helper", "store --file=" + home.resolve("credentials"));
    GitResult approve =
        gitWithInput(
            repo.dir(),
            "protocol=http\nhost=127.0.0.1:"
                + port
                + "\nusername=kiln\npassword="
                + TestSecurity.ACME_TOKEN
                + "\n\n",
            "credential",
            "approve");
    assertThat(approve.exit()).as(approve.output()).isZero();

    GitResult stored = git(repo.dir(), "push", "kiln", "main");
    assertThat(stored.exit()).as(stored.output()).isZero();
    assertThat(stored.output()).contains("remote: -----> Image: registry.test/acme/stored:");

    GitRepo other = app("header");
    String header =
        "Authorization: Basic "
            + Base64.getEncoder()
                .encodeToString(
                    ("kiln:" + TestSecurity.ACME_TOKEN).getBytes(StandardCharsets.UTF_8));
    GitResult withHeader =
        git(
            other.dir(),
            "-c",
            "http.extraHeader=" + header,
            "push",
            "http://127.0.0.1:" + port + "/git/acme/header.git",
            "main");
    assertThat(withHeader.exit()).as(withHeader.output()).isZero();
    assertThat(withHeader.output()).contains("remote: -----> Image: registry.test/acme/header:");
  }

  @Test
  void aPushWhoseBuildFailsExitsNonZeroAndLeavesTheBranch() throws Exception {
    GitRepo repo = app("broken");

    GitResult push =
        git(repo.dir(), "push", remote(TestSecurity.ACME_TOKEN, "acme", "broken"), "main");

    System.out.println(push.output());
    assertThat(push.exit()).as(push.output()).isNotZero();
    assertThat(push.output())
        .contains("remote: -----> Building acme/broken main@")
        .contains("failed at DETECT [requirements::unparsable]")
        .contains("remote:  !     Push rejected: build b-")
        .contains("[remote rejected] main -> main (build failed)");
    Path bare = sourceRoot.resolve("acme").resolve("broken.git");
    assertThat(git(bare, "rev-parse", "--verify", "--quiet", "refs/heads/main").exit()).isNotZero();
  }

  @Test
  void aPushSupersededByALaterPushEndsNonZeroNamingTheNewerBuild() throws Exception {
    GitRepo repo = app("slow");
    String first = repo.git("rev-parse", "HEAD").strip();
    Path older = Files.createTempDirectory(tmp, "slow-older-");
    GitRepo.run(older, "clone", "--quiet", repo.dir().toString(), ".");

    CompletableFuture<GitResult> firstPush =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return git(older, "push", remote(TestSecurity.ACME_TOKEN, "acme", "slow"), "main");
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            });
    await().atMost(Duration.ofSeconds(60)).until(() -> heldDetect.get() != null);
    String second = repo.commit(Map.of("app.py", "print('newer')\n"), "newer");

    GitResult secondPush =
        git(repo.dir(), "push", remote(TestSecurity.ACME_TOKEN, "acme", "slow"), "main");
    GitResult firstResult = firstPush.get(120, TimeUnit.SECONDS);

    assertThat(secondPush.exit()).as(secondPush.output()).isZero();
    assertThat(firstResult.exit()).as(firstResult.output()).isNotZero();
    assertThat(firstResult.output())
        .contains("superseded by build " + BuildIds.of("acme", "slow", second))
        .contains("(build superseded by a later push)");
    assertThat(heldDetect.get().commit()).isEqualTo(first);
    Path bare = sourceRoot.resolve("acme").resolve("slow.git");
    assertThat(GitRepo.run(bare, "rev-parse", "refs/heads/main").strip()).isEqualTo(second);
  }

  @Test
  void aPushWithoutTokenIsChallengedAndGitFails() throws Exception {
    HttpResponse<String> answer = get("/git/acme/web.git/info/refs?service=git-receive-pack", null);
    assertThat(answer.statusCode()).isEqualTo(401);
    assertThat(answer.headers().firstValue("WWW-Authenticate")).contains("Basic realm=\"kiln\"");

    GitRepo repo = app("anonymous");
    GitResult push = git(repo.dir(), "push", remote(null, "acme", "anonymous"), "main");
    assertThat(push.exit()).isNotZero();
    assertThat(Files.exists(sourceRoot.resolve("acme").resolve("anonymous.git"))).isFalse();

    GitResult wrong = git(repo.dir(), "push", remote("kiln_t_forged", "acme", "anonymous"), "main");
    assertThat(wrong.exit()).isNotZero();
    assertThat(wrong.output()).contains("Authentication failed");
  }

  @Test
  void askingForANewAppsRefsCreatesNothing() throws Exception {
    HttpResponse<String> answer =
        get("/git/acme/probe.git/info/refs?service=git-receive-pack", TestSecurity.ACME_TOKEN);

    assertThat(answer.statusCode()).isEqualTo(200);
    assertThat(answer.headers().firstValue("Content-Type"))
        .contains("application/x-git-receive-pack-advertisement");
    assertThat(answer.body()).startsWith("001f# service=git-receive-pack\n0000");
    assertThat(answer.body()).contains("report-status").contains("side-band-64k");
    assertThat(Files.exists(sourceRoot.resolve("acme").resolve("probe.git"))).isFalse();
  }

  @Test
  void anotherTenantsTokenFindsNoRemote() throws Exception {
    HttpResponse<String> answer =
        get("/git/acme/web.git/info/refs?service=git-receive-pack", TestSecurity.GLOBEX_TOKEN);
    HttpResponse<String> unknown =
        get(
            "/git/acme/no-such-app.git/info/refs?service=git-receive-pack",
            TestSecurity.GLOBEX_TOKEN);
    assertThat(answer.statusCode()).isEqualTo(404);
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(answer.body()).doesNotContain("web.git exists");

    GitRepo repo = app("stolen");
    GitResult push =
        git(repo.dir(), "push", remote(TestSecurity.GLOBEX_TOKEN, "acme", "stolen"), "main");
    assertThat(push.exit()).isNotZero();
    assertThat(Files.exists(sourceRoot.resolve("acme").resolve("stolen.git"))).isFalse();
  }

  @Test
  void pathsEscapingTheReposRootAreRefused() throws Exception {
    for (String path :
        List.of(
            "/git/acme/../globex/web.git/info/refs?service=git-receive-pack",
            "/git/acme/..%2fglobex%2fweb.git/info/refs?service=git-receive-pack",
            "/git/acme/%2e%2e/escape.git/info/refs?service=git-receive-pack",
            "/git/../../etc/web.git/info/refs?service=git-receive-pack")) {
      HttpResponse<String> answer = get(path, TestSecurity.OPERATOR_TOKEN);
      assertThat(answer.statusCode()).as(path).isEqualTo(404);
    }
    assertThat(Files.exists(tmp.resolve("etc"))).isFalse();
    assertThat(Files.exists(sourceRoot.resolve("globex").resolve("web.git"))).isFalse();
    assertThat(Files.exists(sourceRoot.resolve("escape.git"))).isFalse();
  }

  @Test
  void anOversizedPushIsRefusedWith413() throws Exception {
    byte[] noise = new byte[(int) (2 * MAX_PUSH_BYTES)];
    new Random(7).nextBytes(noise);
    GitRepo repo = app("huge", Map.of("app.py", "print('hi')\n"));
    Files.write(repo.dir().resolve("blob.bin"), noise);
    repo.commit(Map.of(), "a large file");

    GitResult push =
        git(repo.dir(), "push", remote(TestSecurity.ACME_TOKEN, "acme", "huge"), "main");

    assertThat(push.exit()).isNotZero();
    assertThat(push.output()).contains("413");
    Path bare = sourceRoot.resolve("acme").resolve("huge.git");
    assertThat(git(bare, "rev-parse", "--verify", "--quiet", "refs/heads/main").exit()).isNotZero();
  }

  private static HttpResponse<String> get(String path, String token) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(30));
    if (token != null) {
      request.header(
          "Authorization",
          "Basic "
              + Base64.getEncoder()
                  .encodeToString(("git:" + token).getBytes(StandardCharsets.UTF_8)));
    }
    return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
