package dev.kiln.installer.lock;

import java.util.Arrays;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The lowest and highest Python release a {@code requires-python} specifier set admits, which is
 * what uv compares between a lock and its pyproject.toml ({@code >=3.10,<4} and {@code >=3.10.0,
 * <4.0} are the same range; {@code !=} clauses do not move it). Release versions only.
 */
record PythonBounds(Bound lower, Bound upper) {
  private static final Pattern CLAUSE =
      Pattern.compile("(~=|===|==|!=|<=|>=|<|>)\\s*v?(\\d+(?:\\.\\d+)*)(\\.\\*)?");

  /** One end of the range; a null bound means unbounded. */
  record Bound(int[] release, boolean inclusive) {
    @Override
    public boolean equals(Object other) {
      return other instanceof Bound that
          && inclusive == that.inclusive
          && compare(release, that.release) == 0;
    }

    @Override
    public int hashCode() {
      return Objects.hash(Arrays.hashCode(trimmed(release)), inclusive);
    }

    @Override
    public String toString() {
      StringBuilder text = new StringBuilder();
      for (int i = 0; i < release.length; i++) {
        text.append(i == 0 ? "" : ".").append(release[i]);
      }
      return text + (inclusive ? " (inclusive)" : " (exclusive)");
    }
  }

  /** The bounds of {@code specifiers}, or null when a clause is not a plain release comparison. */
  static PythonBounds of(String specifiers) {
    Bound lower = null;
    Bound upper = null;
    if (specifiers == null) {
      return new PythonBounds(null, null);
    }
    for (String raw : specifiers.split(",")) {
      String clause = raw.strip();
      if (clause.isEmpty()) {
        continue;
      }
      Matcher m = CLAUSE.matcher(clause);
      if (!m.matches()) {
        return null;
      }
      String op = m.group(1);
      int[] version = Arrays.stream(m.group(2).split("\\.")).mapToInt(Integer::parseInt).toArray();
      boolean wildcard = m.group(3) != null;
      if (wildcard && !op.equals("==") && !op.equals("!=")) {
        return null;
      }
      switch (op) {
        case ">=" -> lower = maxLower(lower, new Bound(version, true));
        case ">" -> lower = maxLower(lower, new Bound(version, false));
        case "<=" -> upper = minUpper(upper, new Bound(version, true));
        case "<" -> upper = minUpper(upper, new Bound(version, false));
        case "==", "===" -> {
          lower = maxLower(lower, new Bound(version, true));
          upper =
              minUpper(
                  upper, wildcard ? new Bound(bump(version), false) : new Bound(version, true));
        }
        case "~=" -> {
          if (version.length < 2) {
            return null;
          }
          lower = maxLower(lower, new Bound(version, true));
          upper =
              minUpper(upper, new Bound(bump(Arrays.copyOf(version, version.length - 1)), false));
        }
        default -> {
          // != leaves the bounding range as it is
        }
      }
    }
    return new PythonBounds(lower, upper);
  }

  private static int[] bump(int[] release) {
    int[] next = Arrays.copyOf(release, release.length);
    next[next.length - 1]++;
    return next;
  }

  private static Bound maxLower(Bound current, Bound candidate) {
    if (current == null) {
      return candidate;
    }
    int order = compare(candidate.release(), current.release());
    if (order != 0) {
      return order > 0 ? candidate : current;
    }
    return candidate.inclusive() ? current : candidate;
  }

  private static Bound minUpper(Bound current, Bound candidate) {
    if (current == null) {
      return candidate;
    }
    int order = compare(candidate.release(), current.release());
    if (order != 0) {
      return order < 0 ? candidate : current;
    }
    return candidate.inclusive() ? current : candidate;
  }

  static int compare(int[] a, int[] b) {
    for (int i = 0; i < Math.max(a.length, b.length); i++) {
      int x = i < a.length ? a[i] : 0;
      int y = i < b.length ? b[i] : 0;
      if (x != y) {
        return Integer.compare(x, y);
      }
    }
    return 0;
  }

  private static int[] trimmed(int[] release) {
    int length = release.length;
    while (length > 1 && release[length - 1] == 0) {
      length--;
    }
    return Arrays.copyOf(release, length);
  }
}
