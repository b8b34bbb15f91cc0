package dev.kiln.installer.wheel;

import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Makes a dependency layer from layer fragments ({@link WheelFragments}): one tar that is their
 * concatenation, in the order given, each fragment's end-of-archive blocks left out and one
 * end-of-archive at the end. A new set of already unpacked wheels costs one copy and one hash.
 *
 * <p>Each fragment keeps its own order (sorted by path), so the layer is sorted fragment by
 * fragment, not as a whole; its entries are otherwise in the layer layout (docs/worker.md). A
 * directory several fragments hold ({@code bin/}) appears once per fragment, each time with the
 * same header. When two fragments write the same path, the later one's entry is what the image has,
 * as with any tar that holds a path twice; such paths are reported as {@link
 * ConcatenatedLayer.Overlap}s for the caller to log.
 *
 * <p>Fragments are read as this engine writes them (ustar headers, pax extended headers for long
 * names and sizes); anything else is {@code install::invalid-fragment}.
 */
public final class LayerConcatenation {
  private static final int BLOCK = TarWriter.BLOCK;

  private LayerConcatenation() {}

  /**
   * Writes the concatenation of {@code fragments} to {@code layerTar} (replacing it; nothing is
   * left there on failure).
   */
  public static ConcatenatedLayer concatenate(List<Path> fragments, Path layerTar)
      throws InstallerException, IOException {
    Objects.requireNonNull(fragments, "fragments");
    Objects.requireNonNull(layerTar, "layerTar");
    Path directory = layerTar.toAbsolutePath().getParent();
    Files.createDirectories(directory);
    Path partial =
        Files.createTempFile(directory, layerTar.getFileName().toString() + "-", ".partial");
    boolean complete = false;
    try {
      Paths paths = new Paths();
      MessageDigest sha256 = dev.kiln.events.Digest.newSha256();
      long size;
      try (CountingOutputStream counting =
              new CountingOutputStream(
                  new BufferedOutputStream(Files.newOutputStream(partial), 1 << 16));
          DigestOutputStream out = new DigestOutputStream(counting, sha256)) {
        for (int index = 0; index < fragments.size(); index++) {
          Path fragment = fragments.get(index);
          try (InputStream in = new BufferedInputStream(Files.newInputStream(fragment), 1 << 16)) {
            copyEntries(fragment, index, in, out, paths);
          }
        }
        out.write(new byte[2 * BLOCK]);
        out.flush();
        size = counting.count;
      }
      Files.move(
          partial, layerTar, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      complete = true;
      return new ConcatenatedLayer(
          layerTar, dev.kiln.events.Digest.fromSha256(sha256), size, paths.entries, paths.overlaps);
    } finally {
      if (!complete) {
        Files.deleteIfExists(partial);
      }
    }
  }

  /** The paths seen so far: which fragment last wrote each, and whether as a directory. */
  private static final class Paths {
    private final Map<String, Integer> files = new HashMap<>();
    private final Map<String, Integer> directories = new HashMap<>();
    private final List<ConcatenatedLayer.Overlap> overlaps = new ArrayList<>();
    private int entries;

    void add(String path, boolean directory, int fragment) {
      entries++;
      Integer earlierFile = files.get(path);
      Integer earlierDirectory = directories.get(path);
      Integer earlier =
          directory ? earlierFile : earlierFile != null ? earlierFile : earlierDirectory;
      if (earlier != null && earlier != fragment) {
        overlaps.add(new ConcatenatedLayer.Overlap(path, earlier, fragment));
      }
      if (directory) {
        files.remove(path);
        directories.put(path, fragment);
      } else {
        directories.remove(path);
        files.put(path, fragment);
      }
    }
  }

  /** Copies every entry of one fragment, up to (not including) its end-of-archive marker. */
  private static void copyEntries(
      Path fragment, int index, InputStream in, OutputStream out, Paths paths)
      throws InstallerException, IOException {
    String paxPath = null;
    long paxSize = -1;
    byte[] header = new byte[BLOCK];
    while (true) {
      int read = in.readNBytes(header, 0, BLOCK);
      if (read == 0) {
        return; // no end-of-archive marker: the entries are complete all the same
      }
      if (read < BLOCK) {
        throw invalid(fragment, "ends in the middle of a header block");
      }
      if (isZero(header)) {
        requireOnlyZeros(fragment, in);
        if (paxPath != null || paxSize >= 0) {
          throw invalid(fragment, "ends after a pax header, without its entry");
        }
        return;
      }
      checkChecksum(fragment, header);
      char type = (char) header[156];
      long size = octal(fragment, header, 124, 12);
      out.write(header);
      switch (type) {
        case 'x' -> {
          if (size > 1 << 20) {
            throw invalid(fragment, "has a pax header of " + size + " bytes");
          }
          byte[] data = in.readNBytes((int) size);
          if (data.length != size) {
            throw invalid(fragment, "ends in the middle of a pax header");
          }
          out.write(data);
          copyPadding(fragment, in, out, size);
          for (String record : paxRecords(fragment, data)) {
            int equals = record.indexOf('=');
            String key = record.substring(0, equals);
            String value = record.substring(equals + 1);
            if (key.equals("path")) {
              paxPath = value;
            } else if (key.equals("size")) {
              paxSize = parseSize(fragment, value);
            }
          }
        }
        case '0', '\0', '5', '2', '1' -> {
          String name = paxPath != null ? paxPath : ustarName(header);
          long dataSize = paxSize >= 0 ? paxSize : size;
          paxPath = null;
          paxSize = -1;
          boolean directory = type == '5';
          if (type != '0' && type != '\0') {
            dataSize = 0; // links and directories have no data, whatever the size field says
          }
          String path = name.endsWith("/") ? name.substring(0, name.length() - 1) : name;
          if (path.isEmpty()) {
            throw invalid(fragment, "has an entry without a name");
          }
          paths.add(path, directory, index);
          copyData(fragment, in, out, dataSize);
          copyPadding(fragment, in, out, dataSize);
        }
        default ->
            throw invalid(
                fragment,
                "has an entry of type '"
                    + type
                    + "', which layer fragments never hold (files, directories, links and pax"
                    + " headers only)");
      }
    }
  }

  private static void copyData(Path fragment, InputStream in, OutputStream out, long size)
      throws InstallerException, IOException {
    byte[] buffer = new byte[1 << 16];
    long remaining = size;
    while (remaining > 0) {
      int read = in.read(buffer, 0, (int) Math.min(buffer.length, remaining));
      if (read < 0) {
        throw invalid(fragment, "ends in the middle of a file");
      }
      out.write(buffer, 0, read);
      remaining -= read;
    }
  }

  private static void copyPadding(Path fragment, InputStream in, OutputStream out, long size)
      throws InstallerException, IOException {
    int padding = (int) ((BLOCK - size % BLOCK) % BLOCK);
    if (padding > 0) {
      byte[] zeros = in.readNBytes(padding);
      if (zeros.length != padding) {
        throw invalid(fragment, "ends in the middle of a block");
      }
      out.write(zeros);
    }
  }

  private static void requireOnlyZeros(Path fragment, InputStream in)
      throws InstallerException, IOException {
    byte[] buffer = new byte[1 << 16];
    for (int read; (read = in.read(buffer)) >= 0; ) {
      for (int i = 0; i < read; i++) {
        if (buffer[i] != 0) {
          throw invalid(fragment, "has data after its end-of-archive marker");
        }
      }
    }
  }

  private static List<String> paxRecords(Path fragment, byte[] data) throws InstallerException {
    List<String> records = new ArrayList<>();
    int position = 0;
    while (position < data.length) {
      int space = position;
      while (space < data.length && data[space] != ' ') {
        space++;
      }
      int length;
      try {
        length =
            Integer.parseInt(
                new String(data, position, space - position, StandardCharsets.US_ASCII));
      } catch (NumberFormatException e) {
        throw invalid(fragment, "has a malformed pax record");
      }
      if (length <= space - position + 2 || position + length > data.length) {
        throw invalid(fragment, "has a malformed pax record");
      }
      String record =
          new String(data, space + 1, position + length - space - 2, StandardCharsets.UTF_8);
      if (data[position + length - 1] != '\n' || record.indexOf('=') <= 0) {
        throw invalid(fragment, "has a malformed pax record");
      }
      records.add(record);
      position += length;
    }
    return records;
  }

  private static String ustarName(byte[] header) {
    String name = cString(header, 0, 100);
    boolean ustar =
        header[257] == 'u'
            && header[258] == 's'
            && header[259] == 't'
            && header[260] == 'a'
            && header[261] == 'r';
    String prefix = ustar ? cString(header, 345, 155) : "";
    return prefix.isEmpty() ? name : prefix + "/" + name;
  }

  private static String cString(byte[] header, int offset, int length) {
    int end = offset;
    while (end < offset + length && header[end] != 0) {
      end++;
    }
    return new String(header, offset, end - offset, StandardCharsets.UTF_8);
  }

  private static long octal(Path fragment, byte[] header, int offset, int length)
      throws InstallerException {
    String digits = cString(header, offset, length).strip();
    if (digits.isEmpty()) {
      return 0;
    }
    try {
      return Long.parseLong(digits, 8);
    } catch (NumberFormatException e) {
      throw invalid(fragment, "has a header with a malformed number ('" + digits + "')");
    }
  }

  private static long parseSize(Path fragment, String value) throws InstallerException {
    try {
      long size = Long.parseLong(value);
      if (size >= 0) {
        return size;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw invalid(fragment, "has a pax size '" + value + "' that is not a byte count");
  }

  private static void checkChecksum(Path fragment, byte[] header) throws InstallerException {
    long expected;
    try {
      expected = Long.parseLong(cString(header, 148, 8).strip(), 8);
    } catch (NumberFormatException e) {
      expected = -1;
    }
    long sum = 0;
    for (int i = 0; i < BLOCK; i++) {
      sum += (i >= 148 && i < 156) ? ' ' : header[i] & 0xff;
    }
    if (sum != expected) {
      throw invalid(fragment, "has a header whose checksum is wrong (damaged or not a tar)");
    }
  }

  private static boolean isZero(byte[] block) {
    for (byte b : block) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }

  private static InstallerException invalid(Path fragment, String why) {
    return new InstallerException(
        Codes.INVALID_FRAGMENT,
        "The layer fragment "
            + fragment
            + " "
            + why
            + ". Fragments are written by Kiln's wheel unpacking; delete this one from the store"
            + " so the wheel is unpacked again");
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
}
