package dev.kiln.cache;

import dev.kiln.events.Digest;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads PEP 503 pages: the anchors of a project list or of a project's file list.
 *
 * <p>Deliberately a tolerant tag scanner, not an HTML parser: index pages are machine-written and
 * only their {@code <a>} (and {@code <base>}) tags carry meaning.
 */
final class SimpleHtml {
  private static final Pattern ANCHOR =
      Pattern.compile("<a\\b([^>]*)>(.*?)</a\\s*>", Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
  private static final Pattern BASE = Pattern.compile("<base\\b([^>]*)>", Pattern.CASE_INSENSITIVE);
  private static final Pattern ATTRIBUTE =
      Pattern.compile(
          "([A-Za-z_:][-A-Za-z0-9_:.]*)(?:\\s*=\\s*(?:\"([^\"]*)\"|'([^']*)'|([^\\s\"'=<>`]+)))?");
  private static final Pattern TAG = Pattern.compile("<[^>]*>");
  private static final Pattern ENTITY = Pattern.compile("&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z]+);");
  private static final Pattern SHA256_FRAGMENT =
      Pattern.compile("(?:^|&)sha256=([0-9a-fA-F]{64})(?:&|$)");

  /** An {@code <a>} tag: its resolved target, its attributes (names lowercased) and its text. */
  record Anchor(URI href, Map<String, String> attributes, String text) {}

  private SimpleHtml() {}

  /**
   * The project's files that name a SHA-256 in their link fragment; others are left out, since the
   * store could not verify them.
   */
  static ProjectPage projectPage(String normalizedName, String html, URI pageUrl) {
    List<DistributionFile> files = new ArrayList<>();
    for (Anchor anchor : anchors(html, pageUrl)) {
      String fragment = anchor.href().getRawFragment();
      Matcher sha = SHA256_FRAGMENT.matcher(fragment == null ? "" : fragment);
      String filename = lastPathSegment(anchor.href());
      if (!sha.find() || filename == null) {
        continue;
      }
      files.add(
          new DistributionFile(
              filename,
              withoutFragment(anchor.href()),
              Digest.ofHex(sha.group(1).toLowerCase(Locale.ROOT)),
              emptyToNull(anchor.attributes().get("data-requires-python")),
              anchor.attributes().get("data-yanked")));
    }
    return new ProjectPage(normalizedName, files);
  }

  /** The normalized, de-duplicated project names of a PEP 503 root page. */
  static List<String> projectNames(String html) {
    Set<String> names = new LinkedHashSet<>();
    for (Anchor anchor : anchors(html, URI.create("http://index.invalid/simple/"))) {
      String text = anchor.text().strip();
      if (ProjectNames.isValid(text)) {
        names.add(ProjectNames.normalize(text));
      }
    }
    return List.copyOf(names);
  }

  static List<Anchor> anchors(String html, URI pageUrl) {
    URI base = pageUrl;
    Matcher baseTag = BASE.matcher(html);
    if (baseTag.find()) {
      String baseHref = attributes(baseTag.group(1)).get("href");
      URI resolvedBase = baseHref == null ? null : resolve(pageUrl, baseHref);
      if (resolvedBase != null) {
        base = resolvedBase;
      }
    }
    List<Anchor> anchors = new ArrayList<>();
    Matcher anchor = ANCHOR.matcher(html);
    while (anchor.find()) {
      Map<String, String> attributes = attributes(anchor.group(1));
      String href = attributes.get("href");
      URI target = href == null ? null : resolve(base, href);
      if (target != null) {
        String text = unescape(TAG.matcher(anchor.group(2)).replaceAll(""));
        anchors.add(new Anchor(target, attributes, text));
      }
    }
    return anchors;
  }

  private static Map<String, String> attributes(String tagBody) {
    Map<String, String> attributes = new LinkedHashMap<>();
    Matcher attribute = ATTRIBUTE.matcher(tagBody);
    while (attribute.find()) {
      String value =
          attribute.group(2) != null
              ? attribute.group(2)
              : attribute.group(3) != null
                  ? attribute.group(3)
                  : attribute.group(4) != null ? attribute.group(4) : "";
      attributes.putIfAbsent(attribute.group(1).toLowerCase(Locale.ROOT), unescape(value));
    }
    return attributes;
  }

  private static URI resolve(URI base, String href) {
    try {
      return base.resolve(URI.create(href.strip()));
    } catch (IllegalArgumentException malformed) {
      return null;
    }
  }

  private static URI withoutFragment(URI uri) {
    String text = uri.toString();
    int hash = text.indexOf('#');
    return hash < 0 ? uri : URI.create(text.substring(0, hash));
  }

  private static String lastPathSegment(URI uri) {
    String path = uri.getPath();
    if (path == null) {
      return null;
    }
    String segment = path.substring(path.lastIndexOf('/') + 1);
    boolean usable =
        !segment.isEmpty()
            && !segment.equals(".")
            && !segment.equals("..")
            && segment.indexOf('\\') < 0;
    return usable ? segment : null;
  }

  private static String emptyToNull(String value) {
    return value == null || value.isBlank() ? null : value;
  }

  static String unescape(String text) {
    if (text.indexOf('&') < 0) {
      return text;
    }
    Matcher entity = ENTITY.matcher(text);
    StringBuilder out = new StringBuilder(text.length());
    while (entity.find()) {
      String name = entity.group(1);
      String replacement;
      if (name.startsWith("#")) {
        replacement = numericCharacter(name, entity.group());
      } else {
        replacement =
            switch (name) {
              case "amp" -> "&";
              case "lt" -> "<";
              case "gt" -> ">";
              case "quot" -> "\"";
              case "apos" -> "'";
              case "nbsp" -> "\u00a0";
              default -> entity.group();
            };
      }
      entity.appendReplacement(out, Matcher.quoteReplacement(replacement));
    }
    entity.appendTail(out);
    return out.toString();
  }

  private static String numericCharacter(String name, String original) {
    boolean hex = name.startsWith("#x") || name.startsWith("#X");
    try {
      int codePoint = Integer.parseInt(name.substring(hex ? 2 : 1), hex ? 16 : 10);
      return new String(Character.toChars(codePoint));
    } catch (IllegalArgumentException outOfRange) {
      return original;
    }
  }
}
