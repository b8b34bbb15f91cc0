package dev.kiln.worker.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** File-level edits of a freshly bootstrapped Debian root filesystem, and its safe removal. */
final class Rootfs {

  static final int APP_UID = 1000;
  static final int APP_GID = 1000;
  static final String APP_USER = "app";
  static final String APP_HOME = "/app";

  /** Directories whose contents a runtime image never needs (apt re-downloads what it needs). */
  private static final List<String> EMPTIED_DIRECTORIES =
      List.of(
          "var/lib/apt/lists",
          "var/cache/apt/archives",
          "usr/share/man",
          "usr/share/info",
          "usr/share/lintian",
          "usr/share/locale");

  /** Kept inside the emptied directories: apt's lock files and partial dirs, glibc's aliases. */
  private static final List<String> KEPT_NAMES = List.of("partial", "lock", "locale.alias");

  /** Host facts debootstrap copies in; Docker mounts its own at run time. */
  private static final List<String> HOST_FILES =
      List.of("etc/hostname", "etc/resolv.conf", "var/cache/ldconfig/aux-cache");

  /** Stops apt installs in derived images from bringing the removed files back. */
  static final String DPKG_EXCLUDES =
      """
      # Written by Kiln: runtime images carry no documentation or translations.
      path-exclude=/usr/share/doc/*
      path-include=/usr/share/doc/*/copyright
      path-exclude=/usr/share/man/*
      path-exclude=/usr/share/info/*
      path-exclude=/usr/share/lintian/*
      path-exclude=/usr/share/locale/*
      path-include=/usr/share/locale/locale.alias
      """;

  private Rootfs() {}

  /**
   * Removes what a runtime does not need: apt's package lists and downloaded .debs, manuals,
   * translations, documentation except the copyright files, logs, and host-specific files.
   */
  static void trim(Path rootfs) throws IOException {
    for (String directory : EMPTIED_DIRECTORIES) {
      emptyExcept(rootfs.resolve(directory), KEPT_NAMES);
    }
    Path docs = rootfs.resolve("usr/share/doc");
    if (Files.isDirectory(docs, LinkOption.NOFOLLOW_LINKS)) {
      try (DirectoryStream<Path> packages = Files.newDirectoryStream(docs)) {
        for (Path packageDocs : packages) {
          if (Files.isDirectory(packageDocs, LinkOption.NOFOLLOW_LINKS)) {
            emptyExcept(packageDocs, List.of("copyright"));
          } else {
            removeTree(packageDocs);
          }
        }
      }
    }
    deleteMatching(rootfs.resolve("var/cache/apt"), "*.bin");
    deleteMatching(rootfs.resolve("var/cache/debconf"), "*-old");
    deleteMatching(rootfs.resolve("var/lib/dpkg"), "*-old");
    removeLogs(rootfs.resolve("var/log"));
    for (String hostFile : HOST_FILES) {
      Files.deleteIfExists(rootfs.resolve(hostFile));
    }
    Path dpkgConfig = rootfs.resolve("etc/dpkg/dpkg.cfg.d");
    Files.createDirectories(dpkgConfig);
    Files.writeString(dpkgConfig.resolve("kiln-slim"), DPKG_EXCLUDES, StandardCharsets.UTF_8);
  }

