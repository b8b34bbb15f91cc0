package dev.kiln.installer.lock;

import dev.kiln.installer.PythonRequirement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A test stand-in for the real PEP 440 check: one exact CPython version, and specifier sets made of
 * {@code >=, >, <=, <, ==, !=, ~=} over release numbers, with {@code ==X.*}/{@code !=X.*}
 * wildcards. Anything else fails the test. Every specifier asked is recorded.
 */
final class FakePython implements PythonRequirement {
  private final String version;
  final List<String> asked = new ArrayList<>();

  FakePython(String version) {
    this.version = version;
  }

  @Override
  public boolean allows(String specifiers) {
    if (specifiers == null || specifiers.isBlank()) {
      return true;
    }
    asked.add(specifiers);
    for (String clause : specifiers.split(",")) {
      String c = clause.strip();
      if (c.isEmpty()) {
        continue;
      }
      int split = 0;
      while (split < c.length() && "<>=!~".indexOf(c.charAt(split)) >= 0) {
        split++;
      }
      if (!check(version, c.substring(0, split), c.substring(split).strip())) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String targetVersion() {
    return version;
  }

  static boolean check(String actual, String op, String wanted) {
    if (wanted.endsWith(".*")) {
      int[] prefix = release(wanted.substring(0, wanted.length() - 2));
      int[] have = Arrays.copyOf(release(actual), Math.max(prefix.length, release(actual).length));
      boolean matches = Arrays.equals(Arrays.copyOf(have, prefix.length), prefix);
      return switch (op) {
        case "==" -> matches;
        case "!=" -> !matches;
        default -> throw new AssertionError("FakePython: " + op + wanted);
      };
    }
    int order = compare(release(actual), release(wanted));
    return switch (op) {
      case ">=" -> order >= 0;
      case ">" -> order > 0;
      case "<=" -> order <= 0;
      case "<" -> order < 0;
      case "==", "===" -> order == 0;
      case "!=" -> order != 0;
      case "~=" -> {
        int[] w = release(wanted);
        int[] prefix = Arrays.copyOf(w, w.length - 1);
        yield order >= 0 && Arrays.equals(Arrays.copyOf(release(actual), prefix.length), prefix);
      }
      default -> throw new AssertionError("FakePython cannot check " + op + wanted);
    };
  }

  private static int[] release(String version) {
    if (!version.matches("\\d+(\\.\\d+)*")) {
      throw new AssertionError("FakePython reads release versions only, not " + version);
    }
    return Arrays.stream(version.split("\\.")).mapToInt(Integer::parseInt).toArray();
  }

  private static int compare(int[] a, int[] b) {
    for (int i = 0; i < Math.max(a.length, b.length); i++) {
      int x = i < a.length ? a[i] : 0;
      int y = i < b.length ? b[i] : 0;
      if (x != y) {
        return Integer.compare(x, y);
      }
    }
    return 0;
  }
}
