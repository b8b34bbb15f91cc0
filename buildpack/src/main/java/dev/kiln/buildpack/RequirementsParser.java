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

  /**
   * A local path pip installs: a project directory ({@code .}, {@code ./lib}, {@code -e .}) or a
   * distribution file in the repository ({@code ./vendor/lib-1.0-py3-none-any.whl}).
   */
  record LocalPath(String path, boolean editable) {
    boolean isArchive() {
      return ARCHIVE.matcher(path).find();
    }
  }

  private static final Pattern ARCHIVE =
      Pattern.compile("\\.(whl|zip|tar\\.gz|tgz|tar\\.bz2|tar)$", Pattern.CASE_INSENSITIVE);

  record Parsed(List<String> packageNames, List<Include> includes, List<LocalPath> localPaths) {
    Parsed(List<String> packageNames, List<Include> includes) {
      this(packageNames, includes, List.of());
    }
  }

  private RequirementsParser() {}

  static Parsed parse(String text) {
    List<String> names = new ArrayList<>();
    List<Include> includes = new ArrayList<>();
    List<LocalPath> localPaths = new ArrayList<>();
    for (String line : logicalLines(text)) {
      String content = COMMENT.matcher(line).replaceFirst("").strip();
      if (content.isEmpty()) {
        continue;
      }
      if (content.startsWith("-")) {
        option(content, names, includes, localPaths);
      } else if (isLocalPath(content)) {
        LocalPath local = new LocalPath(pathPart(content), false);
        localPaths.add(local);
        if (local.isArchive()) {
          PackageNames.fromRequirement(content).ifPresent(names::add);
        }
      } else {
        PackageNames.fromRequirement(content).ifPresent(names::add);
      }
    }
    return new Parsed(names, includes, localPaths);
  }

  /**
   * pip's reading of a requirement that is a path rather than a name: it starts with {@code .} or
   * {@code /}, or names a {@code file:} URL. (pip also accepts a bare relative path containing a
   * separator when it exists; a name with a {@code /} is no valid requirement either way.)
   */
  static boolean isLocalPath(String requirement) {
    String value = pathPart(requirement);
    return value.startsWith(".")
        || value.startsWith("/")
        || value.startsWith("file:")
        || (value.contains("/") && !value.contains("://") && !value.contains("@"));
  }

  /** The path without pip's trailing {@code [extras]}, options or {@code ; markers}. */
  private static String pathPart(String requirement) {
    String value = requirement.split("[;\\s]", 2)[0];
    int extras = value.indexOf('[');
    if (extras > 0) {
      value = value.substring(0, extras);
    }
    return value;
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

  private static void option(
      String content, List<String> names, List<Include> includes, List<LocalPath> localPaths) {
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
        if (value != null && isLocalPath(value)) {
          localPaths.add(new LocalPath(pathPart(value), true));
        } else if (value != null && value.contains("egg=")) {
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
