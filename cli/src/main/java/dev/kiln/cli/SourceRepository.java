package dev.kiln.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Turns what the user points {@code kiln push} at into a repository URL and a commit: a git work
 * tree's commit is copied (git push) to the farm's repository for the tenant and app, so the farm
 * builds it from a place the tenant may use; a plain directory is committed to a local repository
 * under the farm's home first (the directory itself is never modified); anything else is treated as
 * a git URL.
 */
final class SourceRepository {
  record Resolved(String repoUrl, String ref, String commit) {}

  private SourceRepository() {}

  static Resolved resolve(
      String source, String ref, Path reposDir, String tenant, String app, Consumer<String> say) {
    Path dir = Path.of(source);
    if (Files.isDirectory(dir)) {
      Path abs = dir.toAbsolutePath().normalize();
      if (isWorkTreeRoot(abs)) {
        String wanted = ref == null ? "HEAD" : ref;
        String commit = committed(abs, wanted);
        if (!git(abs, null, "status", "--porcelain").isBlank()) {
          say.accept(
              "Note: "
                  + abs
                  + " has uncommitted changes; building the committed "
                  + wanted
                  + " ("
                  + commit.substring(0, 12)
                  + ").");
        }
        return mirror(abs, commit, wanted, reposDir.resolve(tenant).resolve(app + ".git"));
      }
      return commitPlainDirectory(abs, reposDir.resolve(tenant).resolve(app + ".git"), say);
    }
    if (source.contains("://") || source.matches("[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:.+")) {
      String wanted = ref == null ? "HEAD" : ref;
      String out = git(null, null, "ls-remote", source, wanted);
      if (out.isBlank()) {
        throw new UserError(
            "'"
                + wanted
                + "' does not exist in "
                + source
                + "; pass an existing branch or tag with --ref");
      }
      return new Resolved(source, wanted, out.split("\\s+")[0]);
    }
    throw new UserError(
        "'"
            + source
            + "' is neither a directory nor a git URL; pass the app's directory or its repository URL");
  }

  /**
   * Copies a work tree's commit into the farm's repository for the tenant and app: a farm builds
   * only from repositories its tenant may use, and a local farm's are the ones under {@code
   * <home>/repos/<tenant>/}.
   */
  private static Resolved mirror(Path workTree, String commit, String ref, Path gitDir) {
    try {
      if (!Files.isDirectory(gitDir)) {
        Files.createDirectories(gitDir.getParent());
        git(null, null, "init", "-q", "--bare", gitDir.toString());
      }
    } catch (IOException e) {
      throw new UserError("cannot create " + gitDir + ": " + e.getMessage(), 1);
    }
    git(
        workTree,
        null,
        "push",
        "--quiet",
        "--force",
        gitDir.toString(),
        commit + ":refs/heads/kiln/" + commit);
    return new Resolved("file://" + gitDir, ref, commit);
  }

  /** The commit {@code wanted} names in the work tree at {@code dir}, or a fix when none. */
  private static String committed(Path dir, String wanted) {
    String[] tree = {"-C", dir.toString()};
    String commit = gitWithOptional(tree, "rev-parse", "--verify", "-q", wanted + "^{commit}");
    if (!commit.isBlank()) {
      return commit.trim();
    }
    boolean hasAnyCommit = !gitWithOptional(tree, "rev-parse", "--verify", "-q", "HEAD").isBlank();
    if (!hasAnyCommit) {
      throw new UserError(
          dir
              + " is a git work tree with no commit yet, and Kiln builds commits: commit the app"
              + " first (git -C "
              + dir
              + " add -A && git -C "
              + dir
              + " commit -m 'first version'), then push again",
          2);
    }
    throw new UserError(
        "'"
            + wanted
            + "' is not a commit, branch or tag in "
            + dir
            + "; pass an existing one with --ref (git -C "
            + dir
            + " branch -a lists them)",
        2);
  }

  private static boolean isWorkTreeRoot(Path dir) {
    try {
      String top = git(dir, null, "rev-parse", "--show-toplevel").trim();
      return Path.of(top).toRealPath().equals(dir.toRealPath());
    } catch (UserError | IOException e) {
      return false;
    }
  }

  private static Resolved commitPlainDirectory(Path dir, Path gitDir, Consumer<String> say) {
    try {
      if (!Files.isDirectory(gitDir)) {
        Files.createDirectories(gitDir.getParent());
        git(null, null, "init", "-q", "--bare", gitDir.toString());
      }
    } catch (IOException e) {
      throw new UserError("cannot create " + gitDir + ": " + e.getMessage(), 1);
    }
    String[] tree = {"--git-dir=" + gitDir, "--work-tree=" + dir};
    gitWith(tree, "add", "-A", ".");
    boolean hasHead = !gitWithOptional(tree, "rev-parse", "--verify", "-q", "HEAD").isBlank();
    boolean changed = !hasHead || !gitWith(tree, "status", "--porcelain").isBlank();
    if (changed) {
      gitWith(
          tree,
          "-c",
          "user.name=kiln",
          "-c",
          "user.email=kiln@localhost",
          "commit",
          "-q",
          "--allow-empty",
          "-m",
          "kiln push of " + dir);
    }
    String commit = gitWith(tree, "rev-parse", "HEAD").trim();
    say.accept(
        (changed ? "Committed " : "No changes in ")
            + dir
            + (changed ? " as " : "; reusing ")
            + commit.substring(0, 12)
            + " in "
            + gitDir);
    return new Resolved("file://" + gitDir, "HEAD", commit);
  }

  private static String gitWith(String[] prefix, String... args) {
    List<String> all = new ArrayList<>(List.of(prefix));
    all.addAll(List.of(args));
    return git(null, null, all.toArray(String[]::new));
  }

  private static String gitWithOptional(String[] prefix, String... args) {
    try {
      return gitWith(prefix, args);
    } catch (UserError e) {
      return "";
    }
  }

  static String git(Path cwd, Map<String, String> env, String... args) {
    List<String> command = new ArrayList<>();
    command.add("git");
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    if (cwd != null) {
      pb.directory(cwd.toFile());
    }
    pb.environment().put("GIT_TERMINAL_PROMPT", "0");
    if (env != null) {
      pb.environment().putAll(env);
    }
    try {
      Process p = pb.start();
      p.getOutputStream().close();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new UserError("git " + String.join(" ", args) + " did not finish within 120 s", 1);
      }
      String text = new String(out, StandardCharsets.UTF_8);
      if (p.exitValue() != 0) {
        throw new UserError("git " + String.join(" ", args) + " failed: " + text.strip(), 1);
      }
      return text;
    } catch (IOException e) {
      throw new UserError("cannot run git (" + e.getMessage() + "); install git and try again", 1);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UserError("interrupted while running git", 1);
    }
  }
}
