package dev.kiln.cache;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The two forms of the simple repository API this service answers in, chosen from the request's
 * {@code Accept} header (PEP 691), and how each renders a page.
 */
enum SimpleIndexFormat {
  /** PEP 503 HTML, as {@code text/html}. */
  HTML("text/html; charset=utf-8"),
  /** PEP 503 HTML, as PEP 691's {@code application/vnd.pypi.simple.v1+html}. */
  HTML_V1("application/vnd.pypi.simple.v1+html"),
  /** PEP 691 JSON. */
  JSON_V1("application/vnd.pypi.simple.v1+json");

  static final String SUPPORTED =
      "application/vnd.pypi.simple.v1+json, " + "application/vnd.pypi.simple.v1+html, text/html";

  private final String contentType;

  SimpleIndexFormat(String contentType) {
    this.contentType = contentType;
  }

  String contentType() {
    return contentType;
  }

  /**
   * Picks the form the client prefers most (highest {@code q}; on a tie, the one it listed first).
   * No {@code Accept} header, or only wildcards, means HTML.
   *
   * @throws CacheError 406 when the client accepts none of the forms
   */
  static SimpleIndexFormat negotiate(String accept) {
    if (accept == null || accept.isBlank()) {
      return HTML;
    }
    SimpleIndexFormat best = null;
    double bestQuality = 0;
    for (String range : accept.split(",")) {
      String[] parts = range.split(";");
      String mediaType = parts[0].strip().toLowerCase(Locale.ROOT);
      double quality = 1;
      for (int i = 1; i < parts.length; i++) {
        String parameter = parts[i].strip();
        if (parameter.startsWith("q=") || parameter.startsWith("Q=")) {
          try {
            quality = Double.parseDouble(parameter.substring(2).strip());
          } catch (NumberFormatException malformed) {
            quality = 0;
          }
        }
      }
      SimpleIndexFormat format = forMediaType(mediaType);
      if (format != null && quality > bestQuality) {
        best = format;
        bestQuality = quality;
      }
    }
    if (best == null) {
      throw CacheError.notAcceptable(
          "none of the media types in 'Accept: "
              + accept
              + "' is served here; accept one of: "
              + SUPPORTED);
    }
    return best;
  }

  private static SimpleIndexFormat forMediaType(String mediaType) {
    switch (mediaType) {
      case "application/vnd.pypi.simple.v1+json":
      case "application/vnd.pypi.simple.latest+json":
        return JSON_V1;
      case "application/vnd.pypi.simple.v1+html":
      case "application/vnd.pypi.simple.latest+html":
        return HTML_V1;
      case "text/html":
      case "text/*":
      case "*/*":
        return HTML;
      default:
        return null;
    }
  }

  String renderProjectList(List<String> names) {
    if (this == JSON_V1) {
      List<String> projects = new ArrayList<>(names.size());
      for (String name : names) {
        projects.add("{\"name\":" + jsonString(name) + "}");
      }
      return "{\"meta\":{\"api-version\":\"1.0\"},\"projects\":["
          + String.join(",", projects)
          + "]}";
    }
    StringBuilder html = new StringBuilder(htmlHead("Simple index"));
    for (String name : names) {
      html.append("    <a href=\"")
          .append(escapeHtml(pathSegment(name)))
          .append("/\">")
          .append(escapeHtml(name))
          .append("</a><br/>\n");
    }
    return html.append("  </body>\n</html>\n").toString();
  }

  String renderProjectPage(ProjectPage page) {
    return renderProjectPage(page, FILES_PREFIX);
  }

