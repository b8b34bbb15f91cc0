package dev.kiln.buildpack;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The parts of a pip requirements file a plan needs: the package names it installs and the files it
 * pulls in with {@code -r} (requirements) and {@code -c} (constraints). Follows pip's reading:
 * backslash continuations, {@code #} comments at line start or after whitespace, CRLF.
 */
final class RequirementsParser {
  private static final Pattern COMMENT = Pattern.compile("(^|\\s+)#.*$");

  enum IncludeKind {
    REQUIREMENTS,
    CONSTRAINTS
  }

  record Include(IncludeKind kind, String path) {}

  record Parsed(List<String> packageNames, List<Include> includes) {}

  private RequirementsParser() {}

  static Parsed parse(String text) {
    List<String> names = new ArrayList<>();
    List<Include> includes = new ArrayList<>();
    for (String line : logicalLines(text)) {
      String content = COMMENT.matcher(line).replaceFirst("").strip();
      if (content.isEmpty()) {
        continue;
      }
      if (content.startsWith("-")) {
        option(content, names, includes);
      } else {
        PackageNames.fromRequirement(content).ifPresent(names::add);
      }
    }
    return new Parsed(names, includes);
  }

  private static List<String> logicalLines(String text) {
    List<String> result = new ArrayList<>();
    StringBuilder pending = new StringBuilder();
    for (String raw : Text.lines(text)) {
      String line = raw.endsWith("\r") ? raw.substring(0, raw.length() - 1) : raw;
      if (line.endsWith("\\")) {
        pending.append(line, 0, line.length() - 1);
        continue;
      }
      pending.append(line);
      result.add(pending.toString());
      pending.setLength(0);
    }
    if (pending.length() > 0) {
      result.add(pending.toString());
    }
    return result;
  }

  private static void option(String content, List<String> names, List<Include> includes) {
    String[] parts = content.split("\\s+", 2);
    String flag = parts[0];
    String rest = parts.length > 1 ? parts[1].strip() : "";
    String value = null;
    String name = flag;
    int equals = flag.indexOf('=');
    if (flag.startsWith("--") && equals > 0) {
      name = flag.substring(0, equals);
      value = flag.substring(equals + 1);
    } else if (!flag.startsWith("--") && flag.length() > 2) {
      name = flag.substring(0, 2);
      value = flag.substring(2);
    }
    if (value == null) {
      value = rest.isEmpty() ? null : rest.split("\\s+", 2)[0];
    }
    switch (name) {
      case "-r", "--requirement" -> addInclude(includes, IncludeKind.REQUIREMENTS, value);
      case "-c", "--constraint" -> addInclude(includes, IncludeKind.CONSTRAINTS, value);
      case "-e", "--editable" -> {
        if (value != null && value.contains("egg=")) {
          PackageNames.fromRequirement(value).ifPresent(names::add);
        }
      }
      default -> {
        // index, find-links, hashes and other options do not name packages
      }
    }
  }

  private static void addInclude(List<Include> includes, IncludeKind kind, String value) {
    Optional.ofNullable(value)
        .filter(v -> !v.isEmpty())
        .filter(v -> !v.contains("://"))
        .ifPresent(v -> includes.add(new Include(kind, v)));
  }
}
