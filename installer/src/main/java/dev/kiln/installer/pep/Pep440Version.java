package dev.kiln.installer.pep;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A version as PEP 440 defines it ({@code [N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]}), read in
 * every spelling the specification accepts (a leading {@code v}, any case, {@code -}/{@code _}/
 * {@code .} separators, {@code alpha}/{@code beta}/{@code c}/{@code pre}/{@code preview}, {@code
 * r}/{@code rev}, implicit numbers, the {@code 1.0-1} post-release form) and ordered exactly as the
 * specification orders versions.
 *
 * <p>Equality follows that ordering: {@code 1.0} equals {@code 1.0.0} and {@code 1.0c1} equals
 * {@code 1.0rc1}; {@link #normalized()} keeps what was written (trailing zeros included) in the
 * specification's normal form.
 */
public final class Pep440Version implements Comparable<Pep440Version> {

  /** A pre-release segment: {@code a}, {@code b} or {@code rc} and its number. */
  public record PreRelease(String label, long number) {
    public PreRelease {
      if (!label.equals("a") && !label.equals("b") && !label.equals("rc")) {
        throw new IllegalArgumentException("pre-release label must be a, b or rc: " + label);
      }
    }

    int rank() {
      return switch (label) {
        case "a" -> 0;
        case "b" -> 1;
        default -> 2;
      };
    }

    @Override
    public String toString() {
      return label + number;
    }
  }

  // Written from PEP 440's grammar: every optional separator, alternative label spelling and
  // implicit number the specification's normalization rules accept. ASCII only.
  private static final Pattern SYNTAX =
      Pattern.compile(
          "v?"
              + "(?:(?<epoch>[0-9]+)!)?"
              + "(?<release>[0-9]+(?:\\.[0-9]+)*)"
              + "(?:[-_.]?(?<preLabel>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<preNumber>[0-9]+)?)?"
              + "(?:-(?<implicitPost>[0-9]+)"
              + "|[-_.]?(?<postLabel>post|rev|r)[-_.]?(?<postNumber>[0-9]+)?)?"
              + "(?:[-_.]?(?<devLabel>dev)[-_.]?(?<devNumber>[0-9]+)?)?"
              + "(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?",
          Pattern.CASE_INSENSITIVE);

  private static final int MAX_DIGITS = 18;

  private final long epoch;
  private final long[] release;
  private final PreRelease pre;
  private final Long post;
  private final Long dev;
  private final List<String> local;
  private final String normalized;

  private Pep440Version(
      long epoch, long[] release, PreRelease pre, Long post, Long dev, List<String> local) {
    this.epoch = epoch;
    this.release = release;
    this.pre = pre;
    this.post = post;
    this.dev = dev;
    this.local = local;
    this.normalized = render();
  }

  /** Reads any PEP 440 spelling; empty when {@code text} is not a PEP 440 version. */
  public static Optional<Pep440Version> parse(String text) {
    try {
      return Optional.of(of(text));
    } catch (IllegalArgumentException notAVersion) {
      return Optional.empty();
    }
  }

  /**
   * Reads any PEP 440 spelling.
   *
   * @throws IllegalArgumentException saying why when {@code text} is not a PEP 440 version
   */
  public static Pep440Version of(String text) {
    if (text == null) {
      throw new IllegalArgumentException("a version is missing");
    }
    String stripped = PythonStrings.strip(text);
    Matcher m = SYNTAX.matcher(stripped);
    if (stripped.isEmpty() || !m.matches()) {
      throw new IllegalArgumentException(
          "'"
              + PythonStrings.quote(text)
              + "' is not a PEP 440 version (such as 1.2.3, 2.0rc1, 1.0.post2, 1!2.0 or"
              + " 1.0+local)");
    }
    long epoch = m.group("epoch") == null ? 0 : number(m.group("epoch"), text);
    String[] parts = m.group("release").split("\\.");
    long[] release = new long[parts.length];
    for (int i = 0; i < parts.length; i++) {
      release[i] = number(parts[i], text);
    }
    PreRelease pre = null;
    if (m.group("preLabel") != null) {
      pre =
          new PreRelease(
              preLabel(m.group("preLabel").toLowerCase(Locale.ROOT)),
              optionalNumber(m.group("preNumber"), text));
    }
    Long post = null;
    if (m.group("implicitPost") != null) {
      post = number(m.group("implicitPost"), text);
    } else if (m.group("postLabel") != null) {
      post = optionalNumber(m.group("postNumber"), text);
    }
    Long dev = m.group("devLabel") == null ? null : optionalNumber(m.group("devNumber"), text);
    List<String> local = m.group("local") == null ? null : localSegments(m.group("local"));
    return new Pep440Version(epoch, release, pre, post, dev, local);
  }

  private static String preLabel(String spelled) {
    return switch (spelled) {
      case "a", "alpha" -> "a";
      case "b", "beta" -> "b";
      default -> "rc"; // c, rc, pre, preview
    };
  }

  private static long optionalNumber(String digits, String text) {
    return digits == null ? 0 : number(digits, text);
  }

  private static long number(String digits, String text) {
    String significant = stripLeadingZeros(digits);
    if (significant.length() > MAX_DIGITS) {
      throw new IllegalArgumentException(
          "'"
              + PythonStrings.quote(text)
              + "' has a number with more than "
              + MAX_DIGITS
              + " digits, which Kiln does not support in a version");
    }
    return Long.parseLong(significant);
  }

  private static List<String> localSegments(String local) {
    List<String> segments = new ArrayList<>();
    for (String segment : local.toLowerCase(Locale.ROOT).split("[-_.]")) {
      segments.add(isNumeric(segment) ? stripLeadingZeros(segment) : segment);
    }
    return List.copyOf(segments);
  }

  static boolean isNumeric(String segment) {
    for (int i = 0; i < segment.length(); i++) {
      char c = segment.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return !segment.isEmpty();
  }

  private static String stripLeadingZeros(String digits) {
    int i = 0;
    while (i < digits.length() - 1 && digits.charAt(i) == '0') {
      i++;
    }
    return digits.substring(i);
  }

  // ------------------------------------------------------------------ parts

  public long epoch() {
    return epoch;
  }

  /** The release segment as written ({@code 1.0} gives [1, 0]); never empty. */
  public List<Long> release() {
    List<Long> parts = new ArrayList<>(release.length);
    for (long part : release) {
      parts.add(part);
    }
    return List.copyOf(parts);
  }

  /** The {@code i}th release number, 0 past the end (so {@code 3} has minor 0). */
  public long releasePart(int i) {
    return i < release.length ? release[i] : 0;
  }

  public long major() {
    return releasePart(0);
  }

  public long minor() {
    return releasePart(1);
  }

  public long micro() {
    return releasePart(2);
  }

  public Optional<PreRelease> preRelease() {
    return Optional.ofNullable(pre);
  }

  public OptionalLong post() {
    return post == null ? OptionalLong.empty() : OptionalLong.of(post);
  }

  public OptionalLong dev() {
    return dev == null ? OptionalLong.empty() : OptionalLong.of(dev);
  }

  /** The local label in normal form ({@code ubuntu.1}), if any. */
  public Optional<String> local() {
    return local == null ? Optional.empty() : Optional.of(String.join(".", local));
  }

  /** A pre-release or a development release (PEP 440 treats both as pre-releases). */
  public boolean isPreRelease() {
    return pre != null || dev != null;
  }

  public boolean isDevRelease() {
    return dev != null;
  }

  public boolean isPostRelease() {
    return post != null;
  }

  public boolean hasLocal() {
    return local != null;
  }

  /** This version without its local label. */
  public Pep440Version publicVersion() {
    return local == null ? this : new Pep440Version(epoch, release, pre, post, dev, null);
  }

  /** Epoch and release only ({@code 1!2.0rc1.post3} gives {@code 1!2.0}). */
  public Pep440Version baseVersion() {
    if (pre == null && post == null && dev == null && local == null) {
      return this;
    }
    return new Pep440Version(epoch, release, null, null, null, null);
  }

  /** This version with its release written without trailing zeros ({@code 1.0.0} gives 1). */
  Pep440Version withoutTrailingZeros() {
    int length = significantReleaseLength();
    return length == release.length
        ? this
        : new Pep440Version(epoch, Arrays.copyOf(release, length), pre, post, dev, local);
  }

  /** Whether this and {@code other} have the same epoch and the same release, zero-padded. */
  boolean sameRelease(Pep440Version other) {
    if (epoch != other.epoch) {
      return false;
    }
    int length = Math.max(release.length, other.release.length);
    for (int i = 0; i < length; i++) {
      if (releasePart(i) != other.releasePart(i)) {
        return false;
      }
    }
    return true;
  }

  /** The release segment as written, without trailing zeros: the part that orders. */
  int significantReleaseLength() {
    int length = release.length;
    while (length > 1 && release[length - 1] == 0) {
      length--;
    }
    return length;
  }

  int releaseLength() {
    return release.length;
  }

  PreRelease preOrNull() {
    return pre;
  }

  Long postOrNull() {
    return post;
  }

  Long devOrNull() {
    return dev;
  }

  // ------------------------------------------------------------------ text

  /** The normal form PEP 440 defines ({@code 1.0-RC-1} gives {@code 1.0rc1}). */
  public String normalized() {
    return normalized;
  }

  private String render() {
    StringBuilder text = new StringBuilder();
    if (epoch != 0) {
      text.append(epoch).append('!');
    }
    for (int i = 0; i < release.length; i++) {
      if (i > 0) {
        text.append('.');
      }
      text.append(release[i]);
    }
    if (pre != null) {
      text.append(pre);
    }
    if (post != null) {
      text.append(".post").append(post);
    }
    if (dev != null) {
      text.append(".dev").append(dev);
    }
    if (local != null) {
      text.append('+').append(String.join(".", local));
    }
    return text.toString();
  }

  @Override
  public String toString() {
    return normalized;
  }

  // ------------------------------------------------------------------ order

  @Override
  public int compareTo(Pep440Version other) {
    int c = Long.compare(epoch, other.epoch);
    if (c != 0) {
      return c;
    }
    int length = Math.max(release.length, other.release.length);
    for (int i = 0; i < length; i++) {
      c = Long.compare(releasePart(i), other.releasePart(i));
      if (c != 0) {
        return c;
      }
    }
    c = Integer.compare(preRank(), other.preRank());
    if (c == 0 && pre != null && other.pre != null) {
      c = Long.compare(pre.number(), other.pre.number());
    }
    if (c != 0) {
      return c;
    }
    // No post-release sorts before any post-release.
    c = compareAbsentFirst(post, other.post);
    if (c != 0) {
      return c;
    }
    // No development release sorts after any development release.
    c = compareAbsentLast(dev, other.dev);
    if (c != 0) {
      return c;
    }
    return compareLocal(local, other.local);
  }

  /**
   * Where the pre-release segment puts this version among those of the same release: a development
   * release of the final release ({@code 1.0.dev0}) first, then a, b, rc, then the final release
   * and its post-releases.
   */
  private int preRank() {
    if (pre != null) {
      return pre.rank();
    }
    return post == null && dev != null ? -1 : 3;
  }

  private static int compareAbsentFirst(Long a, Long b) {
    if (a == null || b == null) {
      return a == null ? (b == null ? 0 : -1) : 1;
    }
    return Long.compare(a, b);
  }

  private static int compareAbsentLast(Long a, Long b) {
    if (a == null || b == null) {
      return a == null ? (b == null ? 0 : 1) : -1;
    }
    return Long.compare(a, b);
  }

  private static int compareLocal(List<String> a, List<String> b) {
    if (a == null || b == null) {
      return a == null ? (b == null ? 0 : -1) : 1;
    }
    for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
      int c = compareLocalSegment(a.get(i), b.get(i));
      if (c != 0) {
        return c;
      }
    }
    return Integer.compare(a.size(), b.size());
  }

  /** Numeric segments compare as numbers and sort after alphanumeric ones. */
  private static int compareLocalSegment(String a, String b) {
    boolean aNumeric = isNumeric(a);
    boolean bNumeric = isNumeric(b);
    if (aNumeric && bNumeric) {
      int c = Integer.compare(a.length(), b.length()); // both without leading zeros
      return c != 0 ? c : a.compareTo(b);
    }
    if (aNumeric != bNumeric) {
      return aNumeric ? 1 : -1;
    }
    return a.compareTo(b);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Pep440Version other && compareTo(other) == 0;
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        epoch,
        Arrays.hashCode(Arrays.copyOf(release, significantReleaseLength())),
        pre,
        post,
        dev,
        local);
  }
}