  /**
   * @param filesPrefix where this service serves the page's files, e.g. {@code /files/} or {@code
   *     /tenants/acme/files/}
   */
  String renderProjectPage(ProjectPage page, String filesPrefix) {
    if (this == JSON_V1) {
      List<String> files = new ArrayList<>(page.files().size());
      for (DistributionFile file : page.files()) {
        StringBuilder json =
            new StringBuilder("{\"filename\":")
                .append(jsonString(file.filename()))
                .append(",\"url\":")
                .append(jsonString(filePath(file, filesPrefix)))
                .append(",\"hashes\":{\"sha256\":")
                .append(jsonString(file.sha256().hex()))
                .append('}');
        if (file.requiresPython() != null) {
          json.append(",\"requires-python\":").append(jsonString(file.requiresPython()));
        }
        if (file.yanked()) {
          json.append(",\"yanked\":")
              .append(file.yankedReason().isEmpty() ? "true" : jsonString(file.yankedReason()));
        }
        files.add(json.append('}').toString());
      }
      return "{\"meta\":{\"api-version\":\"1.0\"},\"name\":"
          + jsonString(page.name())
          + ",\"files\":["
          + String.join(",", files)
          + "]}";
    }
    StringBuilder html = new StringBuilder(htmlHead("Links for " + page.name()));
    for (DistributionFile file : page.files()) {
      html.append("    <a href=\"").append(escapeHtml(fileUrl(file, filesPrefix))).append('"');
      if (file.requiresPython() != null) {
        html.append(" data-requires-python=\"")
            .append(escapeHtml(file.requiresPython()))
            .append('"');
      }
      if (file.yanked()) {
        html.append(" data-yanked=\"").append(escapeHtml(file.yankedReason())).append('"');
      }
      html.append('>').append(escapeHtml(file.filename())).append("</a><br/>\n");
    }
    return html.append("  </body>\n</html>\n").toString();
  }

  /** Where this service serves a file: {@code /files/<sha256>/<filename>}. */
  static String filePath(DistributionFile file) {
    return filePath(file, FILES_PREFIX);
  }

  static String filePath(DistributionFile file, String filesPrefix) {
    return filesPrefix + file.sha256().hex() + "/" + pathSegment(file.filename());
  }

  /** The HTML link: PEP 503 carries the hash in the fragment (JSON has a {@code hashes} field). */
  static String fileUrl(DistributionFile file) {
    return fileUrl(file, FILES_PREFIX);
  }

  static String fileUrl(DistributionFile file, String filesPrefix) {
    return filePath(file, filesPrefix) + "#sha256=" + file.sha256().hex();
  }

  static final String FILES_PREFIX = "/files/";

  private static String htmlHead(String title) {
    return "<!DOCTYPE html>\n<html>\n  <head>\n"
        + "    <meta name=\"pypi:repository-version\" content=\"1.0\">\n"
        + "    <title>"
        + escapeHtml(title)
        + "</title>\n  </head>\n  <body>\n"
        + "    <h1>"
        + escapeHtml(title)
        + "</h1>\n";
  }

  /** Percent-encodes everything but RFC 3986 unreserved characters. */
  static String pathSegment(String text) {
    StringBuilder out = new StringBuilder(text.length());
    for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
      char c = (char) (b & 0xff);
      if ((c >= 'a' && c <= 'z')
          || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9')
          || c == '-'
          || c == '.'
          || c == '_'
          || c == '~') {
        out.append(c);
      } else {
        out.append('%').append(String.format("%02X", b & 0xff));
      }
    }
    return out.toString();
  }

  static String escapeHtml(String text) {
    StringBuilder out = new StringBuilder(text.length());
    for (char c : text.toCharArray()) {
      switch (c) {
        case '&' -> out.append("&amp;");
        case '<' -> out.append("&lt;");
        case '>' -> out.append("&gt;");
        case '"' -> out.append("&quot;");
        case '\'' -> out.append("&#39;");
        default -> out.append(c);
      }
    }
    return out.toString();
  }

  static String jsonString(String text) {
    StringBuilder out = new StringBuilder(text.length() + 2).append('"');
    for (char c : text.toCharArray()) {
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.append('"').toString();
  }
}
