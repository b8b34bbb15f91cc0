package dev.kiln.installer.pep;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * A PEP 440 version specifier set such as {@code >=3.8,<4,!=3.9.1}: every clause must match. The
 * empty set matches every version.
 *
 * <p>Pre-releases (including development releases) follow PEP 440 as pip applies it: {@link
 * #contains(Pep440Version)} accepts one only when a clause of the set itself names a pre-release
 * ({@code >=2.0b1}); {@link #contains(Pep440Version, boolean)} with {@code true} accepts every
 * pre-release that matches (pip's {@code --pre}, and how environment markers and {@code
 * Requires-Python} are checked); {@link #filter} falls back to the matching pre-releases when no
 * final release matches, as pip's finder does.
 */
public final class VersionSpecifier {

  /** The comparison operators of PEP 440. */
  public enum Operator {
    COMPATIBLE("~="),
    EQUAL("=="),
    NOT_EQUAL("!="),
    LESS_EQUAL("<="),
    GREATER_EQUAL(">="),
    LESS("<"),
    GREATER(">"),
    ARBITRARY("===");

    private final String symbol;

    Operator(String symbol) {
      this.symbol = symbol;
    }

    public String symbol() {
      return symbol;
    }

    /** Longest symbols first, so {@code ===} is not read as {@code ==}. */
    private static final List<Operator> BY_LENGTH =
        List.of(ARBITRARY, COMPATIBLE, EQUAL, NOT_EQUAL, LESS_EQUAL, GREATER_EQUAL, LESS, GREATER);
  }

  /**
   * One clause: an operator and its version. {@code version} is null only for {@link
   * Operator#ARBITRARY}, whose operand is any text ({@code arbitrary}).
   */
  public static final class Clause {
    private final Operator operator;
    private final Pep440Version version;
    private final boolean wildcard;
    private final String arbitrary;

    private Clause(Operator operator, Pep440Version version, boolean wildcard, String arbitrary) {
      this.operator = operator;
      this.version = version;
      this.wildcard = wildcard;
      this.arbitrary = arbitrary;
    }

    /**
     * Reads one clause ({@code >=1.0}, {@code == 2.1.*}, {@code ===foobar}).
     *
     * @throws IllegalArgumentException saying what is wrong
     */
    public static Clause parse(String text) {
      Objects.requireNonNull(text, "text");
      String clause = PythonStrings.strip(text);
      text = clause;
      Operator operator = null;
      for (Operator candidate : Operator.BY_LENGTH) {
        if (clause.startsWith(candidate.symbol)) {
          operator = candidate;
          break;
        }
      }
      if (operator == null) {
        throw invalid(text, operatorHint(clause));
      }
      String operand = PythonStrings.strip(clause.substring(operator.symbol.length()));
      if (operand.isEmpty()) {
        throw invalid(text, "'" + operator.symbol + "' needs a version after it");
      }
      if (operator == Operator.ARBITRARY) {
        if (operand.chars().anyMatch(c -> PythonStrings.isSpace(c) || c == ';' || c == ')')) {
          throw invalid(text, "'===' takes one word without spaces");
        }
        return new Clause(operator, null, false, operand);
      }
      boolean wildcard = operand.endsWith(".*");
      String versionText = wildcard ? operand.substring(0, operand.length() - 2) : operand;
      if (wildcard && operator != Operator.EQUAL && operator != Operator.NOT_EQUAL) {
        throw invalid(text, "a '.*' prefix match works only with '==' and '!='");
      }
      Pep440Version version;
      try {
        version = Pep440Version.of(versionText);
      } catch (IllegalArgumentException e) {
        throw invalid(text, "'" + PythonStrings.quote(operand) + "' is not a PEP 440 version");
      }
      if (versionText.chars().anyMatch(PythonStrings::isSpace)) {
        throw invalid(text, "a version cannot contain spaces");
      }
      if (wildcard && (version.isPreRelease() || version.isPostRelease() || version.hasLocal())) {
        throw invalid(
            text, "a '.*' prefix must be a release number only (no pre, post, dev or local part)");
      }
      if (version.hasLocal() && operator != Operator.EQUAL && operator != Operator.NOT_EQUAL) {
        throw invalid(
            text,
            "a local version (+" + version.local().get() + ") works only with '=='" + " and '!='");
      }
      if (operator == Operator.COMPATIBLE && version.releaseLength() < 2) {
        throw invalid(text, "'~=' needs at least two release numbers, such as ~=" + version + ".0");
      }
      return new Clause(operator, version, wildcard, null);
    }

    private static String operatorHint(String clause) {
      if (Pep440Version.parse(clause).isPresent()) {
        return "it has no operator; write ==" + clause + " for exactly that version";
      }
      String word = clause.isEmpty() ? "" : clause.split("[0-9A-Za-z\\s]", 2)[0];
      return (word.isEmpty()
              ? "it does not start with an operator"
              : "'" + word + "' is not an operator")
          + "; use one of ~= == != <= >= < > ===";
    }

    private static IllegalArgumentException invalid(String text, String why) {
      return new IllegalArgumentException(
          "'" + PythonStrings.quote(text) + "' is not a version specifier: " + why);
    }

    public Operator operator() {
      return operator;
    }

    /** The version this clause compares with, absent for {@code ===}. */
    public Optional<Pep440Version> version() {
      return Optional.ofNullable(version);
    }

    /** Whether this is a prefix match ({@code ==1.2.*}, {@code !=1.2.*}). */
    public boolean isWildcard() {
      return wildcard;
    }

    /**
     * Whether this clause names a pre-release, which lets its set accept pre-releases ({@code
     * >=2.0b1}, {@code <1.0.dev1}); never for {@code !=}.
     */
    public boolean mentionsPreRelease() {
      if (operator == Operator.NOT_EQUAL) {
        return false;
      }
      if (operator == Operator.ARBITRARY) {
        return Pep440Version.parse(arbitrary).map(Pep440Version::isPreRelease).orElse(false);
      }
      return version.isPreRelease();
    }

    /** Whether {@code candidate} matches, pre-releases included. */
    public boolean matches(Pep440Version candidate) {
      Objects.requireNonNull(candidate, "candidate");
      return switch (operator) {
        case EQUAL -> equal(candidate);
        case NOT_EQUAL -> !equal(candidate);
        case LESS_EQUAL -> candidate.publicVersion().compareTo(version) <= 0;
        case GREATER_EQUAL -> candidate.publicVersion().compareTo(version) >= 0;
        case LESS -> less(candidate);
        case GREATER -> greater(candidate);
        case COMPATIBLE -> compatible(candidate);
        case ARBITRARY -> matchesArbitrary(candidate.normalized());
      };
    }

    /**
     * Whether the text {@code candidate} matches: {@code ===} compares the text itself (ignoring
     * case), every other operator the version it spells; text that is not a version matches only
     * {@code ===}.
     */
    public boolean matchesText(String candidate) {
      if (operator == Operator.ARBITRARY) {
        return matchesArbitrary(PythonStrings.strip(candidate));
      }
      return Pep440Version.parse(candidate).map(this::matches).orElse(false);
    }

    private boolean matchesArbitrary(String candidate) {
      return candidate.toLowerCase(Locale.ROOT).equals(arbitrary.toLowerCase(Locale.ROOT));
    }

    private boolean equal(Pep440Version candidate) {
      if (wildcard) {
        return prefixMatches(candidate, version);
      }
      // A clause without a local label ignores the candidate's.
      return (version.hasLocal() ? candidate : candidate.publicVersion()).equals(version);
    }

    /** {@code ==1.2.*}: same epoch and the release starts with 1.2 (zero-padded). */
    private static boolean prefixMatches(Pep440Version candidate, Pep440Version prefix) {
      if (candidate.epoch() != prefix.epoch()) {
        return false;
      }
      for (int i = 0; i < prefix.releaseLength(); i++) {
        if (candidate.releasePart(i) != prefix.releasePart(i)) {
          return false;
        }
      }
      return true;
    }

    /**
     * {@code <V}: below V, but never a pre-release of V itself unless V is a pre-release ({@code
     * <2.0} rejects {@code 2.0rc1}; {@code <1.0.post1} rejects {@code 1.0.post1.dev0}).
     */
    private boolean less(Pep440Version candidate) {
      if (candidate.compareTo(version) >= 0) {
        return false;
      }
      return version.isPreRelease() || !isPreReleaseOf(candidate, version);
    }

    private static boolean isPreReleaseOf(Pep440Version candidate, Pep440Version target) {
      if (!candidate.isPreRelease() || !candidate.sameRelease(target)) {
        return false;
      }
      if (target.postOrNull() == null) {
        return true;
      }
      return candidate.preOrNull() == null
          && target.postOrNull().equals(candidate.postOrNull())
          && candidate.devOrNull() != null;
    }

    /**
     * {@code >V}: above V, but never a post-release of V itself unless V is a post-release, and
     * never a local version of V ({@code >1.0} rejects {@code 1.0.post1} and {@code 1.0+local}).
     */
    private boolean greater(Pep440Version candidate) {
      Pep440Version candidatePublic = candidate.publicVersion();
      if (candidatePublic.compareTo(version) <= 0) {
        return false;
      }
      return !isPostReleaseOf(candidate, version);
    }

    private static boolean isPostReleaseOf(Pep440Version candidate, Pep440Version target) {
      return candidate.isPostRelease()
          && !target.isPostRelease()
          && !target.isDevRelease()
          && candidate.sameRelease(target)
          && Objects.equals(candidate.preOrNull(), target.preOrNull());
    }

    /** {@code ~=V.N}: {@code >=V.N} and {@code ==V.*}. */
    private boolean compatible(Pep440Version candidate) {
      if (candidate.publicVersion().compareTo(version) < 0) {
        return false;
      }
      if (candidate.epoch() != version.epoch()) {
        return false;
      }
      for (int i = 0; i < version.releaseLength() - 1; i++) {
        if (candidate.releasePart(i) != version.releasePart(i)) {
          return false;
        }
      }
      return true;
    }

    @Override
    public String toString() {
      if (operator == Operator.ARBITRARY) {
        return operator.symbol + arbitrary;
      }
      return operator.symbol + version.normalized() + (wildcard ? ".*" : "");
    }

    /**
     * What makes two clauses the same: trailing zeros do not matter to {@code ==2.8.0} and {@code
     * ==2.8}, but do to {@code ~=} and to prefixes.
     */
    private String canonical() {
      if (operator == Operator.ARBITRARY || operator == Operator.COMPATIBLE || wildcard) {
        return toString();
      }
      return operator.symbol + version.withoutTrailingZeros().normalized();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Clause other && canonical().equals(other.canonical());
    }

    @Override
    public int hashCode() {
      return canonical().hashCode();
    }
  }

  private static final VersionSpecifier ANY = new VersionSpecifier(List.of());

  private final List<Clause> clauses;

  private VersionSpecifier(List<Clause> clauses) {
    this.clauses = List.copyOf(clauses);
  }

  /** The empty set, which matches every version. */
  public static VersionSpecifier any() {
    return ANY;
  }

  /**
   * Reads a comma-separated specifier set ({@code >=3.8, <4}); blank text is the empty set.
   *
   * @throws IllegalArgumentException naming the clause that is not a specifier and why
   */
  public static VersionSpecifier parse(String text) {
    Objects.requireNonNull(text, "text");
    List<Clause> clauses = new ArrayList<>();
    for (String part : text.split(",", -1)) {
      if (PythonStrings.strip(part).isEmpty()) {
        continue; // ">=1.0," is common in the wild and pip accepts it
      }
      try {
        clauses.add(Clause.parse(part));
      } catch (IllegalArgumentException e) {
        if (text.contains(",")) {
          throw new IllegalArgumentException(
              e.getMessage() + " (in '" + PythonStrings.quote(text) + "')", e);
        }
        throw e;
      }
    }
    return new VersionSpecifier(clauses);
  }

  public List<Clause> clauses() {
    return clauses;
  }

  public boolean isEmpty() {
    return clauses.isEmpty();
  }

  /** Whether a clause names a pre-release, so that pre-releases are accepted by default. */
  public boolean mentionsPreRelease() {
    return clauses.stream().anyMatch(Clause::mentionsPreRelease);
  }

  /** PEP 440's default: matches every clause, and is no pre-release unless the set names one. */
  public boolean contains(Pep440Version version) {
    return contains(version, false);
  }

  /**
   * Whether {@code version} matches every clause; with {@code allowPreReleases} any pre-release
   * that matches counts, otherwise only when the set names one.
   */
  public boolean contains(Pep440Version version, boolean allowPreReleases) {
    Objects.requireNonNull(version, "version");
    if (version.isPreRelease() && !allowPreReleases && !mentionsPreRelease()) {
      return false;
    }
    for (Clause clause : clauses) {
      if (!clause.matches(version)) {
        return false;
      }
    }
    return true;
  }

  /** {@link #filter(Collection, Function, boolean)} for versions themselves. */
  public List<Pep440Version> filter(Collection<Pep440Version> versions) {
    return filter(versions, Function.identity(), false);
  }

  /**
   * The items whose version matches, in their order, as pip's finder picks candidates: matching
   * pre-releases are kept when {@code allowPreReleases} or the set names a pre-release, and
   * otherwise only when no final release matches.
   */
  public <T> List<T> filter(
      Collection<T> items, Function<T, Pep440Version> versionOf, boolean allowPreReleases) {
    List<T> finals = new ArrayList<>();
    List<T> all = new ArrayList<>();
    for (T item : items) {
      Pep440Version version = versionOf.apply(item);
      if (contains(version, true)) {
        all.add(item);
        if (!version.isPreRelease()) {
          finals.add(item);
        }
      }
    }
    if (allowPreReleases || mentionsPreRelease() || finals.isEmpty()) {
      return all;
    }
    return finals;
  }

  @Override
  public String toString() {
    return clauses.stream().map(Clause::toString).collect(Collectors.joining(","));
  }

  /** Sets are equal when they have the same clauses, in any order. */
  @Override
  public boolean equals(Object o) {
    return o instanceof VersionSpecifier other
        && new HashSet<>(clauses).equals(new HashSet<>(other.clauses));
  }

  @Override
  public int hashCode() {
    return new HashSet<>(clauses).hashCode();
  }
}
