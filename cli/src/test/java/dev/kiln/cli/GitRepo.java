package dev.kiln.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** A real git repository made by a test, one commit per {@link #commit}. */
final class GitRepo {
  private final Path dir;

  private GitRepo(Path dir) {
    this.dir = dir;
  }

  static GitRepo init(Path dir) throws IOException {
    Files.createDirectories(dir);
    SourceRepository.git(dir, null, "init", "-q", "-b", "main");
    return new GitRepo(dir);
  }

  /** Writes the files (path → content) and commits them; returns the commit id. */
  String commit(Map<String, String> files) throws IOException {
    for (var file : files.entrySet()) {
      Path path = dir.resolve(file.getKey());
      Files.createDirectories(path.getParent());
      Files.writeString(path, file.getValue());
    }
    SourceRepository.git(dir, null, "add", "-A");
    SourceRepository.git(
        dir,
        null,
        "-c",
        "user.name=test",
        "-c",
        "user.email=test@localhost",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "test commit");
    return SourceRepository.git(dir, null, "rev-parse", "HEAD").trim();
  }

  String url() {
    return "file://" + dir.toAbsolutePath();
  }

  Path dir() {
    return dir;
  }
}
