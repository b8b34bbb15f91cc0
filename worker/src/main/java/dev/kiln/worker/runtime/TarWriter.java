package dev.kiln.worker.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Writes a POSIX (pax) tar stream: ustar headers, with a pax extended header whenever a name or
 * link target does not fit ustar's 100 bytes or is not plain ASCII. Deliberately small: it writes
 * exactly the entry kinds an image layer needs and nothing is taken from the environment (no clock,
 * no user names), so the same calls always give the same bytes.
 */
public final class TarWriter {

  static final int BLOCK = 512;
  private static final long MAX_USTAR_SIZE = 077777777777L;

  private final OutputStream out;
  private boolean finished;

  public TarWriter(OutputStream out) {
    this.out = out;
  }

  public void directory(String name, int mode, long mtimeSeconds, Owner owner) throws IOException {
    String directoryName = name.endsWith("/") ? name : name + "/";
    header(directoryName, '5', mode, mtimeSeconds, owner, 0, "");
  }

  public void file(String name, int mode, long mtimeSeconds, Owner owner, byte[] content)
      throws IOException {
    header(name, '0', mode, mtimeSeconds, owner, content.length, "");
    out.write(content);
    pad(content.length);
  }

  public void file(
      String name, int mode, long mtimeSeconds, Owner owner, long size, InputStream content)
      throws IOException {
    header(name, '0', mode, mtimeSeconds, owner, size, "");
    long copied = copyExactly(content, size);
    if (copied != size) {
      throw new IOException(
          "File "
              + name
              + " changed while it was archived: expected "
              + size
              + " bytes, read "
              + copied
              + "; nothing else may write to the directory being archived");
    }
    pad(size);
  }

  public void symlink(String name, String target, long mtimeSeconds, Owner owner)
      throws IOException {
    header(name, '2', 0777, mtimeSeconds, owner, 0, target);
  }

  public void hardlink(String name, String existingEntry, int mode, long mtimeSeconds, Owner owner)
      throws IOException {
    header(name, '1', mode, mtimeSeconds, owner, 0, existingEntry);
  }

  /** Writes the two zero blocks that end an archive; the underlying stream stays open. */
  public void finish() throws IOException {
    if (!finished) {
      out.write(new byte[2 * BLOCK]);
      finished = true;
    }
  }

  private void header(
      String name, char type, int mode, long mtimeSeconds, Owner owner, long size, String link)
      throws IOException {
    if (size > MAX_USTAR_SIZE) {
      throw new IOException(
          "File " + name + " is larger than 8 GiB, which Kiln's layer writer does not support");
    }
    byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
    byte[] linkBytes = link.getBytes(StandardCharsets.UTF_8);
    boolean longName = nameBytes.length > 100 || !isAscii(nameBytes);
    boolean longLink = linkBytes.length > 100 || !isAscii(linkBytes);
    if (longName || longLink) {
      StringBuilder records = new StringBuilder();
      if (longName) {
        records.append(paxRecord("path", name));
      }
      if (longLink) {
        records.append(paxRecord("linkpath", link));
      }
      byte[] pax = records.toString().getBytes(StandardCharsets.UTF_8);
      writeHeaderBlock(
          asciiPlaceholder(nameBytes, "PaxHeaders/"),
          'x',
          0644,
          mtimeSeconds,
          Owner.ROOT,
          pax.length,
          new byte[0]);
      out.write(pax);
      pad(pax.length);
    }
    writeHeaderBlock(
        longName ? asciiPlaceholder(nameBytes, "") : nameBytes,
        type,
        mode,
        mtimeSeconds,
        owner,
        size,
        longLink ? asciiPlaceholder(linkBytes, "") : linkBytes);
  }

  private void writeHeaderBlock(
      byte[] name, char type, int mode, long mtimeSeconds, Owner owner, long size, byte[] link)
      throws IOException {
    byte[] block = new byte[BLOCK];
    System.arraycopy(name, 0, block, 0, Math.min(name.length, 100));
    octal(block, 100, 8, mode & 07777);
    octal(block, 108, 8, owner.uid());
    octal(block, 116, 8, owner.gid());
    octal(block, 124, 12, size);
    octal(block, 136, 12, Math.max(0, mtimeSeconds));
    Arrays.fill(block, 148, 156, (byte) ' ');
    block[156] = (byte) type;
    System.arraycopy(link, 0, block, 157, Math.min(link.length, 100));
    byte[] magic = "ustar\u000000".getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(magic, 0, block, 257, magic.length);
    long checksum = 0;
    for (byte b : block) {
      checksum += b & 0xff;
    }
    octal(block, 148, 7, checksum);
    block[155] = ' ';
    out.write(block);
  }

  /** Right-aligned, zero-padded octal digits followed by a NUL, as ustar expects. */
  private static void octal(byte[] block, int offset, int length, long value) {
    String digits = Long.toOctalString(value);
    int width = length - 1;
    if (digits.length() > width) {
      throw new IllegalArgumentException(
          "Value " + value + " does not fit a " + length + "-byte tar field");
    }
    String padded = "0".repeat(width - digits.length()) + digits;
    byte[] bytes = padded.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(bytes, 0, block, offset, width);
    block[offset + width] = 0;
  }

  /** A pax record is "LENGTH key=value\n" where LENGTH counts the whole record, itself included. */
  static String paxRecord(String key, String value) {
    int body = (" " + key + "=" + value + "\n").getBytes(StandardCharsets.UTF_8).length;
    int length = body + 1;
    while (length != body + Integer.toString(length).length()) {
      length = body + Integer.toString(length).length();
    }
    return length + " " + key + "=" + value + "\n";
  }

  /** Readers that ignore pax still see a recognisable, ASCII, 100-byte name. */
  private static byte[] asciiPlaceholder(byte[] utf8, String prefix) {
    StringBuilder ascii = new StringBuilder(prefix);
    for (byte b : utf8) {
      if (ascii.length() >= 99) {
        break;
      }
      ascii.append(b >= 0x20 && b < 0x7f ? (char) b : '_');
    }
    return ascii.toString().getBytes(StandardCharsets.US_ASCII);
  }

  private static boolean isAscii(byte[] bytes) {
    for (byte b : bytes) {
      if (b < 0x20 || b >= 0x7f) {
        return false;
      }
    }
    return true;
  }

  private long copyExactly(InputStream content, long size) throws IOException {
    byte[] buffer = new byte[64 * 1024];
    long copied = 0;
    while (copied < size) {
      int read = content.read(buffer, 0, (int) Math.min(buffer.length, size - copied));
      if (read < 0) {
        break;
      }
      out.write(buffer, 0, read);
      copied += read;
    }
    return copied;
  }

  private void pad(long size) throws IOException {
    int remainder = (int) (size % BLOCK);
    if (remainder != 0) {
      out.write(new byte[BLOCK - remainder]);
    }
  }

  /** Numeric owner of a tar entry; names are left empty so only numbers decide who owns what. */
  public record Owner(int uid, int gid) {
    public static final Owner ROOT = new Owner(0, 0);
  }
}
