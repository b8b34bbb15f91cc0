package dev.kiln.installer.wheel;

import dev.kiln.installer.ArtifactFile;
import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.LockedDistribution;
import dev.kiln.installer.TargetEnvironment;
import dev.kiln.installer.pep.Pep440Version;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Chooses the one file of a locked distribution to install on a target: the wheel whose best tag
 * ranks highest in {@link TargetEnvironment#supportedTags()}, else the sdist, among the files of
 * the pinned version (PEP 440 equality, local label included) whose hash the lock allows.
 *
 * <p>Candidates are the files the lock lists and the files the index offers. Ties are broken
 * deterministically: a file the lock lists first, then the higher build tag (PEP 427), then the
 * file name in sorted order.
 */
public final class WheelChooser {
  private static final int LISTED_FILES = 30;
  private static final Pattern CPYTHON = Pattern.compile("cp([0-9])([0-9]+)");
  private static final Pattern PYTHON = Pattern.compile("py([0-9])([0-9]*)");
  private static final Pattern MUSLLINUX = Pattern.compile("musllinux_[0-9]+_[0-9]+_([a-z0-9_]+)");
  private static final Pattern LINUX = Pattern.compile("linux_([a-z0-9_]+)");

  private final TargetEnvironment target;
  private final Map<WheelTag, Integer> rank = new HashMap<>();
  private final Set<String> interpreters = new HashSet<>();
  private final Set<String> platforms = new HashSet<>();
  private final String arch;
  private final int glibcMinor;

  private WheelChooser(TargetEnvironment target) {
    this.target = target;
    List<WheelTag> supported = target.supportedTags();
    for (int i = 0; i < supported.size(); i++) {
      WheelTag tag = supported.get(i);
      rank.putIfAbsent(tag, i);
      interpreters.add(tag.python() + "-" + tag.abi());
      platforms.add(tag.platform());
    }
    this.arch = PlatformTags.arch(target.machine());
    this.glibcMinor = PlatformTags.minorOf(target.glibc()).orElseThrow();
  }

  /** A chooser for {@code target}; it computes the target's tag ranking once. */
  public static WheelChooser forTarget(TargetEnvironment target) {
    return new WheelChooser(Objects.requireNonNull(target, "target"));
  }

  /** {@link #choose(LockedDistribution, List)} for a single choice. */
  public static ArtifactFile choose(
      LockedDistribution locked, List<ArtifactFile> offered, TargetEnvironment target)
      throws InstallerException {
    return forTarget(target).choose(locked, offered);
  }

  /** Where {@code tag} ranks for the target (0 is best), or empty when the target cannot use it. */
  public OptionalInt rank(WheelTag tag) {
    Integer position = rank.get(tag);
    return position == null ? OptionalInt.empty() : OptionalInt.of(position);
  }

  /** The best rank of any of the wheel's tags, or empty when none fits the target. */
  public OptionalInt rank(WheelFilename wheel) {
    return wheel.tags().stream()
        .map(rank::get)
        .filter(Objects::nonNull)
        .mapToInt(Integer::intValue)
        .min();
  }

  /**
   * The file to install for {@code locked}.
   *
   * @param offered the files the index offers for the project (any versions; may be empty when the
   *     lock lists the files)
   * @throws InstallerException {@link Codes#NO_COMPATIBLE_FILE} listing every candidate file and
   *     why it does not fit, and what to do
   */
  public ArtifactFile choose(LockedDistribution locked, List<ArtifactFile> offered)
      throws InstallerException {
    Objects.requireNonNull(locked, "locked");
    Objects.requireNonNull(offered, "offered");
    Optional<Pep440Version> pinned = Pep440Version.parse(locked.version());
    Map<String, Candidate> candidates = new LinkedHashMap<>();
    for (ArtifactFile file : locked.files()) {
      candidates.putIfAbsent(key(file), new Candidate(file, true));
    }
    for (ArtifactFile file : offered) {
      candidates.putIfAbsent(key(file), new Candidate(file, false));
    }
    List<Fit> wheels = new ArrayList<>();
    List<Fit> sdists = new ArrayList<>();
    Map<Candidate, Misfit> misfits = new LinkedHashMap<>();
    for (Candidate candidate : candidates.values()) {
      Verdict verdict = judge(candidate, locked, pinned);
      if (verdict instanceof Misfit misfit) {
        misfits.put(candidate, misfit);
      } else if (verdict instanceof Fit fit) {
        (fit.wheel() == null ? sdists : wheels).add(fit);
      }
    }
    Comparator<Fit> byListedThenName =
        Comparator.comparing((Fit fit) -> !fit.candidate().listedByLock())
            .thenComparing(
                (Fit fit) -> fit.wheel() == null ? null : fit.wheel().build().orElse(null),
                Comparator.nullsLast(Comparator.reverseOrder()))
            .thenComparing(fit -> fit.candidate().file().filename());
    Optional<Fit> best =
        wheels.stream().min(Comparator.comparingInt(Fit::rank).thenComparing(byListedThenName));
    if (best.isEmpty()) {
      best = sdists.stream().min(byListedThenName);
    }
    if (best.isPresent()) {
      return best.get().candidate().file();
    }
    throw new InstallerException(Codes.NO_COMPATIBLE_FILE, explain(locked, misfits));
  }

  private static String key(ArtifactFile file) {
    return file.filename() + " " + file.sha256();
  }

  // ------------------------------------------------------------------ verdicts

  private record Candidate(ArtifactFile file, boolean listedByLock) {}

  private sealed interface Verdict permits Fit, Misfit {}

  /** A file that can be installed; {@code wheel} is null for an sdist. */
  private record Fit(Candidate candidate, WheelFilename wheel, int rank) implements Verdict {}

  private enum Kind {
    NOT_A_DISTRIBUTION,
    OTHER_PROJECT,
    OTHER_VERSION,
    INTERPRETER,
    PLATFORM,
    HASH
  }

  private record Misfit(Kind kind, String reason) implements Verdict {}

  private Verdict judge(
      Candidate candidate, LockedDistribution locked, Optional<Pep440Version> pinned) {
    ArtifactFile file = candidate.file();
    String project = locked.normalizedName();
    WheelFilename wheel = null;
    String name;
    Optional<Pep440Version> version;
    if (file.isWheel()) {
      try {
        wheel = WheelFilename.parse(file.filename());
      } catch (IllegalArgumentException e) {
        return new Misfit(Kind.NOT_A_DISTRIBUTION, e.getMessage());
      }
      name = wheel.normalizedName();
      version = Optional.of(wheel.version());
    } else {
      Optional<SdistFilename.Parsed> sdist = SdistFilename.parse(file.filename(), project);
      if (sdist.isEmpty()) {
        return new Misfit(
            Kind.NOT_A_DISTRIBUTION,
            "neither a wheel nor a source distribution ("
                + String.join(", ", SdistFilename.EXTENSIONS)
                + ")");
      }
      name = sdist.get().normalizedName();
      version = sdist.get().version();
    }
    if (!name.equals(project)) {
      return new Misfit(Kind.OTHER_PROJECT, "a file of " + name + ", not of " + project);
    }
    if (version.isEmpty()) {
      return new Misfit(Kind.OTHER_VERSION, "its name has no PEP 440 version");
    }
    boolean sameVersion =
        pinned.isPresent()
            ? pinned.get().equals(version.get())
            : version.get().normalized().equalsIgnoreCase(locked.version().strip());
    if (!sameVersion) {
      return new Misfit(
          Kind.OTHER_VERSION, "version " + version.get() + ", not the locked " + locked.version());
    }
    int fitRank = -1;
    if (wheel != null) {
      OptionalInt best = rank(wheel);
      if (best.isEmpty()) {
        return whyNot(wheel);
      }
      fitRank = best.getAsInt();
    }
    if (!locked.allowedHashes().isEmpty() && !locked.allowedHashes().contains(file.sha256())) {
      return new Misfit(
          Kind.HASH,
          (wheel != null ? "fits the runtime, but its hash " : "its hash ")
              + file.sha256()
              + " is not one the lock allows");
    }
    return new Fit(candidate, wheel, fitRank);
  }

  // ------------------------------------------------------------------ why a wheel does not fit

  /**
   * Why no tag of {@code wheel} fits: judged on the tags closest to fitting (interpreter or
   * platform right), so a wheel for {@code cp311-cp311-manylinux_2_17_x86_64} is "built for CPython
   * 3.11" rather than a list of everything else that is wrong.
   */
  private Misfit whyNot(WheelFilename wheel) {
    List<WheelTag> interpreterFits = new ArrayList<>();
    List<WheelTag> platformFits = new ArrayList<>();
    for (WheelTag tag : wheel.tags()) {
      if (interpreters.contains(tag.python() + "-" + tag.abi())) {
        interpreterFits.add(tag);
      }
      if (platforms.contains(tag.platform())) {
        platformFits.add(tag);
      }
    }
    if (!interpreterFits.isEmpty()) {
      return new Misfit(Kind.PLATFORM, platformReason(interpreterFits));
    }
    if (!platformFits.isEmpty()) {
      return new Misfit(Kind.INTERPRETER, interpreterReason(platformFits));
    }
    return new Misfit(
        Kind.INTERPRETER, interpreterReason(wheel.tags()) + "; " + platformReason(wheel.tags()));
  }

  private String interpreterReason(List<WheelTag> tags) {
    Set<String> reasons = new LinkedHashSet<>();
    for (WheelTag tag : tags) {
      reasons.add(interpreterReason(tag));
    }
    return String.join("; ", reasons) + "; the runtime is CPython " + target.pythonMinor();
  }

  private String interpreterReason(WheelTag tag) {
    String written = tag.python() + "-" + tag.abi();
    Matcher cp = CPYTHON.matcher(tag.python());
    if (cp.matches()) {
      String version = cp.group(1) + "." + cp.group(2);
      if (tag.python().equals("cp" + target.pythonTagDigits())) {
        return "built for an ABI of CPython "
            + version
            + " the runtime does not have ("
            + written
            + ")";
      }
      if (tag.abi().equals("abi3")) {
        return "needs CPython " + version + " or newer (" + written + ")";
      }
      return "built for CPython " + version + " (" + written + ")";
    }
    Matcher py = PYTHON.matcher(tag.python());
    if (py.matches()) {
      String version = py.group(2).isEmpty() ? py.group(1) : py.group(1) + "." + py.group(2);
      return "built for Python " + version + " (" + written + ")";
    }
    if (tag.python().startsWith("pp")) {
      return "built for PyPy (" + written + ")";
    }
    return "built for another interpreter (" + written + ")";
  }

  /**
   * Why none of the platforms fits, grouped: the newest glibc the wheel needs, other architectures,
   * musl, macOS, Windows, anything else.
   */
  private String platformReason(List<WheelTag> tags) {
    OptionalInt neededGlibc = OptionalInt.empty();
    Map<String, Set<String>> groups = new LinkedHashMap<>();
    for (WheelTag tag : tags) {
      String platform = tag.platform();
      Optional<PlatformTags.Manylinux> manylinux = PlatformTags.readManylinux(platform);
      if (manylinux.isPresent() && manylinux.get().arch().equals(arch)) {
        int minor = manylinux.get().glibcMinor();
        if (minor > glibcMinor && (neededGlibc.isEmpty() || minor < neededGlibc.getAsInt())) {
          neededGlibc = OptionalInt.of(minor);
        }
        continue;
      }
      groups
          .computeIfAbsent(platformGroup(platform, manylinux), g -> new LinkedHashSet<>())
          .add(platform);
    }
    List<String> reasons = new ArrayList<>();
    if (neededGlibc.isPresent()) {
      reasons.add(
          "needs glibc 2."
              + neededGlibc.getAsInt()
              + " or newer; the runtime has glibc "
              + target.glibc());
    }
    groups.forEach(
        (group, members) -> {
          String list = "(" + String.join(", ", members) + ")";
          reasons.add(
              group.startsWith("arch:")
                  ? "built for " + group.substring(5) + " " + list + "; the runtime is " + arch
                  : group.equals("musl")
                      ? "built for musl libc " + list + "; the runtime uses glibc"
                      : "built for " + group + " " + list);
        });
    return String.join("; ", reasons);
  }

  private static String platformGroup(String platform, Optional<PlatformTags.Manylinux> manylinux) {
    if (manylinux.isPresent()) {
      return "arch:" + manylinux.get().arch();
    }
    Matcher linux = LINUX.matcher(platform);
    if (linux.matches()) {
      return "arch:" + linux.group(1);
    }
    Matcher musl = MUSLLINUX.matcher(platform);
    if (musl.matches()) {
      return "musl";
    }
    if (platform.startsWith("macosx")) {
      return "macOS";
    }
    if (platform.startsWith("win")) {
      return "Windows";
    }
    return "another platform";
  }

  // ------------------------------------------------------------------ the message

  private String explain(LockedDistribution locked, Map<Candidate, Misfit> misfits) {
    String runtime =
        "CPython " + target.pythonVersion() + " on Linux " + arch + " with glibc " + target.glibc();
    String what = locked.name() + " " + locked.version();
    if (misfits.isEmpty()) {
      return "No file of "
          + what
          + " can be installed: the lock lists none and the index offers none. Check that "
          + what
          + " exists on the package index Kiln uses, or re-lock.";
    }
    StringBuilder message =
        new StringBuilder("No file of ").append(what).append(" fits ").append(runtime).append(':');
    List<Map.Entry<Candidate, Misfit>> entries =
        misfits.entrySet().stream()
            .sorted(
                Comparator.comparing(
                    (Map.Entry<Candidate, Misfit> e) -> e.getKey().file().filename()))
            .toList();
    for (Map.Entry<Candidate, Misfit> entry :
        entries.subList(0, Math.min(LISTED_FILES, entries.size()))) {
      message
          .append("\n  ")
          .append(entry.getKey().file().filename())
          .append(": ")
          .append(entry.getValue().reason());
    }
    if (entries.size() > LISTED_FILES) {
      message.append("\n  … and ").append(entries.size() - LISTED_FILES).append(" more files");
    }
    Set<Kind> kinds = new HashSet<>();
    misfits.values().forEach(misfit -> kinds.add(misfit.kind()));
    message.append('\n').append(advice(locked, kinds));
    return message.toString();
  }

  private String advice(LockedDistribution locked, Set<Kind> kinds) {
    if (kinds.contains(Kind.HASH)) {
      return "A file fits the runtime but the lock does not allow its hash: the lock was made from"
          + " other files (or the index has changed them). Re-lock "
          + locked.name()
          + " so the lock records the hashes of the files this runtime needs.";
    }
    if (kinds.contains(Kind.INTERPRETER) || kinds.contains(Kind.PLATFORM)) {
      return "Lock a version of "
          + locked.name()
          + " that publishes a wheel for CPython "
          + target.pythonMinor()
          + " on Linux "
          + arch
          + " (glibc "
          + target.glibc()
          + " or older), or choose a runtime whose Python and glibc the locked files support.";
    }
    return "None of these files is version "
        + locked.version()
        + " of "
        + locked.name()
        + ": check that the index Kiln uses has that version, or re-lock.";
  }
}
