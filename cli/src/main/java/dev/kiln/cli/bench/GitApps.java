package dev.kiln.cli.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The bench's apps: one local git repository each, pushed to the farm's git remote ({@code
 * <coordinator>/git/<tenant>/<app>.git}) with the plain {@code git} client; the push waits for the
 * build, so its wall time is the client's figure.
 */
final class GitApps {
  private static final Pattern BUILD_ID = Pattern.compile("Build (b-[0-9a-z]+)");
  private static final Map<String, String> GIT_ENV =
      Map.of(
          "GIT_AUTHOR_NAME", "kiln-bench",
          "GIT_AUTHOR_EMAIL", "bench@kiln.invalid",
          "GIT_COMMITTER_NAME", "kiln-bench",
          "GIT_COMMITTER_EMAIL", "bench@kiln.invalid",
          "GIT_TERMINAL_PROMPT", "0",
          "GIT_CONFIG_NOSYSTEM", "1");

  /** One push: the build it started and the client's wall time. */
  record Push(String tenant, String app, String buildId, long clientMillis, String output) {}

  private final Path root;
  private final String coordinatorUrl;
  private final String authHeader;

  GitApps(Path root, String coordinatorUrl, String token) {
    this.root = root;
    this.coordinatorUrl = coordinatorUrl;
    this.authHeader =
        "Authorization: Basic "
            + Base64.getEncoder()
                .encodeToString(("kiln:" + token).getBytes(StandardCharsets.UTF_8));
  }

  Path dir(String tenant, String app) {
    return root.resolve(tenant).resolve(app);
  }

  /** Creates the app's repository (once) and commits {@code files} over its work tree. */
  void commit(String tenant, String app, Map<String, String> files, String message)
      throws IOException {
    Path dir = dir(tenant, app);
    if (!Files.isDirectory(dir.resolve(".git"))) {
      Files.createDirectories(dir);
      git(dir, "init", "-q", "-b", "main");
    }
    for (var file : files.entrySet()) {
      Files.writeString(dir.resolve(file.getKey()), file.getValue(), StandardCharsets.UTF_8);
    }
    git(dir, "add", "-A");
    git(dir, "commit", "-q", "--allow-empty", "-m", message);
  }

  /** {@code git push} of the app's main branch; throws when the build (and so the push) failed. */
  Push push(String tenant, String app) {
    return push(tenant, app, false);
  }

  /**
   * {@code git push} of the app's main branch; with {@code allowFailure} a push whose build failed
   * returns (its build record tells why), and only a push that started no build throws.
   */
  Push push(String tenant, String app, boolean allowFailure) {
    Path dir = dir(tenant, app);
    String url = coordinatorUrl + "/git/" + tenant + "/" + app + ".git";
    Shell.Result result =
        Shell.run(
            dir,
            GIT_ENV,
            List.of("git", "-c", "http.extraHeader=" + authHeader, "push", url, "main:main"));
    Matcher id = BUILD_ID.matcher(result.output());
    boolean found = id.find();
    if (!found || (result.exit() != 0 && !allowFailure)) {
      throw new BenchFailure(
          "git push of "
              + tenant
              + "/"
              + app
              + " failed (exit "
              + result.exit()
              + "):\n"
              + Shell.tail(result.output(), 4000));
    }
    return new Push(tenant, app, id.group(1), result.millis(), result.output());
  }

  private static void git(Path dir, String... args) {
    List<String> command = new ArrayList<>();
    command.add("git");
    command.addAll(List.of(args));
    Shell.run(dir, GIT_ENV, command).orThrow("git " + String.join(" ", args) + " in " + dir);
  }

  /** The build id a push's output names ({@code Build b-… queued}); null when there is none. */
  static String buildId(String pushOutput) {
    Matcher id = BUILD_ID.matcher(pushOutput);
    return id.find() ? id.group(1) : null;
  }
}
