package dev.kiln.installer.lock;

import dev.kiln.installer.MarkerEvaluator;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A test stand-in for the real PEP 508 evaluator (package {@code dev.kiln.installer.pep}, written
 * elsewhere): CPython on x86-64 Linux at one Python version. It answers only the subset of markers
 * the fixtures use: {@code and}/{@code or}/parentheses over {@code variable op 'value'} and {@code
 * 'value' in variable}; {@code python_version}/{@code python_full_version} compared as release
 * numbers (and {@code python_version not in '3.0, 3.1'} as substring containment, as PEP 508 says);
 * {@code sys_platform}, {@code platform_system}, {@code os_name}, {@code platform_machine}, {@code
 * implementation_name}, {@code platform_python_implementation} as strings; {@code extra} against
 * the requested extras; PEP 751's {@code extras} and {@code dependency_groups} sets. Anything else
 * fails the test, so a reader never silently depends on an answer the fake made up. Every marker
 * asked is recorded.
 */
final class FakeMarkers implements MarkerEvaluator {
  private final String pythonFullVersion;
  private final Map<String, String> strings;
  final List<String> asked = new ArrayList<>();

  FakeMarkers(String pythonFullVersion) {
    this.pythonFullVersion = pythonFullVersion;
    this.strings =
        Map.of(
            "sys_platform", "linux",
            "platform_system", "Linux",
            "os_name", "posix",
            "platform_machine", "x86_64",
            "implementation_name", "cpython",
            "platform_python_implementation", "CPython");
  }

  static FakeMarkers linux(String pythonFullVersion) {
    return new FakeMarkers(pythonFullVersion);
  }

  @Override
  public boolean applies(String marker, Set<String> extras, Set<String> dependencyGroups) {
    if (marker == null || marker.isBlank()) {
      return true;
    }
    asked.add(marker);
    Parser parser = new Parser(tokenize(marker), extras, dependencyGroups);
    boolean result = parser.or();
    if (parser.position != parser.tokens.size()) {
      throw new AssertionError("FakeMarkers cannot read the end of: " + marker);
    }
    return result;
  }

  private static List<String> tokenize(String marker) {
    List<String> tokens = new ArrayList<>();
    int i = 0;
    while (i < marker.length()) {
      char c = marker.charAt(i);
      if (Character.isWhitespace(c)) {
        i++;
      } else if (c == '(' || c == ')') {
        tokens.add(String.valueOf(c));
        i++;
      } else if (c == '\'' || c == '"') {
        int end = marker.indexOf(c, i + 1);
        tokens.add(marker.substring(i, end + 1));
        i = end + 1;
      } else if ("<>=!~".indexOf(c) >= 0) {
        int end = i;
        while (end < marker.length() && "<>=!~".indexOf(marker.charAt(end)) >= 0) {
          end++;
        }
        tokens.add(marker.substring(i, end));
        i = end;
      } else {
        int end = i;
        while (end < marker.length()
            && (Character.isLetterOrDigit(marker.charAt(end))
                || marker.charAt(end) == '_'
                || marker.charAt(end) == '.')) {
          end++;
        }
        if (end == i) {
          throw new AssertionError("FakeMarkers cannot read: " + marker);
        }
        tokens.add(marker.substring(i, end));
        i = end;
      }
    }
    return tokens;
  }

  private final class Parser {
    final List<String> tokens;
    final Set<String> extras;
    final Set<String> groups;
    int position;

    Parser(List<String> tokens, Set<String> extras, Set<String> groups) {
      this.tokens = tokens;
      this.extras = extras;
      this.groups = groups;
    }

    boolean or() {
      boolean value = and();
      while (peek("or")) {
        position++;
        value |= and();
      }
      return value;
    }

    boolean and() {
      boolean value = atom();
      while (peek("and")) {
        position++;
        value &= atom();
      }
      return value;
    }

    boolean atom() {
      if (peek("(")) {
        position++;
        boolean value = or();
        expect(")");
        return value;
      }
      String left = tokens.get(position++);
      String op = tokens.get(position++);
      if (op.equals("not")) {
        expect("in");
        op = "not in";
      }
      String right = tokens.get(position++);
      return compare(left, op, right);
    }

    boolean compare(String left, String op, String right) {
      if ((op.equals("in") || op.equals("not in"))
          && !right.equals("extras")
          && !right.equals("dependency_groups")) {
        // PEP 508: a variable "in" a string is substring containment
        boolean in = unquote(right).contains(variable(left));
        return op.equals("in") == in;
      }
      if (op.equals("in") || op.equals("not in")) {
        Set<String> set =
            switch (right) {
              case "extras" -> extras;
              case "dependency_groups" -> groups;
              default -> throw new AssertionError("FakeMarkers has no set " + right);
            };
        boolean in = set.contains(unquote(left));
        return op.equals("in") == in;
      }
      if (left.equals("extra")) {
        boolean in = extras.contains(unquote(right));
        return switch (op) {
          case "==" -> in;
          case "!=" -> !in;
          default -> throw new AssertionError("FakeMarkers: extra " + op);
        };
      }
      if (left.equals("python_version") || left.equals("python_full_version")) {
        return FakePython.check(variable(left), op, unquote(right));
      }
      if (right.equals("python_version") || right.equals("python_full_version")) {
        throw new AssertionError("FakeMarkers: version on the right");
      }
      String value = variable(left);
      return switch (op) {
        case "==" -> value.equals(unquote(right));
        case "!=" -> !value.equals(unquote(right));
        default -> throw new AssertionError("FakeMarkers: " + left + " " + op);
      };
    }

    String variable(String name) {
      if (name.equals("python_version")) {
        return pythonFullVersion.substring(0, pythonFullVersion.lastIndexOf('.'));
      }
      if (name.equals("python_full_version")) {
        return pythonFullVersion;
      }
      String value = strings.get(name);
      if (value == null) {
        throw new AssertionError("FakeMarkers does not know the variable " + name);
      }
      return value;
    }

    boolean peek(String token) {
      return position < tokens.size() && tokens.get(position).equals(token);
    }

    void expect(String token) {
      if (!peek(token)) {
        throw new AssertionError("FakeMarkers expected " + token);
      }
      position++;
    }
  }

  private static String unquote(String token) {
    if (token.length() >= 2 && (token.charAt(0) == '\'' || token.charAt(0) == '"')) {
      return token.substring(1, token.length() - 1);
    }
    throw new AssertionError("FakeMarkers expected a quoted value, got " + token);
  }
}
