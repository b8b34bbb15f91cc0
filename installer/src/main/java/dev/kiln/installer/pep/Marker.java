package dev.kiln.installer.pep;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A PEP 508 environment marker ({@code python_version < "3.11" and sys_platform == "linux"}),
 * parsed once and evaluated for a target interpreter.
 *
 * <p>Comparisons use PEP 440 when the right-hand side makes a version specifier with the operator
 * and the left-hand side is a version ({@code "3.8" < python_version} compares versions too), with
 * pre-releases allowed; otherwise they compare strings as Python does. {@code in} and {@code not
 * in} test substrings. {@code extra} is compared by normalized name (PEP 685), never as a version.
 * The PEP 751 sets {@code extras} and {@code dependency_groups} take only {@code "name" in extras}
 * and {@code not in}. The legacy spellings {@code os.name}, {@code sys.platform}, {@code
 * platform.version}, {@code platform.machine}, {@code platform.python_implementation} and {@code
 * python_implementation} are read as their PEP 508 names.
 */
public final class Marker {

  private static final Map<String, String> LEGACY_NAMES =
      Map.of(
          "os.name", "os_name",
          "sys.platform", "sys_platform",
          "platform.version", "platform_version",
          "platform.machine", "platform_machine",
          "platform.python_implementation", "platform_python_implementation",
          "python_implementation", "platform_python_implementation");

  private static final String EXTRA = "extra";
  private static final Set<String> SET_VARIABLES = Set.of("extras", "dependency_groups");
  private static final Set<String> OPERATORS =
      Set.of("===", "==", "!=", "<=", ">=", "~=", "<", ">", "in", "not in");

  // ------------------------------------------------------------------ syntax tree

  private sealed interface Node permits Compare, And, Or {}

  private sealed interface Value permits Variable, Literal {}

  private record Variable(String name) implements Value {
    @Override
    public String toString() {
      return name;
    }
  }

  private record Literal(String text) implements Value {
    @Override
    public String toString() {
      return text.contains("\"") ? "'" + text + "'" : "\"" + text + "\"";
    }
  }

  private record Compare(Value left, String op, Value right) implements Node {
    @Override
    public String toString() {
      return left + " " + op + " " + right;
    }
  }

  private record And(List<Node> terms) implements Node {
    @Override
    public String toString() {
      return terms.stream()
          .map(term -> term instanceof Or ? "(" + term + ")" : term.toString())
          .collect(Collectors.joining(" and "));
    }
  }

  private record Or(List<Node> terms) implements Node {
    @Override
    public String toString() {
      return terms.stream().map(Node::toString).collect(Collectors.joining(" or "));
    }
  }

  private final Node root;

  private Marker(Node root) {
    this.root = root;
  }

  /**
   * Reads a marker (the part after {@code ;} in a requirement).
   *
   * @throws IllegalArgumentException saying where the marker stops making sense and why
   */
  public static Marker parse(String text) {
    Objects.requireNonNull(text, "text");
    return new Marker(new Parser(text).parseMarker());
  }

  // ------------------------------------------------------------------ evaluation

  /** For an install without extras. */
  public boolean evaluate(MarkerEnvironment environment) {
    return evaluate(environment, Set.of(), Set.of());
  }

  /**
   * Whether the marker holds in {@code environment} when the distribution is installed with {@code
   * extras}: as pip does, a marker naming {@code extra} is evaluated once per requested extra (with
   * {@code extra == ""} when there is none) and holds if any evaluation does.
   *
   * @throws IllegalArgumentException when the marker compares in a way PEP 508 leaves undefined
   *     ({@code os_name ~= "2.0"}, {@code extras == "a"}) or names a variable the environment lacks
   */
  public boolean evaluate(MarkerEnvironment environment, Set<String> extras) {
    return evaluate(environment, extras, Set.of());
  }

  /** As {@link #evaluate(MarkerEnvironment, Set)}, with the dependency groups a lock installs. */
  public boolean evaluate(
      MarkerEnvironment environment, Set<String> extras, Set<String> dependencyGroups) {
    Objects.requireNonNull(environment, "environment");
    Set<String> normalizedExtras = normalizeAll(extras);
    Set<String> normalizedGroups = normalizeAll(dependencyGroups);
    if (normalizedExtras.isEmpty() || !mentions(root, EXTRA)) {
      return eval(root, new Scope(environment, "", normalizedExtras, normalizedGroups));
    }
    for (String extra : normalizedExtras) {
      if (eval(root, new Scope(environment, extra, normalizedExtras, normalizedGroups))) {
        return true;
      }
    }
    return false;
  }

  private static Set<String> normalizeAll(Set<String> names) {
    return names.stream().map(ProjectName::normalize).collect(Collectors.toUnmodifiableSet());
  }

  private record Scope(
      MarkerEnvironment environment, String extra, Set<String> extras, Set<String> groups) {}

  private static boolean mentions(Node node, String variable) {
    if (node instanceof Compare c) {
      return c.left().equals(new Variable(variable)) || c.right().equals(new Variable(variable));
    }
    List<Node> terms = node instanceof And and ? and.terms() : ((Or) node).terms();
    return terms.stream().anyMatch(term -> mentions(term, variable));
  }

