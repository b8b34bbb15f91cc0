package dev.kiln.installer.wheel;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveOutputStream;

/**
 * Wheels as an attacker or a broken build tool would make them: any entry name, unix modes,
 * symlinks, duplicate entries, a RECORD that lies. testkit's WheelBuilder makes only well-formed
 * wheels; this makes the rest. By default the wheel is well-formed: {@code demo-1.0.dist-info} with
 * METADATA, WHEEL and a RECORD listing every file.
 */
final class RawWheel {
  private record Entry(String name, byte[] content, int unixMode, boolean symlink) {}

  private final String distribution;
  private final String version;
  private final List<Entry> entries = new ArrayList<>();
  private final Set<String> unrecorded = new HashSet<>();
  private final Map<String, byte[]> recordedAs = new LinkedHashMap<>();
  private String distInfo;
  private String wheelFile;
  private String recordHashAlgorithm = "sha256";

  private RawWheel(String distribution, String version) {
    this.distribution = distribution;
    this.version = version;
    this.distInfo = distribution + "-" + version + ".dist-info";
    this.wheelFile =
        "Wheel-Version: 1.0\nGenerator: kiln-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n";
  }

  static RawWheel of(String distribution, String version) {
    return new RawWheel(distribution, version);
  }

  String filename() {
    return distribution + "-" + version + "-py3-none-any.whl";
  }

  String distInfo() {
    return distInfo;
  }

  RawWheel file(String name, String content) {
    return file(name, content.getBytes(StandardCharsets.UTF_8));
  }

  RawWheel file(String name, byte[] content) {
    return file(name, content, 0100644);
  }

  /** A file with a unix mode in the zip's external attributes ({@code 0100755}: executable). */
  RawWheel file(String name, byte[] content, int unixMode) {
    entries.add(new Entry(name, content, unixMode, false));
    return this;
  }

  RawWheel symlink(String name, String target) {
    entries.add(new Entry(name, target.getBytes(StandardCharsets.UTF_8), 0120777, true));
    return this;
  }

  /** Names the .dist-info directory differently from the file name. */
  RawWheel distInfo(String directory) {
    this.distInfo = directory;
    return this;
  }

  RawWheel wheelFile(String content) {
    this.wheelFile = content;
    return this;
  }

  /** Leaves {@code name} out of RECORD. */
  RawWheel unrecorded(String name) {
    unrecorded.add(name);
    return this;
  }

  /** RECORD gives {@code name} the hash and size of {@code content} instead of its own. */
  RawWheel recordedAs(String name, String content) {
    recordedAs.put(name, content.getBytes(StandardCharsets.UTF_8));
    return this;
  }

  RawWheel recordHashAlgorithm(String algorithm) {
    this.recordHashAlgorithm = algorithm;
    return this;
  }

  byte[] bytes() {
    List<Entry> all = new ArrayList<>(entries);
    all.add(
        new Entry(
            distInfo + "/METADATA",
            ("Metadata-Version: 2.1\nName: " + distribution + "\nVersion: " + version + "\n")
                .getBytes(StandardCharsets.UTF_8),
            0100644,
            false));
    all.add(
        new Entry(distInfo + "/WHEEL", wheelFile.getBytes(StandardCharsets.UTF_8), 0100644, false));
    StringBuilder record = new StringBuilder();
    for (Entry entry : all) {
      if (unrecorded.contains(entry.name()) || entry.name().endsWith("/")) {
        continue;
      }
      byte[] recorded = recordedAs.getOrDefault(entry.name(), entry.content());
      record
          .append(csvField(entry.name()))
          .append(',')
          .append(recordHashAlgorithm)
          .append('=')
          .append(hash(recordHashAlgorithm, recorded))
          .append(',')
          .append(recorded.length)
          .append('\n');
    }
    record.append(distInfo).append("/RECORD,,\n");
    all.add(
        new Entry(
            distInfo + "/RECORD",
            record.toString().getBytes(StandardCharsets.UTF_8),
            0100644,
            false));

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ZipArchiveOutputStream zip = new ZipArchiveOutputStream(out)) {
      for (Entry entry : all) {
        ZipArchiveEntry zipEntry = new ZipArchiveEntry(entry.name());
        zipEntry.setUnixMode(entry.unixMode());
        zipEntry.setMethod(ZipEntry.DEFLATED);
        zipEntry.setTime(315532800000L + 86400000L);
        zip.putArchiveEntry(zipEntry);
        zip.write(entry.content());
        zip.closeArchiveEntry();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  Path writeTo(Path directory) {
    try {
      Files.createDirectories(directory);
      Path wheel = directory.resolve(filename());
      Files.write(wheel, bytes());
      return wheel;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String csvField(String value) {
    return value.contains(",") || value.contains("\"")
        ? "\"" + value.replace("\"", "\"\"") + "\""
        : value;
  }

  private static String hash(String algorithm, byte[] content) {
    String javaName =
        switch (algorithm) {
          case "sha256" -> "SHA-256";
          case "sha512" -> "SHA-512";
          case "md5" -> "MD5";
          case "sha1" -> "SHA-1";
          default -> throw new IllegalArgumentException(algorithm);
        };
    try {
      return Base64.getUrlEncoder()
          .withoutPadding()
          .encodeToString(MessageDigest.getInstance(javaName).digest(content));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
