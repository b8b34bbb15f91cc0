package dev.kiln.installer.lock;

import dev.kiln.installer.LockedDistribution;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PEP 508 requirement split into its parts, as text: {@code name[extras] specifier ; marker} or
 * {@code name[extras] @ url ; marker}. Nothing here evaluates a marker or compares versions.
 *
 * @param name as written
 * @param extras as written, in order
 * @param specifier the version specifier set without parentheses ({@code ">=1.0,<2"}), or ""
 * @param url the direct reference after {@code @}, or null
 * @param marker the marker expression after {@code ;}, or null
 */
record Requirement(String name, List<String> extras, String specifier, String url, String marker) {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?");
  private static final Pattern CLAUSE =
      Pattern.compile("(~=|===|==|!=|<=|>=|<|>)\\s*[A-Za-z0-9.*+!_-]+");
  private static final Pattern EXTRA_IN_MARKER =
      Pattern.compile(
          "\\bextra\\s*==\\s*(['\"])([^'\"]+)\\1|(['\"])([^'\"]+)\\3\\s*==\\s*extra\\b");

  Requirement {
    extras = List.copyOf(extras);
  }

  /** Parses {@code text}; null when it is not a PEP 508 requirement. */
  static Requirement parse(String text) {
    String rest = text.strip();
    Matcher name = NAME.matcher(rest);
    if (!name.lookingAt()) {
      return null;
    }
    String parsedName = name.group();
    rest = rest.substring(name.end()).stripLeading();
    List<String> extras = new ArrayList<>();
    if (rest.startsWith("[")) {
      int close = rest.indexOf(']');
      if (close < 0) {
        return null;
      }
      for (String extra : rest.substring(1, close).split(",")) {
        if (!extra.isBlank()) {
          if (!NAME.matcher(extra.strip()).matches()) {
            return null;
          }
          extras.add(extra.strip());
        }
      }
      rest = rest.substring(close + 1).stripLeading();
    }
    String url = null;
    String specifier = "";
    String marker = null;
    if (rest.startsWith("@")) {
      rest = rest.substring(1).stripLeading();
      int end = 0;
      while (end < rest.length() && !Character.isWhitespace(rest.charAt(end))) {
        end++;
      }
      url = rest.substring(0, end);
      if (url.isEmpty()) {
        return null;
      }
      rest = rest.substring(end).stripLeading();
      if (url.endsWith(";")) { // "name @ url;marker" is not PEP 508, but be kind
        url = url.substring(0, url.length() - 1);
        rest = ";" + rest;
      }
    } else {
      int semicolon = rest.indexOf(';');
      String spec = semicolon < 0 ? rest : rest.substring(0, semicolon);
      rest = semicolon < 0 ? "" : rest.substring(semicolon);
      spec = spec.strip();
      if (spec.startsWith("(") && spec.endsWith(")")) {
        spec = spec.substring(1, spec.length() - 1).strip();
      }
      if (!spec.isEmpty()) {
        for (String clause : spec.split(",", -1)) {
          if (!CLAUSE.matcher(clause.strip()).matches()) {
            return null;
          }
        }
      }
      specifier = spec;
    }
    if (rest.startsWith(";")) {
      marker = rest.substring(1).strip();
      if (marker.isEmpty()) {
        return null;
      }
    } else if (!rest.isEmpty()) {
      return null;
    }
    return new Requirement(parsedName, extras, specifier, url, marker);
  }

  String normalizedName() {
    return LockedDistribution.normalize(name);
  }

  /** The extras, normalized and sorted. */
  Set<String> normalizedExtras() {
    Set<String> normalized = new TreeSet<>();
    extras.forEach(extra -> normalized.add(LockedDistribution.normalize(extra)));
    return normalized;
  }

  /** The clauses of {@code specifier} without whitespace, lowercase, sorted. */
  static Set<String> specifierClauses(String specifier) {
    Set<String> clauses = new TreeSet<>();
    if (specifier == null) {
      return clauses;
    }
    for (String clause : specifier.split(",")) {
      String compact = clause.replaceAll("\\s+", "").toLowerCase(Locale.ROOT);
      if (!compact.isEmpty()) {
        clauses.add(compact);
      }
    }
    return clauses;
  }

  /** The extras a marker compares {@code extra} with ({@code extra == 'test'}), normalized. */
  static Set<String> extrasNamedIn(String marker) {
    Set<String> extras = new TreeSet<>();
    if (marker == null) {
      return extras;
    }
    Matcher m = EXTRA_IN_MARKER.matcher(marker);
    while (m.find()) {
      String value = m.group(2) != null ? m.group(2) : m.group(4);
      extras.add(LockedDistribution.normalize(value));
    }
    return extras;
  }

  /** The exact version when the specifier is one {@code ==V} or {@code ===V} pin, else null. */
  String pinnedVersion() {
    String[] clauses = specifier.strip().split(",");
    if (clauses.length != 1) {
      return null;
    }
    String clause = clauses[0].replaceAll("\\s+", "");
    String version;
    if (clause.startsWith("===")) {
      version = clause.substring(3);
    } else if (clause.startsWith("==")) {
      version = clause.substring(2);
    } else {
      return null;
    }
    return version.isEmpty() || version.contains("*") ? null : version;
  }
}
