package dev.kiln.worker.fetch;

import dev.kiln.worker.fs.BackgroundDeleter;
import dev.kiln.worker.process.ExternalProcess;
import dev.kiln.worker.steps.LogSink;
import dev.kiln.worker.steps.StepFailure;
import java.io.IOException;
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
 * (one commit, no history), at {@code <workDir>/sources/<tenant>/<commit>}.
 *
 * <p>The tree is checked out into a temporary directory and renamed into place only when complete,
 * so an existing directory is always a finished checkout and is reused as is. Trees are kept per
 * tenant: a commit id is no secret (it shows up in logs and events), so a tenant must not be able
 * to get another tenant's source just by naming its commit.
 *
 * <p>The tree keeps its {@code .git} directory (one commit's worth); whatever packages the source
 * into an image must leave it out.
 */
public final class SourceFetcher {
  public static final String FAILED = "fetch::failed";

  private static final Pattern FULL_COMMIT = Pattern.compile("[0-9a-f]{40}|[0-9a-f]{64}");
  private static final Pattern SAFE_NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
  private static final Pattern URL_USERINFO =
      Pattern.compile("([A-Za-z][A-Za-z0-9+.-]*://)[^/@\\s]+@");
  private static final Pattern SHA_WANT_REFUSED =
      Pattern.compile(
          "not our ref|unadvertised object|allowReachableSHA1InWant|allowAnySHA1InWant"
              + "|couldn't find remote ref|upload-pack: not our ref",
          Pattern.CASE_INSENSITIVE);
  private static final int TAIL_LINES = 20;

  private final Path sourcesRoot;
  private final Path inProgressRoot;
  private final BackgroundDeleter deleter;
  private final Duration timeout;
  private final Map<String, String> gitConfig;

  /**
   * @param workDir the worker's state directory
   * @param deleter takes failed or duplicate checkouts away in the background; its trash must be on
   *     the same file system as {@code workDir}
   * @param timeout the longest one git command may run
   */
  public SourceFetcher(Path workDir, BackgroundDeleter deleter, Duration timeout) {
    this(workDir, deleter, timeout, Map.of());
  }

  /** As above, with extra {@code git -c} settings (tests use it to act like an older server). */
  public SourceFetcher(
      Path workDir, BackgroundDeleter deleter, Duration timeout, Map<String, String> gitConfig) {
    this.sourcesRoot = workDir.resolve("sources");
    this.inProgressRoot = workDir.resolve("sources-in-progress");
    this.deleter = Objects.requireNonNull(deleter, "deleter");
    this.timeout = Objects.requireNonNull(timeout, "timeout");
    this.gitConfig = new LinkedHashMap<>(gitConfig);
  }

  /** Where {@link #fetch} puts (or finds) this tenant's checkout of {@code commit}. */
  public Path checkoutDir(String tenant, String commit) {
    return sourcesRoot.resolve(tenant).resolve(commit);
  }

  /**
   * The checkout of {@code commit} from {@code repoUrl}, fetched now or reused.
   *
   * @throws StepFailure {@value #FAILED} with git's own explanation (credentials redacted)
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
    Path target = checkoutDir(tenant, commit);
    if (Files.isDirectory(target)) {
      log.info("-----> Reusing the checkout of " + shortId(commit));
      return target;
    }
    log.info("-----> Fetching " + shortId(commit) + " from " + redact(repoUrl));
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
      checkOut(repoUrl, commit, work, log);
      publish(work, target);
      return target;
    } finally {
      discardQuietly(work);
    }
  }

  private void checkOut(String repoUrl, String commit, Path work, LogSink log) throws StepFailure {
    List<String> init = new ArrayList<>(List.of("init", "--quiet"));
    if (commit.length() == 64) {
      init.add("--object-format=sha256");
    }
    init.add(work.toString());
    git(work.getParent(), init, "create a repository for the checkout");
    ExternalProcess.Outcome shallow =
        run(work, List.of("fetch", "--quiet", "--no-tags", "--depth", "1", "--", repoUrl, commit));
    if (!shallow.succeeded()) {
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
      ExternalProcess.Outcome clone =
          run(
              work.getParent(),
              List.of("clone", "--quiet", "--no-checkout", "--", repoUrl, work.toString()));
      if (!clone.succeeded()) {
        throw fetchFailed(repoUrl, commit, clone);
      }
      ExternalProcess.Outcome checkout =
          run(work, List.of("checkout", "--quiet", "--detach", commit));
      if (!checkout.succeeded()) {
        throw new StepFailure(
            FAILED,
            "commit "
                + commit
                + " is not on any branch or tag of "
                + redact(repoUrl)
                + "; push it first (git said: "
                + redact(checkout.tailText()).strip()
                + ")");
      }
    } else {
      git(
          work,
          List.of("checkout", "--quiet", "--detach", "FETCH_HEAD"),
          "check out " + shortId(commit));
    }
    String head = git(work, List.of("rev-parse", "HEAD"), "read the checked-out commit").strip();
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

  private String git(Path dir, List<String> args, String what) throws StepFailure {
    StringBuilder out = new StringBuilder();
    ExternalProcess.Outcome outcome = run(dir, args, line -> out.append(line).append('\n'));
    if (!outcome.succeeded()) {
      throw new StepFailure(FAILED, "git could not " + what + ": " + describe(outcome));
    }
    return out.toString();
  }

  private ExternalProcess.Outcome run(Path dir, List<String> args) throws StepFailure {
    return run(dir, args, line -> {});
  }

  private ExternalProcess.Outcome run(
      Path dir, List<String> args, java.util.function.Consumer<String> lines) throws StepFailure {
    List<String> command = new ArrayList<>(List.of("git", "-c", "advice.detachedHead=false"));
    gitConfig.forEach((key, value) -> command.addAll(List.of("-c", key + "=" + value)));
    command.addAll(args);
    try {
      return new ExternalProcess(command, dir, gitEnvironment(), timeout, TAIL_LINES).run(lines);
    } catch (IOException e) {
      throw new StepFailure(
          FAILED, "could not run git (" + e.getMessage() + "); install git on the worker", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StepFailure(FAILED, "the fetch was interrupted because the worker is stopping", e);
    }
  }

  private static Map<String, String> gitEnvironment() {
    Map<String, String> env = new HashMap<>(System.getenv());
    // Never wait for a password nobody will type; fail with git's message instead.
    env.put("GIT_TERMINAL_PROMPT", "0");
    env.putIfAbsent("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
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
