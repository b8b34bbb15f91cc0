package dev.kiln.testkit;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * An NLTK data tree written by a test, laid out like the {@code gh-pages} branch of
 * github.com/nltk/nltk_data: {@code packages/<subdir>/<id>.zip} and an {@code index.xml} listing
 * each package with its MD5 ({@code checksum}) and {@code size}, plus collections. Use it as a
 * {@code file://} upstream ({@link #indexUrl()}) or serve its directory with {@link
 * StaticFileServer}.
 */
public final class NltkDataTree {
  /** One package as written: its zip, the zip's MD5 (lowercase hex) and length. */
  public record Package(String id, String subdir, Path zip, String md5, long size) {
    /** Relative to the tree, e.g. {@code packages/corpora/stopwords.zip}. */
    public String relativePath() {
      return "packages/" + subdir + "/" + id + ".zip";
    }
  }

  private final Path root;
  private final Map<String, Package> packages = new LinkedHashMap<>();
  private final Map<String, List<String>> collections = new LinkedHashMap<>();

  private NltkDataTree(Path root) {
    this.root = root;
  }

  /** A tree in {@code root} (created if missing). */
  public static NltkDataTree in(Path root) {
    try {
      Files.createDirectories(root);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new NltkDataTree(root);
  }

  public Path root() {
    return root;
  }

  public Path indexFile() {
    return root.resolve("index.xml");
  }

  /** {@code file:///…/index.xml}. */
  public String indexUrl() {
    return indexFile().toUri().toString();
  }

  /**
   * Writes {@code packages/<subdir>/<id>.zip} holding {@code <id>/<name>} for every entry, as the
   * real packages do (they unzip into {@code <subdir>/<id>/}).
   */
  public Package addPackage(String subdir, String id, Map<String, String> files) {
    Path zip = root.resolve("packages").resolve(subdir).resolve(id + ".zip");
    try {
      Files.createDirectories(zip.getParent());
      try (OutputStream out = Files.newOutputStream(zip);
          ZipOutputStream zipped = new ZipOutputStream(out)) {
        zipped.putNextEntry(new ZipEntry(id + "/"));
        zipped.closeEntry();
        for (Map.Entry<String, String> file : files.entrySet()) {
          zipped.putNextEntry(new ZipEntry(id + "/" + file.getKey()));
          zipped.write(file.getValue().getBytes(StandardCharsets.UTF_8));
          zipped.closeEntry();
        }
      }
      Package written = new Package(id, subdir, zip, md5(Files.readAllBytes(zip)), Files.size(zip));
      packages.put(id, written);
      return written;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public NltkDataTree addCollection(String id, String... packageIds) {
    collections.put(id, List.of(packageIds));
    return this;
  }

  /** Writes {@code index.xml} with package URLs relative to it, as a mirror may. */
  public Path writeIndex() {
    return writeIndexText(indexXml(""));
  }

  /**
   * Writes {@code index.xml} with absolute package URLs under {@code packageBaseUrl} (e.g. a {@link
   * StaticFileServer}'s {@code url("")}), as the public index has.
   */
  public Path writeIndex(String packageBaseUrl) {
    return writeIndexText(indexXml(packageBaseUrl));
  }

  /** Writes {@code index.xml} as given, for tests of broken or hostile indexes. */
  public Path writeIndexText(String xml) {
    try {
      return Files.writeString(indexFile(), xml, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The index text {@link #writeIndex(String)} writes. */
  public String indexXml(String packageBaseUrl) {
    StringBuilder xml =
        new StringBuilder(
            "<?xml version=\"1.0\"?>\n"
                + "<?xml-stylesheet href=\"index.xsl\" type=\"text/xsl\"?>\n"
                + "<nltk_data>\n  <packages>\n");
    for (Package p : packages.values()) {
      xml.append("    <package id=\"")
          .append(p.id())
          .append("\" name=\"The ")
          .append(p.id())
          .append(" package\" subdir=\"")
          .append(p.subdir())
          .append("\" unzip=\"1\" checksum=\"")
          .append(p.md5())
          .append("\" size=\"")
          .append(p.size())
          .append("\" unzipped_size=\"")
          .append(p.size() * 2)
          .append("\" url=\"")
          .append(packageBaseUrl)
          .append(p.relativePath())
          .append("\" />\n");
    }
    xml.append("  </packages>\n  <collections>\n");
    for (Map.Entry<String, List<String>> collection : collections.entrySet()) {
      xml.append("    <collection id=\"")
          .append(collection.getKey())
          .append("\" name=\"The ")
          .append(collection.getKey())
          .append(" collection\">");
      for (String ref : collection.getValue()) {
        xml.append("<item ref=\"").append(ref).append("\" />");
      }
      xml.append("</collection>\n");
    }
    return xml.append("  </collections>\n</nltk_data>\n").toString();
  }

  public List<Package> packages() {
    return new ArrayList<>(packages.values());
  }

  public static String md5(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime ships MD5", e);
    }
  }
}