  private boolean eval(Node node, Scope scope) {
    if (node instanceof And and) {
      return and.terms().stream().allMatch(term -> eval(term, scope));
    }
    if (node instanceof Or or) {
      return or.terms().stream().anyMatch(term -> eval(term, scope));
    }
    return compare((Compare) node, scope);
  }

  private boolean compare(Compare c, Scope scope) {
    if (isSet(c.left()) || (isSet(c.right()) && !c.op().endsWith("in"))) {
      throw undefined(
          c,
          "the sets extras and dependency_groups take only '\"name\" in "
              + setName(c)
              + "' or 'not in'");
    }
    if (isSet(c.right())) {
      Set<String> set =
          ((Variable) c.right()).name().equals("extras") ? scope.extras() : scope.groups();
      boolean member = set.contains(ProjectName.normalize(value(c.left(), scope)));
      return c.op().equals("in") == member;
    }
    String lhs = value(c.left(), scope);
    String rhs = value(c.right(), scope);
    if (isExtra(c.left()) || isExtra(c.right())) {
      return compareStrings(c, ProjectName.normalize(lhs), ProjectName.normalize(rhs));
    }
    if (c.op().equals("in") || c.op().equals("not in")) {
      return compareStrings(c, lhs, rhs);
    }
    if (!rhs.isEmpty() && "=<>!~".indexOf(rhs.charAt(0)) < 0) {
      try {
        VersionSpecifier.Clause clause = VersionSpecifier.Clause.parse(c.op() + rhs);
        if (c.op().equals("===") || Pep440Version.parse(lhs).isPresent()) {
          return clause.matchesText(lhs);
        }
      } catch (IllegalArgumentException notAVersion) {
        // not a version comparison: compare the strings
      }
    }
    return compareStrings(c, lhs, rhs);
  }

  private boolean compareStrings(Compare c, String lhs, String rhs) {
    return switch (c.op()) {
      case "==", "===" -> lhs.equals(rhs);
      case "!=" -> !lhs.equals(rhs);
      case "<" -> PythonStrings.compare(lhs, rhs) < 0;
      case "<=" -> PythonStrings.compare(lhs, rhs) <= 0;
      case ">" -> PythonStrings.compare(lhs, rhs) > 0;
      case ">=" -> PythonStrings.compare(lhs, rhs) >= 0;
      case "in" -> rhs.contains(lhs);
      case "not in" -> !rhs.contains(lhs);
      default ->
          throw undefined(
              c,
              "'"
                  + c.op()
                  + "' compares versions, and '"
                  + PythonStrings.quote(lhs)
                  + "' "
                  + c.op()
                  + " '"
                  + PythonStrings.quote(rhs)
                  + "' is not a version comparison");
    };
  }

  private String value(Value value, Scope scope) {
    if (value instanceof Literal literal) {
      return literal.text();
    }
    String name = ((Variable) value).name();
    if (name.equals(EXTRA)) {
      return scope.extra();
    }
    String found =
        scope
            .environment()
            .get(name)
            .orElseThrow(
                () ->
                    new IllegalArgumentException(
                        "the marker '" + this + "' needs " + name + ", which has no value here"));
    // A Python built from an untagged checkout reports "3.11.1+"; PEP 440 reads "3.11.1+local".
    if (name.equals("python_full_version") && found.endsWith("+")) {
      return found + "local";
    }
    return found;
  }

  private static boolean isSet(Value value) {
    return value instanceof Variable v && SET_VARIABLES.contains(v.name());
  }

  private static String setName(Compare c) {
    return isSet(c.left()) ? c.left().toString() : c.right().toString();
  }

  private static boolean isExtra(Value value) {
    return value instanceof Variable v && v.name().equals(EXTRA);
  }

  private IllegalArgumentException undefined(Compare c, String why) {
    return new IllegalArgumentException(
        "the marker '" + this + "' cannot be evaluated: in '" + c + "', " + why);
  }

  // ------------------------------------------------------------------ text

  /** The marker in normal form: double quotes where possible, parentheses only where needed. */
  @Override
  public String toString() {
    return root.toString();
  }

  /** Markers are equal when they read the same in normal form. */
  @Override
  public boolean equals(Object o) {
    return o instanceof Marker other && root.equals(other.root);
  }

  @Override
  public int hashCode() {
    return root.hashCode();
  }

  // ------------------------------------------------------------------ parser

  /** Recursive descent over PEP 508's marker grammar; whitespace is spaces and tabs. */
  private static final class Parser {
    private final String text;
    private int pos;

    Parser(String text) {
      this.text = text;
    }

    Node parseMarker() {
      Node node = parseOr();
      skipSpace();
      if (pos < text.length()) {
        throw error(
            text.charAt(pos) == ')'
                ? "a ')' without its '('"
                : "expected 'and', 'or' or the end of the marker");
      }
      return node;
    }

    private Node parseOr() {
      List<Node> terms = new ArrayList<>();
      terms.add(parseAnd());
      while (keyword("or")) {
        terms.add(parseAnd());
      }
      return terms.size() == 1 ? terms.get(0) : new Or(flatten(terms, Or.class));
    }

