package dev.kiln.worker.fetch;

import dev.kiln.worker.steps.StepFailure;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.eclipse.jgit.errors.IncorrectObjectTypeException;
import org.eclipse.jgit.errors.MissingObjectException;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectReader;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.eclipse.jgit.treewalk.TreeWalk;

/**
 * Checks one commit of a repository on this machine (the farm's own {@code repos}, where {@code
 * kiln push} and the git remote put every push) out in-process, with JGit reading its objects: no
 * git process is started, where the git command line costs five of them (init, fetch with its
 * upload-pack, ls-tree, checkout) — most of an app-only build's DETECT on a busy machine.
 *
 * <p>It does what the command line does, with the same limits: the tree is measured before anything
 * is written ({@link TreeSize}, the same checks and messages), regular and executable files get
 * git's modes (0644, 0755), symbolic links stay links, a submodule is an empty directory. A path
 * part that git itself refuses to check out ({@code .git} in any case, {@code .}, {@code ..}) fails
 * the fetch; links are made last, so no file is ever written through one. It declines (returns
 * false, having written nothing) whatever it would not do exactly as git does, and the command line
 * takes over: SHA-256 repositories, a commit whose tree has a {@code .gitattributes} (end-of-line
 * conversion and filters), a path that is not a plain repository directory.
 *
 * <p>The checkout has no {@code .git} directory: nothing downstream reads it.
 */
final class LocalCheckout {
  private LocalCheckout() {}

  /** What the measured tree holds, for the limits. */
  record TreeSize(long files, long bytes, String largest, long largestBytes) {}

  /** Applies the fetch limits to a measured tree; throws the limit's failure. */
  @FunctionalInterface
  interface Limits {
    void enforce(TreeSize size) throws StepFailure;
  }

  /**
   * Checks {@code commit} of the repository at {@code repository} out into {@code work} (which must
   * not exist).
   *
   * @return false, with nothing written, when git's own checkout must do it (see the class comment)
   * @throws StepFailure {@link SourceFetcher#FAILED} for a missing commit or a malformed tree, or
   *     the failure {@code limits} throws
   */
  static boolean checkOut(Path repository, String commit, Path work, Limits limits, String shownUrl)
      throws StepFailure {
    Path gitDir = gitDirectory(repository);
    if (gitDir == null || commit.length() != Constants.OBJECT_ID_STRING_LENGTH) {
      return false;
    }
    try (Repository repo =
            new FileRepositoryBuilder().setGitDir(gitDir.toFile()).setMustExist(true).build();
        ObjectReader reader = repo.newObjectReader();
        RevWalk walk = new RevWalk(reader)) {
      RevCommit revision;
      try {
        revision = walk.parseCommit(ObjectId.fromString(commit));
      } catch (MissingObjectException | IncorrectObjectTypeException e) {
        throw new StepFailure(
            SourceFetcher.FAILED,
            "commit "
                + commit
                + " is not in "
                + shownUrl
                + "; push it first (or check the commit id)");
      }
      List<Entry> entries = new ArrayList<>();
      long files = 0;
      long bytes = 0;
      String largest = null;
      long largestBytes = -1;
      try (TreeWalk tree = new TreeWalk(reader)) {
        tree.addTree(revision.getTree());
        tree.setRecursive(false);
        while (tree.next()) {
          String path = tree.getPathString();
          requireCheckoutablePath(path, shownUrl);
          FileMode mode = tree.getFileMode(0);
          if (tree.isSubtree()) {
            entries.add(new Entry(path, Kind.DIRECTORY, null));
            tree.enterSubtree();
            continue;
          }
          if (mode == FileMode.GITLINK) {
            entries.add(new Entry(path, Kind.DIRECTORY, null)); // a submodule: left empty
            continue;
          }
          Kind kind =
              mode == FileMode.EXECUTABLE_FILE
                  ? Kind.EXECUTABLE
                  : mode == FileMode.SYMLINK
                      ? Kind.LINK
                      : mode == FileMode.REGULAR_FILE ? Kind.FILE : null;
          if (kind == null) {
            throw malformed(shownUrl, "'" + path + "' has an unknown file mode " + mode);
          }
          if (tree.getNameString().equals(".gitattributes")) {
            return false; // attributes may convert line ends or name filters: git's own checkout
          }
          ObjectId blob = tree.getObjectId(0);
          long size = reader.getObjectSize(blob, Constants.OBJ_BLOB);
          files++;
          bytes += size;
          if (size > largestBytes) {
            largestBytes = size;
            largest = path;
          }
          entries.add(new Entry(path, kind, blob));
        }
      }
      limits.enforce(new TreeSize(files, bytes, largest, largestBytes));
      write(reader, entries, work, shownUrl);
      return true;
    } catch (IOException e) {
      throw new StepFailure(
          SourceFetcher.FAILED,
          "could not read commit " + commit + " from " + shownUrl + ": " + e.getMessage(),
          e);
    }
  }

