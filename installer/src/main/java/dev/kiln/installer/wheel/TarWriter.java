package dev.kiln.installer.wheel;

import dev.kiln.events.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;

/**
 * Writes reproducible, uncompressed POSIX tar entries in exactly the form of the worker's {@code
 * LayerTar} (the layout docs/worker.md, "Layer layout", describes): mtime {@value #MTIME_SECONDS},
 * uid/gid 0, no user or group names, directories as {@code name/}, names that do not fit a ustar
 * header in a pax extended header named {@code PaxHeaders/<name>}. The caller gives the entries in
 * order and the modes; this class hashes and counts what it writes.
 */
final class TarWriter {
  /** 1970-01-01T00:00:01Z, as jib and LayerTar use: some tools treat an mtime of 0 as "unset". */
  static final long MTIME_SECONDS = 1;

  static final int BLOCK = 512;
  static final int DIRECTORY_MODE = 0755;
  static final int EXECUTABLE_MODE = 0755;
  static final int FILE_MODE = 0644;

  private static final long MAX_USTAR_SIZE = 077777777777L;
  private static final byte[] ZEROS = new byte[BLOCK];

  private final OutputStream out;
  private final MessageDigest sha256 = Digest.newSha256();
  private final byte[] buffer = new byte[1 << 16];
  private long written;

  TarWriter(OutputStream out) {
    this.out = out;
  }

  void directory(String path) throws IOException {
    header(path + "/", '5', DIRECTORY_MODE, 0);
  }

  void file(String path, int mode, byte[] content) throws IOException {
    header(path, '0', mode, content.length);
    write(content, 0, content.length);
    pad(content.length);
  }

  /**
   * Writes a file of exactly {@code size} bytes from {@code content}, which must end there: a
   * stream that is shorter or longer fails, so a header never announces a size the data does not
   * have.
   */
  void file(String path, int mode, long size, InputStream content) throws IOException {
    header(path, '0', mode, size);
    long remaining = size;
    while (remaining > 0) {
      int read = content.read(buffer, 0, (int) Math.min(buffer.length, remaining));
      if (read < 0) {
        throw new IOException(
            path + " ended " + remaining + " bytes before the " + size + " its header announced");
      }
      write(buffer, 0, read);
      remaining -= read;
    }
    if (content.read() >= 0) {
      throw new IOException(path + " is longer than the " + size + " bytes its header announced");
    }
    pad(size);
  }

  /** Writes the end-of-archive marker (two zero blocks). */
  void finish() throws IOException {
    write(ZEROS, 0, BLOCK);
    write(ZEROS, 0, BLOCK);
  }

  /** The digest of everything written; call once, after {@link #finish()}. */
  Digest digest() {
    return Digest.fromSha256(sha256);
  }

  long size() {
    return written;
  }

  private void header(String name, char type, int mode, long size) throws IOException {
    byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
    boolean nameFits = nameBytes.length <= 100 && isPrintableAscii(nameBytes);
    if (!nameFits || size > MAX_USTAR_SIZE) {
      StringBuilder records = new StringBuilder();
      if (!nameFits) {
        records.append(paxRecord("path", name));
      }
      if (size > MAX_USTAR_SIZE) {
        records.append(paxRecord("size", Long.toString(size)));
      }
      byte[] pax = records.toString().getBytes(StandardCharsets.UTF_8);
      byte[] paxHeader = block(asciiPrefix("PaxHeaders/" + name, 100), 'x', 0644, pax.length);
      write(paxHeader, 0, BLOCK);
      write(pax, 0, pax.length);
      pad(pax.length);
    }
    byte[] header =
        block(
            nameFits ? name : asciiPrefix(name, 100), type, mode, size > MAX_USTAR_SIZE ? 0 : size);
    write(header, 0, BLOCK);
  }

  private void write(byte[] bytes, int offset, int length) throws IOException {
    out.write(bytes, offset, length);
    sha256.update(bytes, offset, length);
    written += length;
  }

  private void pad(long size) throws IOException {
    int remainder = (int) (size % BLOCK);
    if (remainder != 0) {
      write(ZEROS, 0, BLOCK - remainder);
    }
  }

  private static byte[] block(String name, char type, int mode, long size) {
    byte[] header = new byte[BLOCK];
    put(header, 0, 100, name.getBytes(StandardCharsets.US_ASCII));
    octal(header, 100, 8, mode);
    octal(header, 108, 8, 0);
    octal(header, 116, 8, 0);
    octal(header, 124, 12, size);
    octal(header, 136, 12, MTIME_SECONDS);
    Arrays.fill(header, 148, 156, (byte) ' ');
    header[156] = (byte) type;
    put(header, 257, 6, "ustar\0".getBytes(StandardCharsets.US_ASCII));
    put(header, 263, 2, "00".getBytes(StandardCharsets.US_ASCII));
    octal(header, 329, 8, 0);
    octal(header, 337, 8, 0);
    long checksum = 0;
    for (byte b : header) {
      checksum += b & 0xff;
    }
    put(header, 148, 6, String.format("%06o", checksum).getBytes(StandardCharsets.US_ASCII));
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
    StringBuilder prefix = new StringBuilder();
    for (int i = 0; i < text.length() && prefix.length() < maxBytes; i++) {
      char c = text.charAt(i);
      prefix.append(c >= 0x20 && c < 0x7f ? c : '_');
    }
    return prefix.toString();
  }

  private static boolean isPrintableAscii(byte[] bytes) {
    for (byte b : bytes) {
      if (b < 0x20 || b == 0x7f) {
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
}
