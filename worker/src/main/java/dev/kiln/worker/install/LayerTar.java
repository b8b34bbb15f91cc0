package dev.kiln.worker.install;

import dev.kiln.events.Digest;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Writes a directory tree as a reproducible, uncompressed POSIX tar: the same tree gives the same
 * bytes on every worker. Entries are sorted by path and relative to the tree's root (no {@code ./}
 * prefix, directories end in {@code /}); every entry has mtime {@value #MTIME_SECONDS}, uid/gid 0
 * and no user names. Modes are normalised to 0755 (directories and anything executable) or 0644, so
 * the worker's umask cannot change the digest; executability is what survives. Names that do not
 * fit a ustar header travel in a pax extended header.
 */
public final class LayerTar {
  /** 1970-01-01T00:00:01Z, as jib uses: some tools treat an mtime of 0 as "unset". */
  public static final long MTIME_SECONDS = 1;

  private static final int BLOCK = 512;
  private static final long MAX_USTAR_SIZE = 077777777777L;

  /** What was written: the archive's sha256 (hex), its size and how many entries it has. */
  public record Written(Digest sha256, long size, int entries) {}

  private LayerTar() {}

  /** Writes the tree under {@code root} to {@code tarFile} (replacing it). */
  public static Written write(Path root, Path tarFile) throws IOException {
    List<Path> paths = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(root)) {
      walk.filter(p -> !p.equals(root)).forEach(paths::add);
    }
    List<String> names = new ArrayList<>(paths.size());
    for (Path path : paths) {
      names.add(relativeName(root, path));
    }
    Integer[] order = new Integer[paths.size()];
    Arrays.setAll(order, i -> i);
    Arrays.sort(order, (a, b) -> compareUtf8(names.get(a), names.get(b)));

    MessageDigest sha256 = Digest.newSha256();
    long size;
    try (CountingOutputStream counting =
            new CountingOutputStream(
                new BufferedOutputStream(Files.newOutputStream(tarFile), 1 << 16));
        DigestOutputStream out = new DigestOutputStream(counting, sha256)) {
      for (Integer index : order) {
        writeEntry(out, paths.get(index), names.get(index));
      }
      out.write(new byte[2 * BLOCK]);
      out.flush();
      size = counting.count;
    }
    return new Written(Digest.fromSha256(sha256), size, paths.size());
  }

  private static void writeEntry(OutputStream out, Path path, String name) throws IOException {
    PosixFileAttributes attributes =
        Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    if (attributes.isSymbolicLink()) {
      String target = Files.readSymbolicLink(path).toString();
      header(out, name, '2', 0777, 0, target);
    } else if (attributes.isDirectory()) {
      header(out, name + "/", '5', 0755, 0, "");
    } else if (attributes.isRegularFile()) {
      long size = attributes.size();
      header(out, name, '0', isExecutable(attributes.permissions()) ? 0755 : 0644, size, "");
      try (InputStream in = Files.newInputStream(path)) {
        long copied = in.transferTo(new LimitedOutputStream(out, size));
        if (copied != size) {
          throw new IOException(
              path
                  + " changed while it was archived (expected "
                  + size
                  + " bytes, read "
                  + copied
                  + "); nothing else may write to the directory being archived");
        }
      }
      pad(out, size);
    } else {
      throw new IOException(
          path
              + " is neither a file, a directory nor a symbolic link; a dependency layer cannot"
              + " hold devices, sockets or pipes");
    }
  }

  private static boolean isExecutable(Set<PosixFilePermission> permissions) {
    return permissions.contains(PosixFilePermission.OWNER_EXECUTE)
        || permissions.contains(PosixFilePermission.GROUP_EXECUTE)
        || permissions.contains(PosixFilePermission.OTHERS_EXECUTE);
  }

  private static void header(
      OutputStream out, String name, char type, int mode, long size, String link)
      throws IOException {
    byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
    byte[] linkBytes = link.getBytes(StandardCharsets.UTF_8);
    boolean nameFits = nameBytes.length <= 100 && isAscii(nameBytes);
    boolean linkFits = linkBytes.length <= 100 && isAscii(linkBytes);
    if (!nameFits || !linkFits || size > MAX_USTAR_SIZE) {
      StringBuilder records = new StringBuilder();
      if (!nameFits) {
        records.append(paxRecord("path", name));
      }
      if (!linkFits) {
        records.append(paxRecord("linkpath", link));
      }
      if (size > MAX_USTAR_SIZE) {
        records.append(paxRecord("size", Long.toString(size)));
      }
      byte[] pax = records.toString().getBytes(StandardCharsets.UTF_8);
      out.write(block(asciiPrefix("PaxHeaders/" + name, 100), 'x', 0644, pax.length, ""));
      out.write(pax);
      pad(out, pax.length);
    }
    out.write(
        block(
            nameFits ? name : asciiPrefix(name, 100),
            type,
            mode,
            size > MAX_USTAR_SIZE ? 0 : size,
            linkFits ? link : asciiPrefix(link, 100)));
  }

  private static byte[] block(String name, char type, int mode, long size, String link) {
    byte[] header = new byte[BLOCK];
    put(header, 0, 100, name.getBytes(StandardCharsets.US_ASCII));
    octal(header, 100, 8, mode);
    octal(header, 108, 8, 0);
    octal(header, 116, 8, 0);
    octal(header, 124, 12, size);
    octal(header, 136, 12, MTIME_SECONDS);
    Arrays.fill(header, 148, 156, (byte) ' ');
    header[156] = (byte) type;
    put(header, 157, 100, link.getBytes(StandardCharsets.US_ASCII));
    put(header, 257, 6, "ustar\0".getBytes(StandardCharsets.US_ASCII));
    put(header, 263, 2, "00".getBytes(StandardCharsets.US_ASCII));
    octal(header, 329, 8, 0);
    octal(header, 337, 8, 0);
    long checksum = 0;
    for (byte b : header) {
      checksum += b & 0xff;
    }
    String digits = String.format("%06o", checksum);
    put(header, 148, 6, digits.getBytes(StandardCharsets.US_ASCII));
    header[154] = 0;
    header[155] = ' ';
    return header;
  }

  private static String paxRecord(String key, String value) {
    int payload =
        key.getBytes(StandardCharsets.UTF_8).length
            + value.getBytes(StandardCharsets.UTF_8).length
            + 3;
    int length = payload + Integer.toString(payload).length();
    if (Integer.toString(length).length() != Integer.toString(payload).length()) {
      length++;
    }
    return length + " " + key + "=" + value + "\n";
  }

  private static String asciiPrefix(String text, int maxBytes) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < text.length() && out.length() < maxBytes; i++) {
      char c = text.charAt(i);
      out.append(c >= 0x20 && c < 0x7f ? c : '_');
    }
    return out.toString();
  }

  private static boolean isAscii(byte[] bytes) {
    for (byte b : bytes) {
      if (b < 0x20) {
        return false;
      }
    }
    return true;
  }

  private static void put(byte[] header, int offset, int length, byte[] value) {
    System.arraycopy(value, 0, header, offset, Math.min(length, value.length));
  }

  private static void octal(byte[] header, int offset, int length, long value) {
    String digits = Long.toOctalString(value);
    String padded = "0".repeat(length - 1 - digits.length()) + digits;
    put(header, offset, length - 1, padded.getBytes(StandardCharsets.US_ASCII));
    header[offset + length - 1] = 0;
  }

  private static void pad(OutputStream out, long size) throws IOException {
    int remainder = (int) (size % BLOCK);
    if (remainder != 0) {
      out.write(new byte[BLOCK - remainder]);
    }
  }

  private static String relativeName(Path root, Path path) {
    StringBuilder name = new StringBuilder();
    for (Path part : root.relativize(path)) {
      if (name.length() > 0) {
        name.append('/');
      }
      name.append(part);
    }
    return name.toString();
  }

  /** Byte order of the UTF-8 names, so the order does not depend on Java's UTF-16 strings. */
  private static int compareUtf8(String a, String b) {
    return Arrays.compareUnsigned(
        a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
  }

  private static final class CountingOutputStream extends java.io.FilterOutputStream {
    private long count;

    CountingOutputStream(OutputStream out) {
      super(out);
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      count += len;
    }
  }

  /** Refuses to write past the size announced in the header (a file that grew meanwhile). */
  private static final class LimitedOutputStream extends OutputStream {
    private final OutputStream out;
    private long remaining;

    LimitedOutputStream(OutputStream out, long limit) {
      this.out = out;
      this.remaining = limit;
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      if (len > remaining) {
        throw new IOException("a file grew while it was archived; nothing else may write to it");
      }
      out.write(b, off, len);
      remaining -= len;
    }
  }
}
