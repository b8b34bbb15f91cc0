package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How {@code kiln push} turns a directory or a git work tree into a commit the farm can fetch. */
class SourceRepositoryTest {
  @TempDir Path temp;

  @Test
  void aWorkTreeWithNoCommitSaysToCommitFirstAndMirrorsNothing() throws Exception {
    Path app = Files.createDirectories(temp.resolve("app"));
    Files.writeString(app.resolve("requirements.txt"), "flask\n");
    SourceRepository.git(app, null, "init", "-q");
    Path repos = temp.resolve("repos");

    assertThatThrownBy(
            () -> SourceRepository.resolve(app.toString(), null, repos, "acme", "web", s -> {}))
        .isInstanceOf(UserError.class)
        .hasMessageContaining("no commit yet")
        .hasMessageContaining("commit -m")
        .hasMessageNotContaining("Needed a single revision");
    assertThat(repos).doesNotExist();
  }

  @Test
  void aRefThatIsNotInTheWorkTreeNamesTheRefAndHowToListThem() throws Exception {
    Path app = Files.createDirectories(temp.resolve("app"));
    Files.writeString(app.resolve("requirements.txt"), "flask\n");
    SourceRepository.git(app, null, "init", "-q");
    SourceRepository.git(app, null, "add", "-A");
    SourceRepository.git(
        app, null, "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-q", "-m", "v1");

    assertThatThrownBy(
            () ->
                SourceRepository.resolve(
                    app.toString(),
                    "no-such-branch",
                    temp.resolve("repos"),
                    "acme",
                    "web",
                    s -> {}))
        .isInstanceOf(UserError.class)
        .hasMessageContaining("'no-such-branch' is not a commit")
        .hasMessageContaining("branch -a");

    List<String> said = new ArrayList<>();
    SourceRepository.Resolved resolved =
        SourceRepository.resolve(
            app.toString(), null, temp.resolve("repos"), "acme", "web", said::add);
    assertThat(resolved.commit()).matches("[0-9a-f]{40}");
  }
}
