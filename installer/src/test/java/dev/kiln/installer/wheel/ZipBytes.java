package dev.kiln.installer.wheel;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Edits a zip's central directory in place, to make archives no zip library would write. */
final class ZipBytes {
  /** Offset of the uncompressed size in a central directory file header. */
  static final int UNCOMPRESSED_SIZE = 24;

  /** Offset of the local header offset in a central directory file header. */
  static final int LOCAL_HEADER_OFFSET = 42;

  private static final int CENTRAL_HEADER_SIGNATURE = 0x02014b50;

  private ZipBytes() {}

  /** Reads a 4-byte field of {@code name}'s central directory header. */
  static long centralField(byte[] zip, String name, int field) {
    ByteBuffer buffer = ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN);
    return Integer.toUnsignedLong(buffer.getInt(centralHeader(zip, name) + field));
  }

  /** Overwrites a 4-byte field of {@code name}'s central directory header. */
  static void setCentralField(byte[] zip, String name, int field, long value) {
    ByteBuffer buffer = ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN);
    buffer.putInt(centralHeader(zip, name) + field, (int) value);
  }

  private static int centralHeader(byte[] zip, String name) {
    ByteBuffer buffer = ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN);
    byte[] wanted = name.getBytes(StandardCharsets.UTF_8);
    for (int i = zip.length - 46; i >= 0; i--) {
      if (buffer.getInt(i) != CENTRAL_HEADER_SIGNATURE) {
        continue;
      }
      int nameLength = Short.toUnsignedInt(buffer.getShort(i + 28));
      if (nameLength == wanted.length
          && java.util.Arrays.equals(zip, i + 46, i + 46 + nameLength, wanted, 0, wanted.length)) {
        return i;
      }
    }
    throw new IllegalArgumentException(name + " has no central directory header");
  }
}
