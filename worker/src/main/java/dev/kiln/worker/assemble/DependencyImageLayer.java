package dev.kiln.worker.assemble;

import dev.kiln.worker.runtime.TarWriter;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * The dependency layer as images hold it: the entries of the layer tar INSTALL joins from its
 * fragments (names relative to the dependency root), in the same order, under {@code
 * opt/kiln/deps/} ({@link ImageLayers#DEPENDENCIES_DIR}), with the three parent directories first;
 * uncompressed, so its digest is also its diff id. INSTALL stores the layer in this form, once in
 * the farm, and an image references that stored blob as it is. A layer stored before this form
 * (relative names) is rewritten by each worker that needs it: one streamed pass, no compression.
 *
 * <p>What the image gets matches what {@link MaterializedLayers} unpacks: regular files (0755 if
 * executable, else 0644), directories (0755), hard links to earlier files; everything owned by root
 * with the fixed mtime. Symbolic links stay links when they resolve inside the layer (an unpacked
 * tree has to copy their targets; a layer need not) and are left out otherwise; devices, fifos and
 * sockets are left out. A name that leaves the layer, or a hard link to no earlier file, fails.
 */
public final class DependencyImageLayer {
  private static final long MTIME_SECONDS = MaterializedLayers.FIXED_MTIME.getEpochSecond();
  private static final String ROOT = relativeRoot();

  private DependencyImageLayer() {}

  /** What was written: the layer's sha256 (hex; uncompressed, so also its diff id) and size. */
  public record Written(String hex, long size, List<String> skipped) {}

  /** What every name of an image-form layer starts with, below its three parent directories. */
  public static final String PREFIX = ROOT + "/";

  /**
   * Whether {@code tar} is already in this form: its first entries are the directories {@code
   * opt/}, {@code opt/kiln/} and {@code opt/kiln/deps/}.
   */
  public static boolean isImageForm(Path tar) throws IOException {
    try (InputStream in = new BufferedInputStream(Files.newInputStream(tar));
        TarArchiveInputStream entries = new TarArchiveInputStream(in)) {
      String parent = "";
      for (String part : ROOT.split("/")) {
        parent = parent + part + "/";
        TarArchiveEntry entry = entries.getNextEntry();
        if (entry == null || !entry.isDirectory() || !entry.getName().equals(parent)) {
          return false;
        }
      }
      return true;
    }
  }

  /**
   * Writes {@code storedTar} (relative names) to {@code imageLayer} in image form.
   *
   * @throws MaterializedLayers.LayerFormatException when a name leaves the layer or a hard link
   *     names no earlier file
   */
  public static Written write(Path storedTar, Path imageLayer) throws IOException {
    MessageDigest sha256 = sha256();
    List<String> skipped = new ArrayList<>();
    try (InputStream in = new BufferedInputStream(Files.newInputStream(storedTar), 1 << 16);
        TarArchiveInputStream stored = new TarArchiveInputStream(in);
        DigestOutputStream out =
            new DigestOutputStream(
                new BufferedOutputStream(Files.newOutputStream(imageLayer), 1 << 16), sha256)) {
      TarWriter layer = new TarWriter(out);
      String parent = "";
      for (String part : ROOT.split("/")) {
        parent = parent + part + "/";
        layer.directory(parent, 0755, MTIME_SECONDS, TarWriter.Owner.ROOT);
      }
      Set<String> files = new HashSet<>();
      TarArchiveEntry entry;
      while ((entry = stored.getNextEntry()) != null) {
        String name = MaterializedLayers.relativeName(entry.getName());
        if (name.isEmpty()) {
          continue;
        }
        String inImage = ROOT + "/" + name;
        if (entry.isDirectory()) {
          layer.directory(inImage, 0755, MTIME_SECONDS, TarWriter.Owner.ROOT);
        } else if (entry.isSymbolicLink()) {
          String problem = linkProblem(name, entry.getLinkName());
          if (problem != null) {
            skipped.add(
                "Left out the symlink " + name + " from the dependency layer: it " + problem);
            continue;
          }
          layer.symlink(inImage, entry.getLinkName(), MTIME_SECONDS, TarWriter.Owner.ROOT);
        } else if (entry.isLink()) {
          String existing = MaterializedLayers.relativeName(entry.getLinkName());
          if (!files.contains(existing)) {
            throw new MaterializedLayers.LayerFormatException(
                "hard link "
                    + entry.getName()
                    + " points to "
                    + entry.getLinkName()
                    + ", which is not an earlier regular file in the tar");
          }
          layer.hardlink(
              inImage, ROOT + "/" + existing, mode(entry), MTIME_SECONDS, TarWriter.Owner.ROOT);
        } else if (entry.isFile()) {
          files.add(name);
          layer.file(
              inImage, mode(entry), MTIME_SECONDS, TarWriter.Owner.ROOT, entry.getSize(), stored);
        } else {
          skipped.add(
              "Left out "
                  + entry.getName()
                  + " from the dependency layer: device files, fifos and sockets do not belong in"
                  + " an image layer");
        }
      }
      layer.finish();
    }
    long size = Files.size(imageLayer);
    return new Written(HexFormat.of().formatHex(sha256.digest()), size, skipped);
  }

  private static int mode(TarArchiveEntry entry) {
    return (entry.getMode() & 0111) != 0 ? 0755 : 0644;
  }

  /** Why a symlink cannot stay in the layer, or null when its target is inside it. */
  private static String linkProblem(String name, String target) {
    if (target.isEmpty() || target.startsWith("/")) {
      return "points outside the layer (" + target + ")";
    }
    Path parent = Path.of(name).getParent();
    Path resolved = (parent == null ? Path.of(target) : parent.resolve(target)).normalize();
    if (resolved.startsWith("..") || resolved.toString().isEmpty()) {
      return "points outside the layer (" + target + ")";
    }
    return null;
  }

  private static String relativeRoot() {
    return ImageLayers.DEPENDENCIES_DIR.toString().substring(1);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
