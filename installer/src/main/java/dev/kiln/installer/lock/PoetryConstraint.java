package dev.kiln.installer.lock;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Poetry's version constraints ({@code ^3.9}, {@code ~3.9}, {@code >=3.8 || ^2.7}, {@code 3.9.*},
 * {@code *}) as PEP 440 specifier sets, so a {@link dev.kiln.installer.PythonRequirement} can
 * decide them. Used for Python constraints only: {@code python = "..."} and {@code
 * python-versions}.
 */
final class PoetryConstraint {
  private static final Pattern PART =
      Pattern.compile(
          "\\s*(\\^|~=|~|===|==|!=|>=|<=|>|<|=)?\\s*(\\*|v?\\d+(?:\\.(?:\\d+|\\*))*[A-Za-z0-9.+!-]*)\\s*,?");

  private PoetryConstraint() {}

  /**
   * The alternatives of {@code constraint}, each a PEP 440 specifier set ("" for "any"); the
   * constraint holds when one alternative does. Null when Kiln cannot read it.
   */
  static List<String> toPep440(String constraint) {
    List<String> alternatives = new ArrayList<>();
    if (constraint == null || constraint.isBlank()) {
      alternatives.add("");
      return alternatives;
    }
    for (String alternative : constraint.split("\\|\\|?")) {
      String converted = convertConjunction(alternative.strip());
      if (converted == null) {
        return null;
      }
      alternatives.add(converted);
    }
    return alternatives;
  }

  private static String convertConjunction(String text) {
    List<String> clauses = new ArrayList<>();
    Matcher m = PART.matcher(text);
    int position = 0;
    while (position < text.length()) {
      if (!m.find(position) || m.start() != position || m.end() == position) {
        return null;
      }
      position = m.end();
      String op = m.group(1) == null ? "" : m.group(1);
      String version = m.group(2);
      if (version.startsWith("v")) {
        version = version.substring(1);
      }
      if (version.equals("*")) {
        if (!op.isEmpty() && !op.equals("==") && !op.equals("=")) {
          return null;
        }
        continue;
      }
      switch (op) {
        case "^" -> {
          clauses.add(">=" + version);
          clauses.add("<" + nextBreaking(release(version)));
        }
        case "~" -> {
          int[] release = release(version);
          clauses.add(">=" + version);
          clauses.add("<" + (release.length == 1 ? next(release, 0) : next(release, 1)));
        }
        case "~=" -> {
          int[] release = release(version);
          if (release.length == 1) {
            clauses.add(">=" + version);
            clauses.add("<" + next(release, 0));
          } else {
            clauses.add("~=" + version);
          }
        }
        case "", "=" -> clauses.add("==" + version);
        default -> clauses.add(op + version);
      }
    }
    return String.join(",", clauses);
  }

  private static int[] release(String version) {
    Matcher m = Pattern.compile("\\d+(?:\\.\\d+)*").matcher(version);
    if (!m.lookingAt()) {
      return new int[] {0};
    }
    return Arrays.stream(m.group().split("\\.")).mapToInt(Integer::parseInt).toArray();
  }

  /** poetry-core's {@code Version.next_breaking()}. */
  private static String nextBreaking(int[] release) {
    if (release[0] > 0 || release.length == 1) {
      return next(release, 0);
    }
    if (release[1] > 0 || release.length == 2) {
      return next(release, 1);
    }
    return next(release, 2);
  }

  /** The release with segment {@code index} raised by one and everything after it dropped. */
  private static String next(int[] release, int index) {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i <= index; i++) {
      int value = i < release.length ? release[i] : 0;
      text.append(i == 0 ? "" : ".").append(i == index ? value + 1 : value);
    }
    return text.toString();
  }
}