    private Node parseAnd() {
      List<Node> terms = new ArrayList<>();
      terms.add(parseAtom());
      while (keyword("and")) {
        terms.add(parseAtom());
      }
      return terms.size() == 1 ? terms.get(0) : new And(flatten(terms, And.class));
    }

    private static List<Node> flatten(List<Node> terms, Class<? extends Node> kind) {
      List<Node> flat = new ArrayList<>();
      for (Node term : terms) {
        if (kind.isInstance(term)) {
          flat.addAll(term instanceof And and ? and.terms() : ((Or) term).terms());
        } else {
          flat.add(term);
        }
      }
      return List.copyOf(flat);
    }

    private Node parseAtom() {
      skipSpace();
      if (peek() == '(') {
        pos++;
        Node inner = parseOr();
        skipSpace();
        if (peek() != ')') {
          throw error("expected ')' to close the '('");
        }
        pos++;
        return inner;
      }
      Value left = parseValue();
      String op = parseOperator();
      Value right = parseValue();
      return normalizeNames(new Compare(left, op, right));
    }

    /** Extra and group names are compared normalized, so they are written normalized. */
    private static Compare normalizeNames(Compare c) {
      boolean extraComparison = isExtra(c.left()) || isExtra(c.right());
      boolean membership = isSet(c.right()) && c.op().endsWith("in");
      if (!extraComparison && !membership) {
        return c;
      }
      return new Compare(normalizeLiteral(c.left()), c.op(), normalizeLiteral(c.right()));
    }

    private static Value normalizeLiteral(Value value) {
      return value instanceof Literal literal
          ? new Literal(ProjectName.normalize(literal.text()))
          : value;
    }

    private Value parseValue() {
      skipSpace();
      char c = peek();
      if (c == '"' || c == '\'') {
        return parseString(c);
      }
      String word = word();
      if (word.isEmpty()) {
        throw error("expected a quoted string or a marker variable such as python_version");
      }
      String name = LEGACY_NAMES.getOrDefault(word, word);
      if (!MarkerEnvironment.VARIABLES.contains(name)
          && !name.equals(EXTRA)
          && !SET_VARIABLES.contains(name)) {
        pos -= word.length();
        throw error(
            "'"
                + word
                + "' is not a marker variable (python_version, python_full_version, os_name,"
                + " sys_platform, platform_system, platform_machine, platform_release,"
                + " platform_version, platform_python_implementation, implementation_name,"
                + " implementation_version, extra, extras, dependency_groups)");
      }
      return new Variable(name);
    }

    private Literal parseString(char quote) {
      int start = ++pos;
      while (pos < text.length() && text.charAt(pos) != quote) {
        char c = text.charAt(pos);
        if (c == '\\' || c == '\n' || c == '\r') {
          throw error(
              c == '\\'
                  ? "a backslash is not allowed in a marker string"
                  : "a line break is not allowed in a marker string");
        }
        pos++;
      }
      if (pos >= text.length()) {
        pos = start - 1;
        throw error("the string opened here is never closed");
      }
      return new Literal(text.substring(start, pos++));
    }

    private String parseOperator() {
      skipSpace();
      for (String symbol : List.of("===", "==", "!=", "<=", ">=", "~=", "<", ">")) {
        if (text.startsWith(symbol, pos)) {
          pos += symbol.length();
          return symbol;
        }
      }
      int start = pos;
      String word = word();
      if (word.equals("in")) {
        return "in";
      }
      if (word.equals("not")) {
        skipSpace();
        if (word().equals("in")) {
          return "not in";
        }
      }
      pos = start;
      throw error("expected a comparison operator (" + String.join(" ", sorted()) + ")");
    }

    private static List<String> sorted() {
      return OPERATORS.stream().sorted().toList();
    }

    /** Reads {@code word} if it comes next as a whole word. */
    private boolean keyword(String word) {
      int start = pos;
      skipSpace();
      if (word().equals(word)) {
        return true;
      }
      pos = start;
      return false;
    }

    private String word() {
      int start = pos;
      while (pos < text.length()) {
        char c = text.charAt(pos);
        boolean letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        boolean tail = pos > start && ((c >= '0' && c <= '9') || c == '.');
        if (!letter && !tail) {
          break;
        }
        pos++;
      }
      return text.substring(start, pos);
    }

    private void skipSpace() {
      while (pos < text.length() && (text.charAt(pos) == ' ' || text.charAt(pos) == '\t')) {
        pos++;
      }
    }

    private char peek() {
      return pos < text.length() ? text.charAt(pos) : '\0';
    }

    private IllegalArgumentException error(String why) {
      String where =
          pos >= text.length()
              ? "at the end"
              : "at position "
                  + (pos + 1)
                  + " ('"
                  + PythonStrings.quote(text.substring(pos))
                  + "')";
      return new IllegalArgumentException(
          "'"
              + PythonStrings.quote(text)
              + "' is not a valid environment marker: "
              + why
              + " "
              + where);
    }
  }
}
