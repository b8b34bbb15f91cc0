package dev.kiln.installer.wheel;

import dev.kiln.events.Digest;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Bytecode for a fragment, compiled once by the target interpreter: the fragment's Python sources
 * are extracted ({@link #extractSources}), compiled outside this class (in the build sandbox, by
 * the runtime's own {@code python3 -m compileall --invalidation-mode unchecked-hash}), and {@link
 * #withBytecode} writes a new fragment holding the original entries plus each {@code
 * __pycache__/*.pyc}, in the layer layout's order.
 *
 * <p>Which files: every {@code .py} outside {@code bin/}, what pip compiles of an install. {@code
 * unchecked-hash} pycs carry the source's hash instead of its mtime, so they are valid in an image
 * whose files have fixed times and never change, and the same source compiled by the same
 * interpreter gives the same bytes.
 */
public final class FragmentBytecode {
  private FragmentBytecode() {}

  /** A fragment written by {@link #withBytecode}. */
  public record Written(Path tar, Digest sha256, long size, int bytecodeFiles) {}

  /**
   * Writes the fragment's Python sources (every {@code .py} file outside {@code bin/}) under {@code
   * directory}, at their paths in the dependency root. Returns how many.
   */
  public static int extractSources(Path fragment, Path directory) throws IOException {
    int count = 0;
    Path root = directory.toAbsolutePath().normalize();
    try (InputStream in = new BufferedInputStream(Files.newInputStream(fragment), 1 << 16);
        TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
      for (TarArchiveEntry entry; (entry = tar.getNextEntry()) != null; ) {
        String name = entry.getName();
        if (!entry.isFile() || !isSource(name)) {
          continue;
        }
        Path target = root.resolve(name).normalize();
        if (!target.startsWith(root)) {
          throw new IOException("fragment entry " + name + " leads outside " + root);
        }
        Files.createDirectories(target.getParent());
        try (OutputStream out = Files.newOutputStream(target)) {
          tar.transferTo(out);
        }
        count++;
      }
    }
    return count;
  }

  /**
   * A new fragment in {@code scratch}: {@code fragment}'s entries, plus every {@code
   * <dir>/__pycache__/<module>.<tag>.pyc} under {@code compiled} whose source the fragment has,
   * plus the {@code __pycache__} directories, all sorted as the layer layout sorts.
   */
  public static Written withBytecode(Path fragment, Path compiled, Path scratch)
      throws IOException {
    Map<String, Path> bytecode = bytecodeFiles(compiled);
    TreeSet<String> added = new TreeSet<>(WheelUnpacker.UTF8_ORDER);
    for (String path : bytecode.keySet()) {
      added.add(path);
      added.add(path.substring(0, path.lastIndexOf('/')));
    }
    Files.createDirectories(scratch);
    Path partial = Files.createTempFile(scratch, "bytecode-", ".tar.partial");
    boolean complete = false;
    try {
      TarWriter writer;
      try (InputStream in = new BufferedInputStream(Files.newInputStream(fragment), 1 << 16);
          TarArchiveInputStream tar = new TarArchiveInputStream(in);
          OutputStream out = new BufferedOutputStream(Files.newOutputStream(partial), 1 << 16)) {
        writer = new TarWriter(out);
        Iterator<String> extra = added.iterator();
        String next = extra.hasNext() ? extra.next() : null;
        for (TarArchiveEntry entry; (entry = tar.getNextEntry()) != null; ) {
          String name = entry.isDirectory() ? strip(entry.getName()) : entry.getName();
          while (next != null && WheelUnpacker.UTF8_ORDER.compare(next, name) < 0) {
            writeAdded(writer, next, bytecode);
            next = extra.hasNext() ? extra.next() : null;
          }
          if (next != null && next.equals(name)) {
            next = extra.hasNext() ? extra.next() : null; // already in the fragment
          }
          if (entry.isDirectory()) {
            writer.directory(name);
          } else if (entry.isFile()) {
            writer.file(name, entry.getMode() & 0777, entry.getSize(), tar);
          } else {
            throw new IOException(
                fragment + " holds " + entry.getName() + ", which a fragment never holds");
          }
        }
        while (next != null) {
          writeAdded(writer, next, bytecode);
          next = extra.hasNext() ? extra.next() : null;
        }
        writer.finish();
      }
      Digest sha256 = writer.digest();
      Path result = scratch.resolve(sha256.hex() + ".tar");
      Files.move(
          partial, result, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      complete = true;
      return new Written(result, sha256, writer.size(), bytecode.size());
    } finally {
      if (!complete) {
        Files.deleteIfExists(partial);
      }
    }
  }

  private static void writeAdded(TarWriter writer, String path, Map<String, Path> bytecode)
      throws IOException {
    Path file = bytecode.get(path);
    if (file == null) {
      writer.directory(path);
    } else {
      try (InputStream in = Files.newInputStream(file)) {
        writer.file(path, TarWriter.FILE_MODE, Files.size(file), in);
      }
    }
  }

  /** {@code .pyc} files under {@code compiled} in a {@code __pycache__} next to their source. */
  private static Map<String, Path> bytecodeFiles(Path compiled) throws IOException {
    Map<String, Path> files = new TreeMap<>(WheelUnpacker.UTF8_ORDER);
    if (!Files.isDirectory(compiled)) {
      return files;
    }
    Path root = compiled.toAbsolutePath().normalize();
    List<Path> found = new ArrayList<>();
    Files.walkFileTree(
        root,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) {
            if (attributes.isRegularFile()
                && file.getFileName().toString().endsWith(".pyc")
                && file.getParent().getFileName() != null
                && file.getParent().getFileName().toString().equals("__pycache__")) {
              found.add(file);
            }
            return FileVisitResult.CONTINUE;
          }
        });
    for (Path file : found) {
      if (Files.isSymbolicLink(file) || !Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
        continue;
      }
      String relative = root.relativize(file).toString().replace('\\', '/');
      String module = file.getFileName().toString();
      String source =
          relative.substring(0, relative.lastIndexOf("__pycache__/"))
              + module.substring(0, module.indexOf('.'))
              + ".py";
      if (Files.isRegularFile(root.resolve(source), LinkOption.NOFOLLOW_LINKS)) {
        files.put(relative, file);
      }
    }
    return files;
  }

  private static boolean isSource(String name) {
    return name.endsWith(".py") && !name.startsWith("bin/") && !name.contains("/__pycache__/");
  }

  private static String strip(String directoryName) {
    return directoryName.endsWith("/")
        ? directoryName.substring(0, directoryName.length() - 1)
        : directoryName;
  }
}
