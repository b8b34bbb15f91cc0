package dev.kiln.installer.wheel;

import dev.kiln.events.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/** What tests look at in directory trees and tars. */
final class Trees {
  private Trees() {}

  /** Every path under {@code root} with what it is: {@code dir}, {@code link} or a file's hash. */
  static Map<String, String> snapshot(Path root) throws IOException {
    Map<String, String> snapshot = new TreeMap<>();
    if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      return snapshot;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path path : walk.toList()) {
        String name = root.relativize(path).toString();
        if (Files.isSymbolicLink(path)) {
          snapshot.put(name, "link");
        } else if (Files.isDirectory(path)) {
          snapshot.put(name, "dir");
        } else {
          snapshot.put(name, Digest.compute(path).toString());
        }
      }
    }
    return snapshot;
  }

  /** A tar entry as tests check it. */
  record TarItem(String name, int mode, long size, long mtime, long uid, long gid, boolean dir) {}

  static List<TarItem> list(Path tar) throws IOException {
    List<TarItem> items = new ArrayList<>();
    try (InputStream in = Files.newInputStream(tar);
        TarArchiveInputStream entries = new TarArchiveInputStream(in)) {
      for (TarArchiveEntry entry; (entry = entries.getNextEntry()) != null; ) {
        items.add(
            new TarItem(
                entry.getName(),
                entry.getMode(),
                entry.getSize(),
                entry.getLastModifiedDate().getTime() / 1000,
                entry.getLongUserId(),
                entry.getLongGroupId(),
                entry.isDirectory()));
      }
    }
    return items;
  }

  /** The content of each regular file in the tar, by name. */
  static Map<String, byte[]> contents(Path tar) throws IOException {
    Map<String, byte[]> contents = new TreeMap<>();
    try (InputStream in = Files.newInputStream(tar);
        TarArchiveInputStream entries = new TarArchiveInputStream(in)) {
      for (TarArchiveEntry entry; (entry = entries.getNextEntry()) != null; ) {
        if (entry.isFile()) {
          contents.put(entry.getName(), entries.readAllBytes());
        }
      }
    }
    return contents;
  }

  /** Runs {@code tar -xf} into {@code directory}; fails with tar's output. */
  static void extract(Path tar, Path directory) throws IOException, InterruptedException {
    Files.createDirectories(directory);
    Process process =
        new ProcessBuilder("tar", "-xf", tar.toString(), "-C", directory.toString())
            .redirectErrorStream(true)
            .start();
    String output = new String(process.getInputStream().readAllBytes());
    if (!process.waitFor(120, java.util.concurrent.TimeUnit.SECONDS) || process.exitValue() != 0) {
      throw new IOException("tar -xf " + tar + " failed: " + output);
    }
  }
}
