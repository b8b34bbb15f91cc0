package dev.kiln.cli.bench;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The file links of one PEP 503 project page ({@code <index>/<project>/}). */
public final class IndexPage {
  private static final Pattern LINK =
      Pattern.compile("<a\\s[^>]*href=\"([^\"]+)\"[^>]*>([^<]*)</a>", Pattern.CASE_INSENSITIVE);

  /** One file the page links to: its name, absolute URL and sha256 (null when not given). */
  public record FileLink(String filename, URI url, String sha256) {
    /** The version part of a wheel's file name ({@code name-version-…whl}). */
    public String wheelVersion() {
      String[] parts = filename.split("-");
      return parts.length >= 5 ? parts[1] : null;
    }

    public boolean isPureWheel() {
      return filename.endsWith("-none-any.whl") && filename.contains("py3");
    }
  }

  private final List<FileLink> files;

  private IndexPage(List<FileLink> files) {
    this.files = files;
  }

  /** Parses {@code html}, the page at {@code pageUrl} (links resolve against it). */
  public static IndexPage parse(URI pageUrl, String html) {
    List<FileLink> files = new ArrayList<>();
    Matcher link = LINK.matcher(html);
    while (link.find()) {
      String href = link.group(1).replace("&amp;", "&");
      String sha256 = null;
      int hash = href.indexOf('#');
      if (hash >= 0) {
        String fragment = href.substring(hash + 1);
        if (fragment.startsWith("sha256=")) {
          sha256 = fragment.substring("sha256=".length());
        }
        href = href.substring(0, hash);
      }
      URI url = pageUrl.resolve(href);
      String path = url.getPath();
      String filename = path.substring(path.lastIndexOf('/') + 1);
      files.add(new FileLink(filename, url, sha256));
    }
    return new IndexPage(List.copyOf(files));
  }

  public List<FileLink> files() {
    return files;
  }

  public Optional<FileLink> file(String filename) {
    return files.stream().filter(f -> f.filename().equals(filename)).findFirst();
  }

  /** The last pure-Python wheel the page lists (pages list releases oldest first). */
  public Optional<FileLink> latestPureWheel() {
    FileLink last = null;
    for (FileLink f : files) {
      if (f.isPureWheel() && f.sha256() != null) {
        last = f;
      }
    }
    return Optional.ofNullable(last);
  }

  /** PEP 503's normalized project name. */
  public static String normalize(String name) {
    return name.toLowerCase(Locale.ROOT).replaceAll("[-_.]+", "-");
  }
}
