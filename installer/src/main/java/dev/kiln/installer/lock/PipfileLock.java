package dev.kiln.installer.lock;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.events.Digest;
import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.LocalProject;
import dev.kiln.installer.LockedDistribution;
import dev.kiln.installer.LockedSet;
import dev.kiln.installer.MarkerEvaluator;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads {@code Pipfile.lock} into what {@code pipenv install --deploy} installs (adding {@code
 * --dev} for CI builds).
 *
 * <p>Inputs: the app's {@code Pipfile.lock} and {@code Pipfile} (both at the root of the app's
 * source directory), which sections to install, and a {@link MarkerEvaluator} for the target.
 *
 * <ul>
 *   <li>Pipfile.lock must be JSON ({@link Codes#PIPFILE_LOCK_INVALID_JSON}) with {@code
 *       _meta.pipfile-spec} 6 or older ({@link Codes#PIPFILE_LOCK_UNSUPPORTED_VERSION}).
 *   <li>{@code _meta.hash.sha256} must equal the hash Pipenv computes from the Pipfile ({@link
 *       PipfileHash}, with or without the name normalization of Pipenv 2026 releases), else {@link
 *       Codes#PIPFILE_LOCK_STALE}, as {@code --deploy} fails.
 *   <li>Entries of {@code default} (and {@code develop} when asked) whose {@code markers} hold are
 *       installed: {@code "version": "==X"} with their {@code hashes}; a {@code path} entry (e.g.
 *       {@code "editable": true, "path": "."}) is a {@link LocalProject}; git, file-URL and
 *       unpinned entries fail with {@link Codes#PIPFILE_LOCK_UNSUPPORTED_SOURCE} for now.
 * </ul>
 */
public final class PipfileLock {
  private static final int NEWEST_SPEC = 6;
  private static final Pattern PINNED = Pattern.compile("===?\\s*([A-Za-z0-9._+!-]+)");
  private static final Pattern ARCHIVE =
      Pattern.compile("(?i).*\\.(whl|zip|tar\\.gz|tgz|tar\\.bz2|tbz|tar\\.xz|txz|tar)$");
  private static final String FIX_LOCK = "Run `pipenv lock` and commit Pipfile.lock.";

  /** Which sections of the lock to install. */
  public enum Sections {
    /** {@code default}: what {@code pipenv install --deploy} installs. */
    DEFAULT,
    /** {@code default} and {@code develop}: what {@code pipenv install --deploy --dev} installs. */
    DEFAULT_AND_DEVELOP
  }

  private PipfileLock() {}

  /**
   * What Pipenv installs from the lock for the target.
   *
   * @param pipfileLock the bytes of {@code Pipfile.lock}
   * @param pipfile the bytes of the {@code Pipfile} next to it
   * @param sections {@link Sections#DEFAULT}, or {@link Sections#DEFAULT_AND_DEVELOP} for CI
   * @param markers decides markers for the target
   */
  public static LockedSet read(
      byte[] pipfileLock, byte[] pipfile, Sections sections, MarkerEvaluator markers)
      throws InstallerException {
    JsonNode lock =
        Documents.json(
            pipfileLock,
            "Pipfile.lock",
            Codes.PIPFILE_LOCK_INVALID_JSON,
            "Pipfile.lock is generated: do not edit it by hand. " + FIX_LOCK);
    JsonNode meta = lock.get("_meta");
    if (meta == null || !meta.isObject()) {
      throw new InstallerException(
          Codes.PIPFILE_LOCK_INVALID, "Pipfile.lock has no _meta section. " + FIX_LOCK);
    }
    JsonNode spec = meta.get("pipfile-spec");
    if (spec != null
        && (!spec.isIntegralNumber() || spec.asInt() > NEWEST_SPEC || spec.asInt() < 1)) {
      throw new InstallerException(
          Codes.PIPFILE_LOCK_UNSUPPORTED_VERSION,
          "Pipfile.lock has pipfile-spec "
              + spec
              + "; Kiln reads pipfile-spec 1 to "
              + NEWEST_SPEC
              + " (every Pipenv release so far). Write the lock with a released Pipenv (`pipenv"
              + " lock`) and commit Pipfile.lock.");
    }
    checkFresh(meta, pipfile);

    Map<String, JsonNode> entries = new LinkedHashMap<>();
    addSection(lock, "default", entries, Map.of());
    if (sections == Sections.DEFAULT_AND_DEVELOP) {
      addSection(lock, "develop", entries, entries);
    }
    List<LockedDistribution> distributions = new ArrayList<>();
    List<LocalProject> localProjects = new ArrayList<>();
    for (Map.Entry<String, JsonNode> entry : entries.entrySet()) {
      String name = entry.getKey();
      JsonNode value = entry.getValue();
      if (!value.isObject()) {
        throw new InstallerException(
            Codes.PIPFILE_LOCK_INVALID,
            "Pipfile.lock's entry for '" + name + "' is not an object. " + FIX_LOCK);
      }
      if (!markers.applies(Documents.text(value, "markers"), Set.of())) {
        continue;
      }
      String path = Documents.text(value, "path");
      if (path != null && !ARCHIVE.matcher(path).matches()) {
        JsonNode editable = value.get("editable");
        localProjects.add(
            new LocalProject(
                LockedFiles.localPath(path), editable != null && editable.asBoolean()));
        continue;
      }
      String version = Documents.text(value, "version");
      var pinned = version == null ? null : PINNED.matcher(version.strip());
      if (pinned == null || !pinned.matches()) {
        throw new InstallerException(
            Codes.PIPFILE_LOCK_UNSUPPORTED_SOURCE,
            "Pipfile.lock installs '"
                + name
                + "' "
                + describe(value, version)
                + "; Kiln installs Pipenv apps from exact `==` versions on the package index and"
                + " the app's own directories only, for now. Publish the package to an index and"
                + " depend on it by version in the Pipfile, then run `pipenv lock`.");
      }
      Set<Digest> hashes = new LinkedHashSet<>();
      for (String hash : Documents.strings(value, "hashes")) {
        String lower = hash.strip().toLowerCase(Locale.ROOT);
        if (lower.startsWith(Digest.PREFIX)
            && Digest.isHex(lower.substring(Digest.PREFIX.length()))) {
          hashes.add(Digest.of(lower));
        }
      }
      distributions.add(new LockedDistribution(name, pinned.group(1), List.of(), hashes));
    }
    return new LockedSet(distributions, localProjects);
  }

  /**
   * The {@code _meta.hash.sha256} Pipenv writes for this Pipfile, as {@code pipenv lock} would: for
   * tools and test fixtures that write a lock Kiln must accept.
   */
  public static String pipfileHash(byte[] pipfile) throws InstallerException {
    return PipfileHash.compute(
        Documents.toml(pipfile, "Pipfile", Codes.PIPFILE_LOCK_INVALID, "Fix the Pipfile."), false);
  }

  private static void checkFresh(JsonNode meta, byte[] pipfile) throws InstallerException {
    if (pipfile == null) {
      throw new InstallerException(
          Codes.PIPFILE_LOCK_INVALID,
          "Pipfile.lock has no Pipfile next to it, and `pipenv install --deploy` checks the lock"
              + " against the Pipfile. Commit the Pipfile the lock was written from.");
    }
    JsonNode parsed =
        Documents.toml(
            pipfile, "Pipfile", Codes.PIPFILE_LOCK_INVALID, "Fix the Pipfile, then " + FIX_LOCK);
    String recorded = Documents.text(Documents.table(meta, "hash"), "sha256");
    String computed = PipfileHash.compute(parsed, false);
    if (computed.equals(recorded) || PipfileHash.compute(parsed, true).equals(recorded)) {
      return;
    }
    throw new InstallerException(
        Codes.PIPFILE_LOCK_STALE,
        "Pipfile.lock is out of date with the Pipfile: the lock records the Pipfile hash "
            + (recorded == null ? "(none)" : Documents.shorten(recorded, 12))
            + " but the Pipfile now hashes to "
            + Documents.shorten(computed, 12)
            + ", so the Pipfile changed after the lock was written and `pipenv install --deploy`"
            + " refuses it. "
            + FIX_LOCK);
  }

  private static void addSection(
      JsonNode lock, String section, Map<String, JsonNode> into, Map<String, JsonNode> earlier)
      throws InstallerException {
    JsonNode table = lock.get(section);
    if (table == null || table.isNull()) {
      return;
    }
    if (!table.isObject()) {
      throw new InstallerException(
          Codes.PIPFILE_LOCK_INVALID,
          "Pipfile.lock's \"" + section + "\" section is not an object. " + FIX_LOCK);
    }
    for (Map.Entry<String, JsonNode> entry : table.properties()) {
      String key = LockedDistribution.normalize(entry.getKey());
      JsonNode previous = null;
      for (Map.Entry<String, JsonNode> seen : earlier.entrySet()) {
        if (LockedDistribution.normalize(seen.getKey()).equals(key)) {
          previous = seen.getValue();
        }
      }
      if (previous != null) {
        String before = Documents.text(previous, "version");
        String now = Documents.text(entry.getValue(), "version");
        if (before != null && now != null && !before.strip().equals(now.strip())) {
          throw new InstallerException(
              Codes.PIPFILE_LOCK_INVALID,
              "Pipfile.lock pins '"
                  + entry.getKey()
                  + "' "
                  + before
                  + " in default and "
                  + now
                  + " in develop; one install cannot have both. "
                  + FIX_LOCK);
        }
        continue; // default's entry wins
      }
      into.put(entry.getKey(), entry.getValue());
    }
  }

  private static String describe(JsonNode value, String version) {
    for (String vcs : List.of("git", "hg", "svn", "bzr")) {
      String url = Documents.text(value, vcs);
      if (url != null) {
        return "from " + vcs + " (" + Documents.shorten(url, 120) + ")";
      }
    }
    String file = Documents.text(value, "file");
    if (file != null) {
      return "from the file URL " + Documents.shorten(file, 120);
    }
    String path = Documents.text(value, "path");
    if (path != null) {
      return "from the local archive " + Documents.shorten(path, 120);
    }
    return version == null ? "without a version" : "as '" + version + "', not as one `==` version";
  }
}
