package dev.kiln.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A real git repository made with the git command line, for tests. */
public final class GitRepo {
  private final Path dir;

  private GitRepo(Path dir) {
    this.dir = dir;
  }

  public static GitRepo init(Path dir) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    GitRepo repo = new GitRepo(dir);
    repo.git("init", "--quiet", "--initial-branch=main");
    return repo;
  }

  public Path dir() {
    return dir;
  }

  public String url() {
    return dir.toUri().toString();
  }

  /** Writes the files (path → content) and commits them; returns the commit id. */
  public String commit(Map<String, String> files, String message)
      throws IOException, InterruptedException {
    for (var file : files.entrySet()) {
      Path path = dir.resolve(file.getKey());
      Files.createDirectories(path.getParent());
      Files.writeString(path, file.getValue(), StandardCharsets.UTF_8);
    }
    git("add", "--all");
    git(
        "-c",
        "user.name=Kiln Test",
        "-c",
        "user.email=test@kiln.dev",
        "commit",
        "--quiet",
        "--allow-empty",
        "-m",
        message);
    return git("rev-parse", "HEAD").strip();
  }

  public String git(String... args) throws IOException, InterruptedException {
    return run(dir, args);
  }

  public static String run(Path dir, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add("git");
    command.addAll(List.of(args));
    ProcessBuilder builder =
        new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
    builder.environment().put("GIT_CONFIG_NOSYSTEM", "1");
    Process process = builder.start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
      throw new IOException("git " + String.join(" ", args) + " failed in " + dir + ":\n" + output);
    }
    return output;
  }
}