  private enum Kind {
    DIRECTORY,
    FILE,
    EXECUTABLE,
    LINK
  }

  private record Entry(String path, Kind kind, ObjectId blob) {}

  private static void write(ObjectReader reader, List<Entry> entries, Path work, String shownUrl)
      throws IOException, StepFailure {
    Files.createDirectories(work);
    List<Entry> links = new ArrayList<>();
    for (Entry entry : entries) {
      Path target = work.resolve(entry.path());
      try {
        switch (entry.kind()) {
          case DIRECTORY -> Files.createDirectories(target);
          case FILE, EXECUTABLE -> {
            Files.createDirectories(target.getParent());
            try (OutputStream out =
                Files.newOutputStream(
                    target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
              reader.open(entry.blob(), Constants.OBJ_BLOB).copyTo(out);
            }
            Files.setPosixFilePermissions(
                target,
                PosixFilePermissions.fromString(
                    entry.kind() == Kind.EXECUTABLE ? "rwxr-xr-x" : "rw-r--r--"));
          }
          case LINK -> links.add(entry);
        }
      } catch (FileAlreadyExistsException e) {
        throw malformed(shownUrl, "'" + entry.path() + "' appears twice in the commit's tree");
      }
    }
    // Last, so that no file above was written through a link the tree made.
    for (Entry link : links) {
      Path target = work.resolve(link.path());
      String destination =
          new String(
              reader.open(link.blob(), Constants.OBJ_BLOB).getCachedBytes(),
              java.nio.charset.StandardCharsets.UTF_8);
      try {
        Files.createDirectories(target.getParent());
        Files.createSymbolicLink(target, Path.of(destination));
      } catch (FileAlreadyExistsException e) {
        throw malformed(shownUrl, "'" + link.path() + "' appears twice in the commit's tree");
      } catch (java.nio.file.InvalidPathException e) {
        throw malformed(shownUrl, "the link '" + link.path() + "' points at an invalid path");
      }
    }
  }

  /** Refuses the path parts git refuses to check out; they could write outside the tree. */
  private static void requireCheckoutablePath(String path, String shownUrl) throws StepFailure {
    for (String part : path.split("/", -1)) {
      if (part.isEmpty()
          || part.equals(".")
          || part.equals("..")
          || part.toLowerCase(Locale.ROOT).equals(".git")
          || part.indexOf('\0') >= 0) {
        throw malformed(shownUrl, "it has a path git refuses to check out: '" + path + "'");
      }
    }
  }

  private static StepFailure malformed(String shownUrl, String what) {
    return new StepFailure(
        SourceFetcher.FAILED,
        "the commit from "
            + shownUrl
            + " cannot be checked out: "
            + what
            + ". Nothing was checked out; fix the repository (git fsck names such problems)");
  }

  /** The repository's git directory: the path itself when bare, else its {@code .git}. */
  private static Path gitDirectory(Path repository) {
    Path dotGit = repository.resolve(".git");
    if (Files.isDirectory(dotGit, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return dotGit;
    }
    if (Files.isRegularFile(repository.resolve("HEAD"))
        && Files.isDirectory(repository.resolve("objects"))
        && Files.isDirectory(repository.resolve("refs"))) {
      return repository;
    }
    return null;
  }
}
