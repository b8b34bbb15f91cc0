package dev.kiln.worker.fetch;

import dev.kiln.events.Digest;
import dev.kiln.worker.fs.BackgroundDeleter;
import dev.kiln.worker.process.ExternalProcess;
import dev.kiln.worker.steps.LogSink;
import dev.kiln.worker.steps.StepFailure;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * FETCH: puts exactly one commit of a repository on local disk with the git command line, shallow
 * (one commit, no history), at {@code <workDir>/sources/<tenant>/<repository key>/<commit>}; a
 * repository on this machine is read in-process instead ({@link LocalCheckout}), with the same
 * limits.
 *
 * <p>The tree is checked out into a temporary directory and renamed into place only when complete,
 * so an existing directory is always a finished checkout and is reused as is. Trees are kept per
 * tenant and per repository URL (the key is a hash of the URL without credentials): a commit id is
 * no secret (it shows up in logs and events), so neither another tenant nor another repository
 * naming the same commit may get a checkout made for someone else.
 *
 * <p>What may be fetched is {@link SourcePolicy}'s decision ({@value SourcePolicy#NOT_ALLOWED}).
 * git runs without system or global configuration, without credential prompts or helpers, with only
 * the URL's own protocol allowed and without following HTTP redirects. A fetch is bounded by {@link
 * FetchLimits}: a connect timeout, a low-speed limit and a deadline ({@value #TIMEOUT}), the bytes
 * fetched and checked out ({@value #TOO_LARGE}), the number of files ({@value #TOO_MANY_FILES}) and
 * the largest file ({@value #FILE_TOO_LARGE}); the commit's tree is measured before anything is
 * checked out, and a failed fetch leaves nothing behind.
 *
 * <p>A tree the command line checked out keeps its {@code .git} directory (one commit's worth);
 * whatever packages the source into an image must leave it out.
 */
public final class SourceFetcher {
  public static final String FAILED = "fetch::failed";
  public static final String TIMEOUT = "source::timeout";
  public static final String TOO_LARGE = "source::too-large";
  public static final String TOO_MANY_FILES = "source::too-many-files";
  public static final String FILE_TOO_LARGE = "source::file-too-large";

  private static final Pattern FULL_COMMIT = Pattern.compile("[0-9a-f]{40}|[0-9a-f]{64}");
  private static final Pattern SAFE_NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
  private static final Pattern URL_USERINFO =
      Pattern.compile("([A-Za-z][A-Za-z0-9+.-]*://)[^/@\\s]+@");
  private static final Pattern SHA_WANT_REFUSED =
      Pattern.compile(
          "not our ref|unadvertised object|allowReachableSHA1InWant|allowAnySHA1InWant"
              + "|couldn't find remote ref|upload-pack: not our ref",
          Pattern.CASE_INSENSITIVE);
  private static final Pattern TIMED_OUT =
      Pattern.compile(
          "Operation too slow|timed out|Connection timed out|Operation timed out",
          Pattern.CASE_INSENSITIVE);
  private static final Pattern LS_TREE_LINE =
      Pattern.compile("^\\d+ (\\S+) \\S+\\s+(\\d+|-)\\t(.*)$");
  private static final List<String> PROXY_VARIABLES =
      List.of("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY");
  private static final int TAIL_LINES = 20;

  private final Path sourcesRoot;
  private final Path inProgressRoot;
  private final BackgroundDeleter deleter;
  private final Duration timeout;
  private final SourcePolicy policy;
  private final FetchLimits limits;
  private final Map<String, String> gitConfig;
  private boolean localInProcess = true;

  /**
   * A fetcher that fetches no local repositories and has the default limits.
   *
   * @param workDir the worker's state directory
   * @param deleter takes failed or duplicate checkouts away in the background; its trash must be on
   *     the same file system as {@code workDir}
   * @param timeout the longest one git command may run
   */
  public SourceFetcher(Path workDir, BackgroundDeleter deleter, Duration timeout) {
    this(workDir, deleter, timeout, null, FetchLimits.DEFAULT, Map.of());
  }

  /**
   * @param sourceRoot local repositories may be fetched from {@code <sourceRoot>/<tenant>/} only;
   *     null: none at all
   * @param limits what one fetch may cost
   * @param gitConfig extra {@code git -c} settings (tests use it to act like an older server)
   */
  public SourceFetcher(
      Path workDir,
      BackgroundDeleter deleter,
      Duration timeout,
      Path sourceRoot,
      FetchLimits limits,
      Map<String, String> gitConfig) {
    this.sourcesRoot = workDir.resolve("sources");
    this.inProgressRoot = workDir.resolve("sources-in-progress");
    this.deleter = Objects.requireNonNull(deleter, "deleter");
    this.timeout = Objects.requireNonNull(timeout, "timeout");
    this.policy = new SourcePolicy(sourceRoot);
    this.limits = Objects.requireNonNull(limits, "limits");
    this.gitConfig = new LinkedHashMap<>(gitConfig);
  }

  /**
   * This fetcher, taking local repositories through the git command line too, as it takes remote
   * ones (tests of the command-line path use local repositories as their server).
   */
  SourceFetcher commandLineOnly() {
    localInProcess = false;
    return this;
  }

  /**
   * Where {@link #fetch} puts (or finds) this tenant's checkout of {@code commit} from {@code
   * repoUrl}.
   *
   * @throws StepFailure {@value SourcePolicy#NOT_ALLOWED} when the URL may not be fetched
   */
  public Path checkoutDir(String tenant, String repoUrl, String commit) throws StepFailure {
    return checkoutDir(tenant, policy.check(tenant, repoUrl), commit);
  }

  private Path checkoutDir(String tenant, SourcePolicy.Allowed allowed, String commit) {
    String key =
        Digest.compute(allowed.identity().getBytes(java.nio.charset.StandardCharsets.UTF_8))
            .hex()
            .substring(0, 16);
    return sourcesRoot.resolve(tenant).resolve(key).resolve(commit);
  }

  /**
   * The checkout of {@code commit} from {@code repoUrl}, fetched now or reused.
   *
   * @throws StepFailure {@value SourcePolicy#NOT_ALLOWED}, {@value #TIMEOUT}, {@value #TOO_LARGE},
   *     {@value #TOO_MANY_FILES}, {@value #FILE_TOO_LARGE}, or {@value #FAILED} with git's own
   *     explanation (credentials redacted)
   */
  public Path fetch(String tenant, String repoUrl, String commit, LogSink log) throws StepFailure {
    if (tenant == null || !SAFE_NAME.matcher(tenant).matches()) {
      throw new IllegalArgumentException("tenant '" + tenant + "' is not a valid tenant name");
    }
    if (commit == null || !FULL_COMMIT.matcher(commit).matches()) {
      throw new StepFailure(
          FAILED,
          "'"
              + commit
              + "' is not a full commit id; send the 40 (or 64) lowercase hex characters"
              + " that `git rev-parse HEAD` prints");
    }
    SourcePolicy.Allowed allowed = policy.check(tenant, repoUrl);
    Path target = checkoutDir(tenant, allowed, commit);
    if (Files.isDirectory(target)) {
      log.info("-----> Reusing the checkout of " + shortId(commit));
      return target;
    }
    log.info("-----> Fetching " + shortId(commit) + " from " + redact(repoUrl));
    long deadline = System.nanoTime() + limits.wholeFetch().toNanos();
    probe(allowed, repoUrl);
    Path work;
    try {
      Files.createDirectories(target.getParent());
      Files.createDirectories(inProgressRoot);
      work = inProgressRoot.resolve(commit + "-" + UUID.randomUUID());
    } catch (IOException e) {
      throw new StepFailure(
          FAILED,
          "could not prepare "
              + target.getParent()
              + " for the checkout: "
              + e.getMessage()
              + "; check that the worker's work directory is writable and has free space",
          e);
    }
    try {
      checkOut(allowed, repoUrl, commit, work, log, deadline);
      publish(work, target);
      return target;
    } finally {
      discardQuietly(work);
    }
  }

  /**
   * Connects to the repository's server once, so that one that cannot be reached fails after the
   * connect timeout (git has no connect timeout of its own for http or git://). Skipped behind a
   * proxy, which git reaches instead, and for ssh, which has its own ConnectTimeout.
   */
  private void probe(SourcePolicy.Allowed allowed, String repoUrl) throws StepFailure {
    if (allowed.host() == null
        || allowed.protocol().equals("ssh")
        || PROXY_VARIABLES.stream().anyMatch(name -> System.getenv(name) != null)) {
      return;
    }
    try (java.net.Socket socket = new java.net.Socket()) {
      socket.connect(
          new java.net.InetSocketAddress(allowed.host().host(), allowed.host().port()),
          (int) Math.min(Integer.MAX_VALUE, limits.connectTimeout().toMillis()));
    } catch (java.net.SocketTimeoutException e) {
      throw new StepFailure(
          TIMEOUT,
          "could not connect to "
              + allowed.host().host()
              + ":"
              + allowed.host().port()
              + " for "
              + redact(repoUrl)
              + " within "
              + limits.connectTimeout().toSeconds()
              + " s; check that the server is up and reachable from the workers",
          e);
    } catch (IOException e) {
      // Refused, unknown host, …: git reports it in its own words.
    }
  }

  private void checkOut(
      SourcePolicy.Allowed allowed,
      String repoUrl,
      String commit,
      Path work,
      LogSink log,
      long deadline)
      throws StepFailure {
    if (localInProcess
        && allowed.protocol().equals("file")
        && LocalCheckout.checkOut(
            Path.of(allowed.gitUrl()),
            commit,
            work,
            size -> enforceLimits(size, repoUrl),
            redact(repoUrl))) {
      return;
    }
    String gitUrl = allowed.gitUrl();
    List<String> init = new ArrayList<>(List.of("init", "--quiet", "--template="));
    if (commit.length() == 64) {
      init.add("--object-format=sha256");
    }
    init.add(work.toString());
    git(work.getParent(), init, "create a repository for the checkout", allowed);
    FetchWatch watch = new FetchWatch(work, limits, deadline);
    ExternalProcess.Outcome shallow =
        run(
            work,
            List.of("fetch", "--quiet", "--no-tags", "--depth", "1", "--", gitUrl, commit),
            allowed,
            watch,
            deadline);
    String checkedOut = "FETCH_HEAD";
    if (!shallow.succeeded()) {
      throwIfLimitHit(watch, shallow, repoUrl);
      if (!SHA_WANT_REFUSED.matcher(shallow.tailText()).find()) {
        throw fetchFailed(repoUrl, commit, shallow);
      }
      // The server only serves advertised refs (protocol v0/v1 without
      // uploadpack.allowReachableSHA1InWant, e.g. older servers and some hosting products), so it
      // will not hand out a commit by id. Clone every ref instead and check the commit out; this
      // costs the history but works with any server.
      log.info(
          "       The server does not serve commits by id; cloning the whole repository instead");
      discardQuietly(work);
      FetchWatch cloneWatch = new FetchWatch(work, limits, deadline);
      ExternalProcess.Outcome clone =
          run(
              work.getParent(),
              List.of(
                  "clone",
                  "--quiet",
                  "--no-checkout",
                  "--template=",
                  "--",
                  gitUrl,
                  work.toString()),
              allowed,
              cloneWatch,
              deadline);
      if (!clone.succeeded()) {
        throwIfLimitHit(cloneWatch, clone, repoUrl);
        throw fetchFailed(repoUrl, commit, clone);
      }
      checkedOut = commit;
      ExternalProcess.Outcome known =
          run(work, List.of("cat-file", "-e", commit + "^{commit}"), allowed, null, deadline);
      if (!known.succeeded()) {
        throw new StepFailure(
            FAILED,
            "commit "
                + commit
                + " is not on any branch or tag of "
                + redact(repoUrl)
                + "; push it first (git said: "
                + redact(known.tailText()).strip()
                + ")");
      }
    }
    long fetched = FetchWatch.sizeOf(work);
    if (fetched > limits.maxRepositoryBytes()) {
      throw tooLarge(repoUrl, "its objects take " + fetched + " bytes");
    }
    measureTree(work, checkedOut, repoUrl, allowed, deadline);
    git(
        work,
        List.of("checkout", "--quiet", "--detach", checkedOut),
        "check out " + shortId(commit),
        allowed);
    String head = checkedOutCommit(work);
    if (!head.equals(commit)) {
      throw new StepFailure(
          FAILED,
          "asked "
              + redact(repoUrl)
              + " for "
              + commit
              + " but got "
              + head
              + "; the repository URL may point at the wrong repository");
    }
  }

  /**
   * The commit a detached checkout's {@code HEAD} names, read from the file rather than with one
   * more git process on every build's path.
   */
  private static String checkedOutCommit(Path work) throws StepFailure {
    try {
      return Files.readString(work.resolve(".git").resolve("HEAD"), StandardCharsets.US_ASCII)
          .strip();
    } catch (IOException e) {
      throw new StepFailure(FAILED, "could not read the checked-out commit: " + e.getMessage(), e);
    }
  }

  /**
   * Counts the commit's files and their sizes from git's tree, before anything is checked out, and
   * refuses a commit beyond the limits.
   */
  private void measureTree(
      Path work, String revision, String repoUrl, SourcePolicy.Allowed allowed, long deadline)
      throws StepFailure {
    long[] files = {0};
    long[] bytes = {0};
    String[] largest = {null};
    long[] largestSize = {-1};
    ExternalProcess.Outcome listing;
    try {
      listing =
          new ExternalProcess(
                  command(List.of("ls-tree", "-r", "-l", "--full-tree", revision)),
                  work,
                  gitEnvironment(allowed),
                  remaining(deadline),
                  TAIL_LINES)
              .run(
                  line -> {
                    java.util.regex.Matcher entry = LS_TREE_LINE.matcher(line);
                    if (!entry.matches() || !entry.group(1).equals("blob")) {
                      return; // submodules (commit entries) are not fetched
                    }
                    long size = Long.parseLong(entry.group(2));
                    files[0]++;
                    bytes[0] += size;
                    if (size > largestSize[0]) {
                      largestSize[0] = size;
                      largest[0] = entry.group(3);
                    }
                  });
    } catch (IOException e) {
      throw new StepFailure(
          FAILED, "could not run git (" + e.getMessage() + "); install git on the worker", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StepFailure(FAILED, "the fetch was interrupted because the worker is stopping", e);
    }
    if (!listing.succeeded()) {
      if (listing.timedOut()) {
        throw timedOut(
            repoUrl, "the whole fetch took longer than " + describe(limits.wholeFetch()));
      }
      throw new StepFailure(FAILED, "git could not list the commit's files: " + describe(listing));
    }
    enforceLimits(
        new LocalCheckout.TreeSize(files[0], bytes[0], largest[0], largestSize[0]), repoUrl);
  }

  /** Refuses a commit whose tree is beyond the limits, naming the limit and what to do. */
  private void enforceLimits(LocalCheckout.TreeSize size, String repoUrl) throws StepFailure {
    long[] files = {size.files()};
    long[] bytes = {size.bytes()};
    String[] largest = {size.largest()};
    long[] largestSize = {size.largestBytes()};
    if (files[0] > limits.maxFiles()) {
      throw new StepFailure(
          TOO_MANY_FILES,
          redact(repoUrl)
              + " has "
              + files[0]
              + " files in this commit, more than the "
              + limits.maxFiles()
              + " a build may fetch. Nothing was checked out. Leave generated files, data and"
              + " vendored dependencies out of the repository (requirements.txt installs"
              + " dependencies), or ask the operator to raise the worker's file limit");
    }
    if (largestSize[0] > limits.maxFileBytes()) {
      throw new StepFailure(
          FILE_TOO_LARGE,
          redact(repoUrl)
              + " has a file '"
              + largest[0]
              + "' of "
              + largestSize[0]
              + " bytes, more than the "
              + limits.maxFileBytes()
              + " bytes a file may have. Nothing was checked out. Keep large data out of the"
              + " repository (download it at run time or store it elsewhere), or ask the operator"
              + " to raise the worker's file size limit");
    }
    if (bytes[0] > limits.maxRepositoryBytes()) {
      throw tooLarge(repoUrl, "its files take " + bytes[0] + " bytes");
    }
  }

  private void throwIfLimitHit(FetchWatch watch, ExternalProcess.Outcome outcome, String repoUrl)
      throws StepFailure {
    FetchWatch.Stop stop = watch.stop();
    if (stop == FetchWatch.Stop.TOO_LARGE) {
      throw tooLarge(repoUrl, "the fetch had received more than that");
    }
    if (stop == FetchWatch.Stop.TOO_SLOW) {
      throw timedOut(
          repoUrl,
          "the server sent less than "
              + limits.lowSpeedBytesPerSecond()
              + " bytes a second for "
              + describe(limits.lowSpeedTime())
              + " (a server that accepts the connection and never answers looks like this)");
    }
    if (stop == FetchWatch.Stop.DEADLINE || outcome.timedOut()) {
      throw timedOut(repoUrl, "the whole fetch took longer than " + describe(limits.wholeFetch()));
    }
    if (TIMED_OUT.matcher(outcome.tailText()).find()) {
      throw timedOut(repoUrl, "git gave up: " + redact(outcome.tailText()).strip());
    }
  }

  private StepFailure tooLarge(String repoUrl, String what) {
    return new StepFailure(
        TOO_LARGE,
        redact(repoUrl)
            + " is larger than the "
            + limits.maxRepositoryBytes()
            + " bytes a build may fetch ("
            + what
            + "). Nothing was kept. Keep large files and history out of the repository, or ask"
            + " the operator to raise the worker's repository size limit");
  }

  private StepFailure timedOut(String repoUrl, String why) {
    return new StepFailure(
        TIMEOUT,
        "fetching "
            + redact(repoUrl)
            + " timed out: "
            + why
            + ". Check that the repository's server is up and reachable from the workers, then"
            + " push again");
  }

  private static String describe(Duration duration) {
    return duration.toMillis() % 1000 == 0
        ? duration.toSeconds() + " s"
        : duration.toMillis() + " ms";
  }

  private Duration remaining(long deadline) {
    long left = Math.max(deadline - System.nanoTime(), 1_000_000L);
    return Duration.ofNanos(Math.min(left, timeout.toNanos()));
  }

  private void publish(Path work, Path target) throws StepFailure {
    try {
      Files.move(work, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      // rename(2) onto a non-empty directory fails with ENOTEMPTY, which Java reports as a plain
      // FileSystemException: another task fetched the same commit meanwhile, and its checkout is
      // identical.
      if (Files.isDirectory(target)) {
        return;
      }
      throw new StepFailure(
          FAILED,
          "could not move the checkout into "
              + target
              + ": "
              + e.getMessage()
              + "; check that the worker's work directory is writable",
          e);
    }
  }

  private String git(Path dir, List<String> args, String what, SourcePolicy.Allowed allowed)
      throws StepFailure {
    StringBuilder out = new StringBuilder();
    ExternalProcess.Outcome outcome;
    try {
      outcome =
          new ExternalProcess(command(args), dir, gitEnvironment(allowed), timeout, TAIL_LINES)
              .run(line -> out.append(line).append('\n'));
    } catch (IOException e) {
      throw new StepFailure(
          FAILED, "could not run git (" + e.getMessage() + "); install git on the worker", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StepFailure(FAILED, "the fetch was interrupted because the worker is stopping", e);
    }
    if (!outcome.succeeded()) {
      throw new StepFailure(FAILED, "git could not " + what + ": " + describe(outcome));
    }
    return out.toString();
  }

  /** Runs a git command that talks to the server, stopped early when {@code watch} says so. */
  private ExternalProcess.Outcome run(
      Path dir, List<String> args, SourcePolicy.Allowed allowed, FetchWatch watch, long deadline)
      throws StepFailure {
    try {
      ExternalProcess process =
          new ExternalProcess(
              command(args), dir, gitEnvironment(allowed), remaining(deadline), TAIL_LINES);
      return watch == null ? process.run(line -> {}) : process.run(line -> {}, watch);
    } catch (IOException e) {
      throw new StepFailure(
          FAILED, "could not run git (" + e.getMessage() + "); install git on the worker", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StepFailure(FAILED, "the fetch was interrupted because the worker is stopping", e);
    }
  }

  private List<String> command(List<String> args) {
    List<String> command = new ArrayList<>(List.of("git"));
    Map<String, String> config = new LinkedHashMap<>();
    config.put("advice.detachedHead", "false");
    // Nothing but the URL's own protocol (GIT_ALLOW_PROTOCOL below); these are belt and braces.
    config.put("protocol.ext.allow", "never");
    config.put("protocol.fd.allow", "never");
    config.put("credential.helper", "");
    config.put("core.hooksPath", "/dev/null");
    config.put("core.fsmonitor", "false");
    config.put("submodule.recurse", "false");
    // A one-commit checkout is thrown away after the build: housekeeping would only cost a process.
    config.put("maintenance.auto", "false");
    config.put("gc.auto", "0");
    // A redirect could lead past the tenant's allow-list to any host.
    config.put("http.followRedirects", "false");
    if (limits.lowSpeedBytesPerSecond() > 0) {
      config.put("http.lowSpeedLimit", Long.toString(limits.lowSpeedBytesPerSecond()));
      config.put("http.lowSpeedTime", Long.toString(limits.lowSpeedTime().toSeconds()));
    }
    config.putAll(gitConfig);
    config.forEach((key, value) -> command.addAll(List.of("-c", key + "=" + value)));
    command.addAll(args);
    return command;
  }

  private Map<String, String> gitEnvironment(SourcePolicy.Allowed allowed) {
    Map<String, String> env = new HashMap<>();
    System.getenv()
        .forEach(
            (name, value) -> {
              // The worker's own GIT_* settings (GIT_DIR, GIT_CONFIG_*, GIT_ASKPASS, …) must not
              // steer a tenant's fetch; an operator's ssh command may.
              if (!name.startsWith("GIT_")
                  || name.equals("GIT_SSH_COMMAND")
                  || name.equals("GIT_SSH")) {
                env.put(name, value);
              }
            });
    env.remove("SSH_ASKPASS");
    // Never wait for a password nobody will type; fail with git's message instead.
    env.put("GIT_TERMINAL_PROMPT", "0");
    env.put("GIT_CONFIG_NOSYSTEM", "1");
    env.put("GIT_CONFIG_GLOBAL", "/dev/null");
    env.put("GIT_ALLOW_PROTOCOL", allowed.protocol());
    env.put("GIT_PROTOCOL_FROM_USER", "0");
    env.putIfAbsent(
        "GIT_SSH_COMMAND",
        "ssh -o BatchMode=yes -o ConnectTimeout="
            + Math.max(1, limits.connectTimeout().toSeconds())
            + " -o ServerAliveInterval=5 -o ServerAliveCountMax="
            + Math.max(1, limits.lowSpeedTime().toSeconds() / 5));
    // English messages, so the fallback above can recognise a refused fetch.
    env.put("LC_ALL", "C");
    env.put("LANGUAGE", "C");
    return env;
  }

  private StepFailure fetchFailed(String repoUrl, String commit, ExternalProcess.Outcome outcome) {
    return new StepFailure(
        FAILED,
        "could not fetch commit "
            + commit
            + " from "
            + redact(repoUrl)
            + ": "
            + describe(outcome)
            + "; check that the URL is right, that the worker may read the repository, and that"
            + " the commit has been pushed");
  }

  private String describe(ExternalProcess.Outcome outcome) {
    if (outcome.timedOut()) {
      return "git did not finish within " + timeout.toSeconds() + " s";
    }
    String said = redact(outcome.tailText()).strip();
    return "git exited with status " + outcome.exitCode() + (said.isEmpty() ? "" : ":\n" + said);
  }

  /**
   * Hides the user-info part of every URL ({@code https://user:token@host} → {@code
   * https://***@host}).
   */
  public static String redact(String text) {
    return text == null ? "" : URL_USERINFO.matcher(text).replaceAll("$1***@");
  }

  private static String shortId(String commit) {
    return commit.substring(0, 12);
  }

  private void discardQuietly(Path path) {
    try {
      deleter.discard(path);
    } catch (IOException e) {
      org.slf4j.LoggerFactory.getLogger(SourceFetcher.class)
          .warn("could not move {} to the trash: {}", path, e.toString());
    }
  }
}