  /**
   * Adds the non-root user {@code app} (uid and gid 1000, home {@code /app}) by editing the account
   * files directly, as {@code useradd} would, and creates {@code /app}. Running it twice changes
   * nothing the second time.
   */
  static void addAppUser(Path rootfs) throws IOException {
    appendUnlessPresent(rootfs.resolve("etc/group"), APP_USER + ":x:" + APP_GID + ":");
    appendUnlessPresent(rootfs.resolve("etc/gshadow"), APP_USER + ":!::");
    appendUnlessPresent(
        rootfs.resolve("etc/passwd"),
        APP_USER + ":x:" + APP_UID + ":" + APP_GID + "::" + APP_HOME + ":/bin/sh");
    // Day 0 as the last password change keeps the file reproducible; "!" means no password login.
    appendUnlessPresent(rootfs.resolve("etc/shadow"), APP_USER + ":!:0:0:99999:7:::");
    Path home = rootfs.resolve(APP_HOME.substring(1));
    Files.createDirectories(home);
    Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private static void appendUnlessPresent(Path accountFile, String line) throws IOException {
    if (!Files.exists(accountFile)) {
      throw new IOException(
          accountFile + " is missing: the rootfs is not a complete Debian system");
    }
    String name = line.substring(0, line.indexOf(':') + 1);
    List<String> lines = Files.readAllLines(accountFile, StandardCharsets.UTF_8);
    if (lines.stream().anyMatch(existing -> existing.startsWith(name))) {
      return;
    }
    String content = Files.readString(accountFile, StandardCharsets.UTF_8);
    String separator = content.isEmpty() || content.endsWith("\n") ? "" : "\n";
    Files.writeString(
        accountFile, separator + line + "\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
  }

  private static void emptyExcept(Path directory, List<String> keptNames) throws IOException {
    if (!Files.isDirectory(directory, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (DirectoryStream<Path> children = Files.newDirectoryStream(directory)) {
      for (Path child : children) {
        if (!keptNames.contains(child.getFileName().toString())) {
          removeTree(child);
        }
      }
    }
  }

  private static void deleteMatching(Path directory, String glob) throws IOException {
    if (!Files.isDirectory(directory, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (DirectoryStream<Path> matches = Files.newDirectoryStream(directory, glob)) {
      for (Path match : matches) {
        removeTree(match);
      }
    }
  }

  /** Log files go; the empty accounting files (wtmp, btmp, lastlog) stay as login tools expect. */
  private static void removeLogs(Path logDirectory) throws IOException {
    if (!Files.isDirectory(logDirectory, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    List<Path> logs = new ArrayList<>();
    Files.walkFileTree(
        logDirectory,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) {
            if (attributes.isRegularFile() && attributes.size() > 0) {
              logs.add(file);
            }
            return FileVisitResult.CONTINUE;
          }
        });
    for (Path log : logs) {
      Files.delete(log);
    }
  }

  /**
   * Deletes a tree without following symlinks and without entering other file systems: anything
   * still mounted inside it (debootstrap mounts {@code /proc}, and a failed run can leave that
   * behind) is unmounted first, and a mount that will not go is left alone rather than emptied.
   */
  static void removeTree(Path tree) throws IOException {
    if (!Files.exists(tree, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    if (!Files.isDirectory(tree, LinkOption.NOFOLLOW_LINKS)) {
      Files.delete(tree);
      return;
    }
    unmountEverythingUnder(tree);
    Object rootDevice = Files.getAttribute(tree, "unix:dev", LinkOption.NOFOLLOW_LINKS);
    Files.walkFileTree(
        tree,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path directory, BasicFileAttributes attributes)
              throws IOException {
            Object device = Files.getAttribute(directory, "unix:dev", LinkOption.NOFOLLOW_LINKS);
            if (!device.equals(rootDevice)) {
              throw new IOException(
                  directory
                      + " is still a mount point; unmount it (umount -l "
                      + directory
                      + ") and delete "
                      + tree
                      + " by hand");
            }
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attributes)
              throws IOException {
            Files.delete(file);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult postVisitDirectory(Path directory, IOException failure)
              throws IOException {
            if (failure != null) {
              throw failure;
            }
            Files.delete(directory);
            return FileVisitResult.CONTINUE;
          }
        });
  }

  private static final Pattern OCTAL_ESCAPE = Pattern.compile("\\\\([0-7]{3})");

  private static void unmountEverythingUnder(Path tree) throws IOException {
    Path mountInfo = Path.of("/proc/self/mountinfo");
    if (!Files.isReadable(mountInfo)) {
      return;
    }
    String prefix = tree.toRealPath().toString() + "/";
    List<String> mountPoints = new ArrayList<>();
    for (String line : Files.readAllLines(mountInfo, StandardCharsets.UTF_8)) {
      String[] fields = line.split(" ");
      if (fields.length > 4) {
        String mountPoint = unescape(fields[4]);
        if (mountPoint.startsWith(prefix)) {
          mountPoints.add(mountPoint);
        }
      }
    }
    mountPoints.sort(Comparator.comparing(String::length).reversed());
    for (String mountPoint : mountPoints) {
      try {
        new ProcessBuilder("umount", "-l", mountPoint)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start()
            .waitFor();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("Interrupted while unmounting " + mountPoint, e);
      }
    }
  }

  /** mountinfo writes space, tab, newline and backslash in paths as three-digit octal escapes. */
  private static String unescape(String field) {
    Matcher escape = OCTAL_ESCAPE.matcher(field);
    StringBuilder unescaped = new StringBuilder();
    while (escape.find()) {
      escape.appendReplacement(
          unescaped,
          Matcher.quoteReplacement(String.valueOf((char) Integer.parseInt(escape.group(1), 8))));
    }
    escape.appendTail(unescaped);
    return unescaped.toString();
  }
}
