package dev.kiln.installer.wheel;

import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@code RECORD} file ("Recording installed projects"): CSV rows {@code path,hash,size}, the hash
 * as {@code <algorithm>=<urlsafe base64, no padding>}. Parsed as Python's {@code csv} module reads
 * it; written as the {@code installer} project writes it ({@code \n} line ends, minimal quoting),
 * with rows in the order given.
 */
final class RecordFile {
  /** Python's {@code hashlib} names of the algorithms at least as strong as sha256. */
  private static final Map<String, String> ALGORITHMS =
      Map.of(
          "sha256", "SHA-256",
          "sha384", "SHA-384",
          "sha512", "SHA-512",
          "sha3_256", "SHA3-256",
          "sha3_384", "SHA3-384",
          "sha3_512", "SHA3-512");

  /**
   * One row; {@code algorithm} and {@code hash} are null for a row without a hash (RECORD's own),
   * {@code size} is -1 when the row has none.
   */
  record Row(String path, String algorithm, byte[] hash, long size) {
    /** A new hasher for this row's algorithm. */
    MessageDigest newHasher() {
      try {
        return MessageDigest.getInstance(ALGORITHMS.get(algorithm));
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("every Java runtime ships " + algorithm, e);
      }
    }

    boolean hashMatches(byte[] digest) {
      return hash != null && MessageDigest.isEqual(hash, digest);
    }
  }

  private RecordFile() {}

  /** The rows by path; a path listed twice must be listed the same way both times. */
  static Map<String, Row> parse(String wheel, String recordPath, byte[] content)
      throws InstallerException {
    Map<String, Row> rows = new LinkedHashMap<>();
    List<List<String>> lines = csv(new String(content, StandardCharsets.UTF_8));
    for (List<String> fields : lines) {
      if (fields.isEmpty() || fields.get(0).isEmpty()) {
        continue;
      }
      Row row = row(wheel, recordPath, fields);
      Row earlier = rows.putIfAbsent(row.path(), row);
      if (earlier != null
          && !(Arrays.equals(earlier.hash(), row.hash()) && earlier.size() == row.size())) {
        throw new InstallerException(
            Codes.RECORD_MISMATCH,
            wheel
                + ": "
                + recordPath
                + " lists "
                + row.path()
                + " twice, with different hashes or sizes, so its content cannot be checked."
                + " The wheel is broken: use another release or rebuild it");
      }
    }
    return rows;
  }

  private static Row row(String wheel, String recordPath, List<String> fields)
      throws InstallerException {
    String path = fields.get(0);
    String hashField = fields.size() > 1 ? fields.get(1) : "";
    String sizeField = fields.size() > 2 ? fields.get(2) : "";
    String algorithm = null;
    byte[] hash = null;
    if (!hashField.isEmpty()) {
      int equals = hashField.indexOf('=');
      algorithm = equals < 0 ? hashField : hashField.substring(0, equals);
      if (equals < 0 || !ALGORITHMS.containsKey(algorithm)) {
        throw new InstallerException(
            Codes.RECORD_MISMATCH,
            wheel
                + ": "
                + recordPath
                + " hashes "
                + path
                + " with '"
                + algorithm
                + "', which is not one of "
                + ALGORITHMS.keySet().stream().sorted().toList()
                + " (md5 and sha1 are too weak to trust). The wheel cannot be checked: use"
                + " another release or rebuild it with a current build backend");
      }
      try {
        hash = Base64.getUrlDecoder().decode(hashField.substring(equals + 1));
      } catch (IllegalArgumentException e) {
        throw new InstallerException(
            Codes.RECORD_MISMATCH,
            wheel
                + ": "
                + recordPath
                + " gives "
                + path
                + " the hash '"
                + hashField
                + "', which is not urlsafe base64. The wheel is broken: use another release",
            e);
      }
    }
    long size = -1;
    if (!sizeField.isEmpty()) {
      try {
        size = Long.parseLong(sizeField);
      } catch (NumberFormatException e) {
        size = -2;
      }
      if (size < 0) {
        throw new InstallerException(
            Codes.RECORD_MISMATCH,
            wheel
                + ": "
                + recordPath
                + " gives "
                + path
                + " the size '"
                + sizeField
                + "', which is not a byte count. The wheel is broken: use another release");
      }
    }
    return new Row(path, algorithm, hash, size);
  }

  /** {@code sha256=<urlsafe base64 without padding>}, as RECORD writes a hash. */
  static String sha256Field(byte[] sha256) {
    return "sha256=" + Base64.getUrlEncoder().withoutPadding().encodeToString(sha256);
  }

  /** Writes rows of already formatted fields ({@code path}, {@code hash} or "", size or ""). */
  static byte[] write(List<List<String>> rows) {
    StringBuilder out = new StringBuilder();
    for (List<String> row : rows) {
      for (int i = 0; i < row.size(); i++) {
        if (i > 0) {
          out.append(',');
        }
        out.append(csvField(row.get(i)));
      }
      out.append('\n');
    }
    return out.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** Python's {@code csv.QUOTE_MINIMAL}: quoted only when it holds a comma, quote or line end. */
  private static String csvField(String value) {
    if (value.indexOf(',') < 0
        && value.indexOf('"') < 0
        && value.indexOf('\n') < 0
        && value.indexOf('\r') < 0) {
      return value;
    }
    return "\"" + value.replace("\"", "\"\"") + "\"";
  }

  /** Python's {@code csv.reader} with the default dialect, enough for RECORD files. */
  static List<List<String>> csv(String text) {
    List<List<String>> rows = new ArrayList<>();
    List<String> row = new ArrayList<>();
    StringBuilder field = new StringBuilder();
    boolean quoted = false;
    boolean fieldStarted = false;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (quoted) {
        if (c == '"') {
          if (i + 1 < text.length() && text.charAt(i + 1) == '"') {
            field.append('"');
            i++;
          } else {
            quoted = false;
          }
        } else {
          field.append(c);
        }
      } else if (c == '"' && field.length() == 0) {
        quoted = true;
        fieldStarted = true;
      } else if (c == ',') {
        row.add(field.toString());
        field.setLength(0);
        fieldStarted = true;
      } else if (c == '\n' || c == '\r') {
        if (fieldStarted || field.length() > 0 || !row.isEmpty()) {
          row.add(field.toString());
        }
        if (!row.isEmpty()) {
          rows.add(row);
        }
        row = new ArrayList<>();
        field.setLength(0);
        fieldStarted = false;
      } else {
        field.append(c);
        fieldStarted = true;
      }
    }
    if (fieldStarted || field.length() > 0 || !row.isEmpty()) {
      row.add(field.toString());
      rows.add(row);
    }
    return rows;
  }
}
