package dev.kiln.installer.wheel;

import dev.kiln.events.Digest;
import dev.kiln.installer.ArtifactFile;
import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.TargetEnvironment;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipFile;

/** One wheel being unpacked into a fragment: the work behind {@link WheelFragments#unpack}. */
final class WheelUnpacker {
  /** Files up to this size may be compressed as well as they like: they cannot hurt. */
  private static final long RATIO_FLOOR = 1 << 20;

  /** WHEEL, METADATA, RECORD and entry_points.txt are read into memory, so they are bounded. */
  private static final long METADATA_LIMIT = 64L << 20;

  private static final String INSTALLER_CONTENT = "kiln\n";
  private static final byte[] PYTHON_SHEBANG = "#!python".getBytes(StandardCharsets.US_ASCII);
  private static final Set<String> SCHEMES =
      Set.of("purelib", "platlib", "scripts", "data", "headers");
  private static final Pattern DRIVE = Pattern.compile("[A-Za-z]:.*");
  private static final Pattern IDENTIFIER = Pattern.compile("(?U)[\\p{L}\\p{Nl}_][\\w]*");
  private static final Pattern WHEEL_VERSION = Pattern.compile("(\\d+)\\.(\\d+)");
  private static final int S_IFMT = 0170000;
  private static final int S_IFREG = 0100000;
  private static final int S_IFLNK = 0120000;

  /** Paths in the order the layer layout sorts them: by the UTF-8 bytes. */
  static final Comparator<String> UTF8_ORDER =
      (a, b) ->
          Arrays.compareUnsigned(
              a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));

  /** Where a file of the fragment comes from, which decides what it says about the wheel. */
  private enum Origin {
    /** The wheel's root or {@code .data/purelib|platlib}: importable code. */
    LIBRARY,
    /** {@code .data/data}: files that merely land in the root. */
    DATA,
    /** {@code .data/scripts} and the launchers. */
    SCRIPT,
    /** INSTALLER, RECORD. */
    METADATA
  }

  /** A file the fragment will hold; size and sha256 are known after the verification pass. */
  private static final class Planned {
    final ZipArchiveEntry entry;
    final Origin origin;
    final int mode;
    final boolean rewriteShebang;
    byte[] content;
    long size;
    byte[] sha256;

    Planned(ZipArchiveEntry entry, Origin origin, int mode, boolean rewriteShebang) {
      this.entry = entry;
      this.origin = origin;
      this.mode = mode;
      this.rewriteShebang = rewriteShebang;
    }

    Planned(byte[] content, Origin origin, int mode) {
      this(null, origin, mode, false);
      this.content = content;
      this.size = content.length;
      this.sha256 = Digest.newSha256().digest(content);
    }
  }

  /** A problem found while streaming an entry, carried out of {@code InputStream.read}. */
  private static final class WheelProblem extends IOException {
    private static final long serialVersionUID = 1L;
    final transient InstallerException problem;

    WheelProblem(InstallerException problem) {
      super(problem.getMessage());
      this.problem = problem;
    }
  }

  private final TargetEnvironment target;
  private final WheelFragments.Limits limits;
  private final WheelName name;
  private final ArtifactFile artifact;
  private final Path file;
  private final String wheel;
  private final List<WheelFragment.Warning> warnings = new ArrayList<>();
  private final byte[] buffer = new byte[1 << 16];

  private String distInfo;
  private Map<String, RecordFile.Row> record;
  private long inflatedThisPass;

  WheelUnpacker(
      TargetEnvironment target,
      WheelFragments.Limits limits,
      WheelName name,
      ArtifactFile artifact,
      Path file) {
    this.target = target;
    this.limits = limits;
    this.name = name;
    this.artifact = artifact;
    this.file = file;
    this.wheel = name.filename();
  }

  WheelFragment unpack(Path scratch) throws InstallerException, IOException {
    // One open file for the hash and the unpacking: replacing the file meanwhile changes nothing.
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      checkExpected(channel);
      ZipFile zip;
      try {
        zip =
            ZipFile.builder()
                .setSeekableByteChannel(channel)
                .setUseUnicodeExtraFields(false) // the names pip sees, not an alternative set
                .get();
      } catch (IOException e) {
        throw new InstallerException(
            Codes.INVALID_WHEEL,
            wheel + " is not a zip archive (" + e.getMessage() + "), so it is not a wheel",
            e);
      }
      try (zip) {
        return unpack(zip, scratch);
      } catch (WheelProblem e) {
        throw e.problem;
      }
    }
  }

  private void checkExpected(FileChannel channel) throws InstallerException, IOException {
    long size = channel.size();
    if (artifact.size() >= 0 && size != artifact.size()) {
      throw new InstallerException(
          Codes.HASH_MISMATCH,
          wheel
              + " is "
              + size
              + " bytes long, but the lock says "
              + artifact.size()
              + " (expected "
              + artifact.sha256()
              + "): the file on the index is not the one that was locked. Lock the dependencies"
              + " again, or check that the index serves the files it served before");
    }
    MessageDigest sha256 = Digest.newSha256();
    ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
    long position = 0;
    for (int read; (read = channel.read(buffer, position)) > 0; position += read) {
      buffer.flip();
      sha256.update(buffer);
      buffer.clear();
    }
    Digest actual = Digest.fromSha256(sha256);
    if (!actual.equals(artifact.sha256())) {
      throw new InstallerException(
          Codes.HASH_MISMATCH,
          wheel
              + " has "
              + actual
              + ", but "
              + artifact.sha256()
              + " was expected: the file on the index is not the one that was locked. Lock the"
              + " dependencies again, or check that the index serves the files it served before");
    }
  }

  private WheelFragment unpack(ZipFile zip, Path scratch) throws InstallerException, IOException {
    List<ZipArchiveEntry> files = entries(zip);
    checkNoOverlappingData(files);
    checkSizes(files);
    distInfo = distInfoDirectory(files);
    Map<String, ZipArchiveEntry> byName = new TreeMap<>();
    files.forEach(entry -> byName.put(entry.getName(), entry));

    readWheelFile(zip, byName);
    String[] nameAndVersion = readMetadata(zip, byName);
    String recordPath = distInfo + "/RECORD";
    ZipArchiveEntry recordEntry = byName.get(recordPath);
    if (recordEntry == null) {
      throw missing("RECORD", "the list of its files and their hashes");
    }
    record = RecordFile.parse(wheel, recordPath, readSmall(zip, recordEntry));
    String entryPointsPath = distInfo + "/entry_points.txt";
    ZipArchiveEntry entryPointsEntry = byName.get(entryPointsPath);
    EntryPoints entryPoints =
        entryPointsEntry == null
            ? EntryPoints.none()
            : EntryPoints.parse(wheel, entryPointsPath, readSmall(zip, entryPointsEntry));

    Map<String, Planned> planned = plan(files, entryPoints);
    if (planned.containsKey(recordPath)) {
      throw unsafe(
          planned.get(recordPath).entry.getName(),
          "installs to " + recordPath + ", which only the installer may write");
    }
    try {
      verify(zip, files, planned);
    } catch (java.util.zip.ZipException | java.io.EOFException e) {
      // The hash matched, so the wheel was built this way: its compressed data is broken.
      throw new InstallerException(
          Codes.INVALID_WHEEL,
          wheel
              + " is a damaged zip ("
              + e.getMessage()
              + "), although it is the expected file; it cannot be unpacked. Use another"
              + " release",
          e);
    }
    planned.put(
        recordPath, new Planned(installedRecord(planned, recordPath), Origin.METADATA, 0644));

    Set<String> directories = directories(planned.keySet());
    Written fragment = write(zip, scratch, planned, directories);
    return new WheelFragment(
        fragment.path(),
        fragment.sha256(),
        fragment.size(),
        nameAndVersion[0],
        nameAndVersion[1],
        topLevelNames(planned),
        scripts(planned),
        warnings);
  }

  /** The zip's file entries, after every entry's name and type is checked. */
  private List<ZipArchiveEntry> entries(ZipFile zip) throws InstallerException {
    List<ZipArchiveEntry> all = Collections.list(zip.getEntries());
    if (all.size() > limits.maxEntries()) {
      throw new InstallerException(
          Codes.UNSAFE_WHEEL,
          wheel
              + " has "
              + all.size()
              + " entries, more than the "
              + limits.maxEntries()
              + " a wheel may have. Kiln refuses to unpack it; use another release");
    }
    Set<String> seen = new HashSet<>();
    List<ZipArchiveEntry> files = new ArrayList<>();
    for (ZipArchiveEntry entry : all) {
      String entryName = entry.getName();
      checkName(entryName);
      // The library turns '\' into '/' in names from FAT systems; Python's zipfile does not.
      checkName(new String(entry.getRawName(), StandardCharsets.UTF_8));
      if (!seen.add(entryName)) {
        throw unsafe(entryName, "appears twice in the zip, and tools disagree on which one wins");
      }
      int mode = (int) (entry.getExternalAttributes() >>> 16) & 0xffff;
      if ((mode & S_IFMT) == S_IFLNK) {
        throw unsafe(
            entryName,
            "is a symbolic link, which could point anywhere on the machine that unpacks it or in"
                + " the image");
      }
      if (!entry.isDirectory()) {
        if (!zip.canReadEntryData(entry)) {
          throw new InstallerException(
              Codes.INVALID_WHEEL,
              wheel
                  + ": the entry '"
                  + entryName
                  + "' is encrypted or compressed with a method Kiln cannot read (method "
                  + entry.getMethod()
                  + "); wheels use deflate. Use another release");
        }
        files.add(entry);
      }
    }
    return files;
  }

  /** Refuses a name that could land outside the root: PEP 427 names are relative, with '/'. */
  private void checkName(String entryName) throws InstallerException {
    if (entryName.isEmpty()) {
      throw unsafe(entryName, "has an empty name");
    }
    for (int i = 0; i < entryName.length(); i++) {
      char c = entryName.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        throw unsafe(entryName, "has a control character in its name");
      }
    }
    if (entryName.indexOf('\\') >= 0) {
      throw unsafe(
          entryName, "has a backslash in its name, which is a path separator on some systems");
    }
    if (entryName.startsWith("/")) {
      throw unsafe(entryName, "is an absolute path");
    }
    if (DRIVE.matcher(entryName).matches()) {
      throw unsafe(entryName, "starts with a drive letter");
    }
    String path =
        entryName.endsWith("/") ? entryName.substring(0, entryName.length() - 1) : entryName;
    for (String segment : path.split("/", -1)) {
      if (segment.equals("..")) {
        throw unsafe(entryName, "climbs out of its directory with '..'");
      }
      if (segment.isEmpty() || segment.equals(".")) {
        throw unsafe(entryName, "has an empty or '.' path segment");
      }
    }
  }

  /**
   * Refuses entries whose compressed data overlap: the trick that lets a small zip unpack to
   * terabytes by reusing one compressed stream for many entries.
   */
  private void checkNoOverlappingData(List<ZipArchiveEntry> files) throws InstallerException {
    List<ZipArchiveEntry> byOffset = new ArrayList<>(files);
    byOffset.sort(Comparator.comparingLong(ZipArchiveEntry::getLocalHeaderOffset));
    for (int i = 0; i + 1 < byOffset.size(); i++) {
      ZipArchiveEntry entry = byOffset.get(i);
      ZipArchiveEntry next = byOffset.get(i + 1);
      long dataEnd =
          (entry.getDataOffset() >= 0
                  ? entry.getDataOffset()
                  : entry.getLocalHeaderOffset() + 30 + entry.getRawName().length)
              + entry.getCompressedSize();
      if (dataEnd > next.getLocalHeaderOffset()) {
        throw unsafe(
            next.getName(),
            "overlaps the compressed data of '"
                + entry.getName()
                + "' (a zip bomb reuses data this way to unpack to far more than it holds)");
      }
    }
  }

  private void checkSizes(List<ZipArchiveEntry> files) throws InstallerException {
    long total = 0;
    long totalCompressed = 0;
    for (ZipArchiveEntry entry : files) {
      long size = entry.getSize();
      long compressed = entry.getCompressedSize();
      if (size < 0 || compressed < 0) {
        throw new InstallerException(
            Codes.INVALID_WHEEL,
            wheel
                + ": the zip does not say how large '"
                + entry.getName()
                + "' is; the archive is damaged. Use another release");
      }
      if (size > limits.maxFileBytes()) {
        throw decompressionLimit(
            "its entry '"
                + entry.getName()
                + "' declares "
                + size
                + " bytes unpacked, more than the "
                + limits.maxFileBytes()
                + " allowed per file");
      }
      if (size > RATIO_FLOOR && size / Math.max(compressed, 1) > limits.maxCompressionRatio()) {
        throw decompressionLimit(
            "its entry '"
                + entry.getName()
                + "' unpacks from "
                + compressed
                + " to "
                + size
                + " bytes, a ratio above the "
                + limits.maxCompressionRatio()
                + ":1 allowed for files over 1 MiB (real files do not compress that well; a zip"
                + " bomb does)");
      }
      total += size;
      totalCompressed += compressed;
    }
    // Many members just under the per-file floor add up to a bomb as well.
    if (total > RATIO_FLOOR
        && total / Math.max(totalCompressed, 1) > limits.maxCompressionRatio()) {
      throw decompressionLimit(
          "its "
              + files.size()
              + " entries unpack from "
              + totalCompressed
              + " to "
              + total
              + " bytes in all, a ratio above the "
              + limits.maxCompressionRatio()
              + ":1 allowed (a zip bomb made of many small members)");
    }
    if (total > limits.maxWheelBytes()) {
      throw decompressionLimit(
          "it declares "
              + total
              + " bytes unpacked in all, more than the "
              + limits.maxWheelBytes()
              + " a wheel may unpack to");
    }
  }

  /**
   * Counts what one pass over the wheel really inflates: the sizes the zip declares may lie, so the
   * bytes actually produced are held to the per-wheel limit as well.
   */
  private void countInflated(String entryName, int read) throws WheelProblem {
    inflatedThisPass += read;
    if (inflatedThisPass > limits.maxWheelBytes()) {
      throw new WheelProblem(
          decompressionLimit(
              "it had already inflated "
                  + inflatedThisPass
                  + " bytes at its entry '"
                  + entryName
                  + "', more than the "
                  + limits.maxWheelBytes()
                  + " a wheel may unpack to"));
    }
  }

  /** The code and message for a wheel that would unpack to more than the limits allow. */
  private InstallerException decompressionLimit(String what) {
    return new InstallerException(
        Codes.DECOMPRESSION_LIMIT,
        wheel
            + " is refused: "
            + what
            + ". Limits: "
            + limits.maxWheelBytes()
            + " bytes per wheel, "
            + limits.maxFileBytes()
            + " bytes per file, a compression ratio of "
            + limits.maxCompressionRatio()
            + ":1 for files over 1 MiB. Nothing was unpacked. Use another release of "
            + name.distribution()
            + ", or, when the wheel is genuine and this large, raise the worker's wheel limits");
  }

  /** The one top-level {@code .dist-info} directory, which must name this wheel. */
  private String distInfoDirectory(List<ZipArchiveEntry> files) throws InstallerException {
    Set<String> found = new TreeSet<>();
    for (ZipArchiveEntry entry : files) {
      String top = entry.getName().split("/", 2)[0];
      if (top.endsWith(".dist-info")) {
        found.add(top);
      }
    }
    if (found.isEmpty()) {
      throw new InstallerException(
          Codes.INVALID_WHEEL,
          wheel
              + " has no .dist-info directory, so it has no metadata and no RECORD: it is not a"
              + " wheel. Use another release");
    }
    if (found.size() > 1) {
      throw new InstallerException(
          Codes.UNSAFE_WHEEL,
          wheel
              + " has several .dist-info directories ("
              + String.join(", ", found)
              + "); a wheel has one, and the others would overwrite the metadata of other"
              + " distributions. Kiln refuses to unpack it; use another release of "
              + name.distribution());
    }
    String directory = found.iterator().next();
    if (!name.isNamedBy(directory.substring(0, directory.length() - ".dist-info".length()))) {
      throw unsafe(
          directory + "/",
          "does not name the wheel's distribution and version ("
              + name.distribution()
              + " "
              + name.version()
              + "), so it would install metadata for another distribution");
    }
    return directory;
  }

  private void readWheelFile(ZipFile zip, Map<String, ZipArchiveEntry> byName)
      throws InstallerException, IOException {
    ZipArchiveEntry entry = byName.get(distInfo + "/WHEEL");
    if (entry == null) {
      throw missing("WHEEL", "the wheel format version");
    }
    Map<String, List<String>> headers = headers(readSmall(zip, entry));
    List<String> versions = headers.getOrDefault("wheel-version", List.of());
    var matcher = versions.size() == 1 ? WHEEL_VERSION.matcher(versions.get(0)) : null;
    if (matcher == null || !matcher.matches()) {
      throw new InstallerException(
          Codes.INVALID_WHEEL,
          wheel
              + ": "
              + distInfo
              + "/WHEEL does not give one Wheel-Version such as 1.0 (it gives "
              + versions
              + "). The wheel is broken: use another release");
    }
    int major = Integer.parseInt(matcher.group(1));
    int minor = Integer.parseInt(matcher.group(2));
    if (major != 1) {
      throw new InstallerException(
          Codes.UNSUPPORTED_WHEEL_VERSION,
          wheel
              + " is a version "
              + versions.get(0)
              + " wheel; Kiln installs version 1 wheels only. Use a release of the project that"
              + " publishes version 1 wheels (what current build backends write)");
    }
    if (minor > 0) {
      warnings.add(
          new WheelFragment.Warning(
              Codes.NEWER_WHEEL_VERSION,
              wheel
                  + " is a version "
                  + versions.get(0)
                  + " wheel, newer than the 1.0 Kiln knows; it was installed as a 1.0 wheel"));
    }
    // Root-Is-Purelib is not read: with or without it, everything goes to the one root.
  }

  /** Name and Version from METADATA; the name must be the wheel's. */
  private String[] readMetadata(ZipFile zip, Map<String, ZipArchiveEntry> byName)
      throws InstallerException, IOException {
    ZipArchiveEntry entry = byName.get(distInfo + "/METADATA");
    if (entry == null) {
      throw missing("METADATA", "the distribution's name and version");
    }
    Map<String, List<String>> headers = headers(readSmall(zip, entry));
    List<String> names = headers.getOrDefault("name", List.of());
    List<String> versions = headers.getOrDefault("version", List.of());
    if (names.size() != 1 || versions.size() != 1) {
      throw new InstallerException(
          Codes.INVALID_WHEEL,
          wheel
              + ": "
              + distInfo
              + "/METADATA does not give one Name and one Version. The wheel is broken: use"
              + " another release");
    }
    if (!WheelName.normalizedName(names.get(0))
        .equals(WheelName.normalizedName(name.distribution()))) {
      throw new InstallerException(
          Codes.INVALID_WHEEL,
          wheel
              + ": its METADATA names the distribution '"
              + names.get(0)
              + "', not "
              + name.distribution()
              + " as the file name does. The wheel is broken or renamed: use the file the index"
              + " serves");
    }
    return new String[] {names.get(0), versions.get(0)};
  }

  /**
   * Where each file of the wheel goes, plus the launchers and INSTALLER, keyed by path in the root.
   * RECORD, written last, is added by the caller.
   */
  private Map<String, Planned> plan(List<ZipArchiveEntry> files, EntryPoints entryPoints)
      throws InstallerException {
    String dataDirectory =
        distInfo.substring(0, distInfo.length() - ".dist-info".length()) + ".data";
    Set<String> entryPointNames = entryPoints.declaredNames();
    Map<String, Planned> planned = new TreeMap<>(UTF8_ORDER);
    for (ZipArchiveEntry entry : files) {
      String path = entry.getName();
      String[] topAndRest = path.split("/", 2);
      String top = topAndRest[0];
      boolean executable = isExecutable(entry);
      if (top.endsWith(".data")) {
        if (!top.equals(dataDirectory)) {
          throw unsafe(
              path,
              "is in a .data directory that is not this wheel's ("
                  + dataDirectory
                  + "/), so it would install files for another distribution");
        }
        String[] schemeAndPath =
            topAndRest.length > 1 ? topAndRest[1].split("/", 2) : new String[0];
        if (schemeAndPath.length < 2) {
          throw unsafe(path, "is not inside a scheme directory of " + dataDirectory + "/");
        }
        String scheme = schemeAndPath[0];
        String inScheme = schemeAndPath[1];
        if (!SCHEMES.contains(scheme)) {
          throw unsafe(
              path,
              "is in the unknown scheme '"
                  + scheme
                  + "' (a wheel has "
                  + new TreeSet<>(SCHEMES)
                  + "), whose destination is undefined");
        }
        switch (scheme) {
          case "purelib", "platlib" ->
              put(planned, inScheme, new Planned(entry, Origin.LIBRARY, mode(executable), false));
          case "data" ->
              put(planned, inScheme, new Planned(entry, Origin.DATA, mode(executable), false));
          case "scripts" -> {
            if (!isEntryPointWrapper(inScheme, entryPointNames)) {
              // Every script is made executable: bin/ is on the image's PATH.
              put(
                  planned,
                  "bin/" + inScheme,
                  new Planned(entry, Origin.SCRIPT, TarWriter.EXECUTABLE_MODE, true));
            }
          }
          default -> {
            // headers: C headers for extensions compiled against this package. The runtime image
            // has no compiler, so nothing would use them (pip --target puts them in include/).
          }
        }
      } else if (path.equals(distInfo + "/RECORD")
          || path.equals(distInfo + "/INSTALLER")
          || path.equals(distInfo + "/direct_url.json")) {
        // RECORD and INSTALLER are written anew; direct_url.json would name where the wheel was.
      } else {
        put(planned, path, new Planned(entry, Origin.LIBRARY, mode(executable), false));
      }
    }
    put(
        planned,
        distInfo + "/INSTALLER",
        new Planned(INSTALLER_CONTENT.getBytes(StandardCharsets.UTF_8), Origin.METADATA, 0644));
    for (EntryPoints.Script script :
        entryPoints.scripts(wheel, distInfo + "/entry_points.txt", target).values()) {
      put(
          planned,
          "bin/" + script.name(),
          new Planned(script.launcher(), Origin.SCRIPT, TarWriter.EXECUTABLE_MODE));
    }
    return planned;
  }

  private void put(Map<String, Planned> planned, String path, Planned file)
      throws InstallerException {
    String source = file.entry == null ? path : file.entry.getName();
    String top = path.split("/", 2)[0];
    if (top.endsWith(".dist-info") && !top.equals(distInfo)) {
      throw unsafe(source, "would install into " + top + "/, the metadata of another distribution");
    }
    Planned earlier = planned.putIfAbsent(path, file);
    if (earlier != null) {
      String earlierSource = earlier.entry == null ? "a generated file" : earlier.entry.getName();
      throw unsafe(
          source,
          "installs to "
              + path
              + ", as '"
              + earlierSource
              + "' does: one would silently replace the other");
    }
  }

  /** pip skips the wrappers setuptools wrote for entry points: it writes its own launchers. */
  private static boolean isEntryPointWrapper(String script, Set<String> entryPointNames) {
    String base = script.substring(script.lastIndexOf('/') + 1);
    String lower = base.toLowerCase(Locale.ROOT);
    String match = base;
    if (lower.endsWith(".exe") || lower.endsWith(".pya")) {
      match = base.substring(0, base.length() - 4);
    } else if (lower.endsWith("-script.py")) {
      match = base.substring(0, base.length() - 10);
    }
    return entryPointNames.contains(match);
  }

  /** As pip: executable when the zip says it is a regular file with any execute bit. */
  private static boolean isExecutable(ZipArchiveEntry entry) {
    int mode = (int) (entry.getExternalAttributes() >>> 16) & 0xffff;
    return mode != 0 && (mode & S_IFMT) == S_IFREG && (mode & 0111) != 0;
  }

  private static int mode(boolean executable) {
    return executable ? TarWriter.EXECUTABLE_MODE : TarWriter.FILE_MODE;
  }

  /**
   * Checks every file of the wheel against RECORD, and learns the size and sha256 of what each
   * installed file will hold (a script's shebang changes both).
   */
  private void verify(ZipFile zip, List<ZipArchiveEntry> files, Map<String, Planned> planned)
      throws InstallerException, IOException {
    inflatedThisPass = 0;
    Map<ZipArchiveEntry, Planned> byEntry = new java.util.IdentityHashMap<>();
    planned.values().stream().filter(p -> p.entry != null).forEach(p -> byEntry.put(p.entry, p));
    for (ZipArchiveEntry entry : files) {
      String path = entry.getName();
      Planned installed = byEntry.get(entry);
      RecordFile.Row row = record.get(path);
      boolean unlisted =
          path.equals(distInfo + "/RECORD")
              || path.equals(distInfo + "/RECORD.jws")
              || path.equals(distInfo + "/RECORD.p7s");
      if (!unlisted) {
        if (row == null) {
          throw recordMismatch(path, "is not listed in " + distInfo + "/RECORD");
        }
        if (row.hash() == null) {
          throw recordMismatch(path, "has no hash in " + distInfo + "/RECORD");
        }
        if (row.size() >= 0 && row.size() != entry.getSize()) {
          throw recordMismatch(
              path,
              "is "
                  + entry.getSize()
                  + " bytes long, but "
                  + distInfo
                  + "/RECORD says "
                  + row.size());
        }
      } else if (installed == null) {
        continue;
      }
      MessageDigest recordHasher = unlisted ? null : row.newHasher();
      MessageDigest sha256 = Digest.newSha256();
      long size;
      try (InputStream raw = open(zip, entry)) {
        InputStream original = unlisted ? raw : new DigestInputStream(raw, recordHasher);
        InputStream content =
            installed != null && installed.rewriteShebang ? rewriteShebang(original) : original;
        size = drain(content, sha256);
      }
      if (!unlisted) {
        byte[] actual = recordHasher.digest();
        if (!row.hashMatches(actual)) {
          throw recordMismatch(
              path,
              "has "
                  + row.algorithm()
                  + "="
                  + Base64.getUrlEncoder().withoutPadding().encodeToString(actual)
                  + ", but "
                  + distInfo
                  + "/RECORD says "
                  + row.algorithm()
                  + "="
                  + Base64.getUrlEncoder().withoutPadding().encodeToString(row.hash()));
        }
      }
      if (installed != null) {
        installed.size = size;
        installed.sha256 = sha256.digest();
      }
    }
  }

  /** The installed RECORD: every file with its sha256 and size, RECORD itself without. */
  private static byte[] installedRecord(Map<String, Planned> planned, String recordPath) {
    List<List<String>> rows = new ArrayList<>();
    List<String> paths = new ArrayList<>(planned.keySet());
    paths.add(recordPath);
    paths.sort(UTF8_ORDER);
    for (String path : paths) {
      Planned file = planned.get(path);
      rows.add(
          file == null
              ? List.of(path, "", "")
              : List.of(path, RecordFile.sha256Field(file.sha256), Long.toString(file.size)));
    }
    return RecordFile.write(rows);
  }

  /** Every directory that holds a file, each as its own entry; a file may not be one of them. */
  private Set<String> directories(Set<String> files) throws InstallerException {
    Set<String> directories = new TreeSet<>(UTF8_ORDER);
    for (String path : files) {
      for (int slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1)) {
        directories.add(path.substring(0, slash));
      }
    }
    for (String directory : directories) {
      if (files.contains(directory)) {
        throw unsafe(directory, "is installed as a file and as a directory");
      }
    }
    return directories;
  }

  private record Written(Path path, Digest sha256, long size) {}

  private Written write(
      ZipFile zip, Path scratch, Map<String, Planned> planned, Set<String> directories)
      throws InstallerException, IOException {
    inflatedThisPass = 0;
    Map<String, Planned> entries = new TreeMap<>(UTF8_ORDER);
    entries.putAll(planned);
    directories.forEach(directory -> entries.put(directory, null));
    Files.createDirectories(scratch);
    Path partial = Files.createTempFile(scratch, "fragment-", ".tar.partial");
    boolean complete = false;
    try {
      TarWriter tar;
      try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(partial), 1 << 16)) {
        tar = new TarWriter(out);
        for (Map.Entry<String, Planned> entry : entries.entrySet()) {
          Planned file = entry.getValue();
          if (file == null) {
            tar.directory(entry.getKey());
          } else if (file.content != null) {
            tar.file(entry.getKey(), file.mode, file.content);
          } else {
            MessageDigest sha256 = Digest.newSha256();
            try (InputStream raw = open(zip, file.entry)) {
              InputStream content = file.rewriteShebang ? rewriteShebang(raw) : raw;
              tar.file(
                  entry.getKey(), file.mode, file.size, new DigestInputStream(content, sha256));
            }
            if (!MessageDigest.isEqual(sha256.digest(), file.sha256)) {
              throw new IOException(
                  this.file
                      + ": "
                      + file.entry.getName()
                      + " read differently the second time: nothing may write to a wheel while"
                      + " it is unpacked");
            }
          }
        }
        tar.finish();
      }
      Digest sha256 = tar.digest();
      Path fragment = scratch.resolve(sha256.hex() + ".tar");
      Files.move(
          partial, fragment, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      complete = true;
      return new Written(fragment, sha256, tar.size());
    } finally {
      if (!complete) {
        Files.deleteIfExists(partial);
      }
    }
  }

  /** Importable names at the top of the root: packages, modules and extension modules. */
  private static List<String> topLevelNames(Map<String, Planned> planned) {
    Set<String> names = new TreeSet<>();
    for (Map.Entry<String, Planned> entry : planned.entrySet()) {
      if (entry.getValue().origin != Origin.LIBRARY) {
        continue;
      }
      String path = entry.getKey();
      int slash = path.indexOf('/');
      String candidate;
      if (slash > 0) {
        candidate = path.substring(0, slash);
      } else if (path.endsWith(".py")
          || path.endsWith(".so")
          || path.endsWith(".pyd")
          || path.endsWith(".pyc")) {
        candidate = path.substring(0, path.indexOf('.'));
      } else {
        continue;
      }
      if (IDENTIFIER.matcher(candidate).matches() && !candidate.equals("__pycache__")) {
        names.add(candidate);
      }
    }
    return List.copyOf(names);
  }

  private static List<String> scripts(Map<String, Planned> planned) {
    return planned.keySet().stream()
        .filter(path -> path.startsWith("bin/"))
        .map(path -> path.substring("bin/".length()))
        .toList();
  }

  /** The entry's data, refusing more than the zip announced (a bomb that lies about its size). */
  private InputStream open(ZipFile zip, ZipArchiveEntry entry) throws IOException {
    long declared = entry.getSize();
    String entryName = entry.getName();
    return new FilterInputStream(zip.getInputStream(entry)) {
      private long count;

      @Override
      public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
      }

      @Override
      public int read(byte[] buffer, int offset, int length) throws IOException {
        int read = super.read(buffer, offset, length);
        if (read < 0) {
          if (count != declared) {
            throw new WheelProblem(
                new InstallerException(
                    Codes.INVALID_WHEEL,
                    wheel
                        + ": '"
                        + entryName
                        + "' ends after "
                        + count
                        + " of the "
                        + declared
                        + " bytes the zip announces; the archive is damaged. Use another"
                        + " release"));
          }
          return read;
        }
        count += read;
        if (count > declared) {
          throw new WheelProblem(
              decompressionLimit(
                  "its entry '"
                      + entryName
                      + "' unpacks to more than the "
                      + declared
                      + " bytes the zip announces (a zip bomb that lies about its size)"));
        }
        countInflated(entryName, read);
        return read;
      }

      @Override
      public long skip(long n) throws IOException {
        int read = n <= 0 ? 0 : read(new byte[(int) Math.min(n, 8192)]);
        return Math.max(read, 0);
      }
    };
  }

  private byte[] readSmall(ZipFile zip, ZipArchiveEntry entry)
      throws InstallerException, IOException {
    if (entry.getSize() > METADATA_LIMIT) {
      throw unsafe(
          entry.getName(),
          "is "
              + entry.getSize()
              + " bytes long; metadata files may have at most "
              + METADATA_LIMIT);
    }
    try (InputStream in = open(zip, entry)) {
      return in.readAllBytes();
    }
  }

  private long drain(InputStream in, MessageDigest sha256) throws IOException {
    long total = 0;
    for (int read; (read = in.read(buffer)) >= 0; ) {
      sha256.update(buffer, 0, read);
      total += read;
    }
    return total;
  }

  /**
   * pip's {@code fix_script}: a first line starting with {@code #!python} ({@code #!pythonw},
   * {@code #!python3 -u}) becomes {@value EntryPoints#SHEBANG}; anything else stays as it is.
   */
  static InputStream rewriteShebang(InputStream in) throws IOException {
    InputStream buffered = new BufferedInputStream(in);
    byte[] start = buffered.readNBytes(PYTHON_SHEBANG.length);
    if (!Arrays.equals(start, PYTHON_SHEBANG)) {
      return new SequenceInputStream(new ByteArrayInputStream(start), buffered);
    }
    for (int b = buffered.read(); b >= 0 && b != '\n'; b = buffered.read()) {
      // the rest of the first line goes, as in pip and installer
    }
    byte[] shebang = (EntryPoints.SHEBANG + "\n").getBytes(StandardCharsets.UTF_8);
    return new SequenceInputStream(new ByteArrayInputStream(shebang), buffered);
  }

  /** An RFC 822 style header block (WHEEL, METADATA), by lowercase name; the body is ignored. */
  static Map<String, List<String>> headers(byte[] content) {
    Map<String, List<String>> headers = new TreeMap<>();
    String last = null;
    for (String line : new String(content, StandardCharsets.UTF_8).split("\r?\n", -1)) {
      if (line.isEmpty()) {
        break;
      }
      if ((line.startsWith(" ") || line.startsWith("\t")) && last != null) {
        List<String> values = headers.get(last);
        values.set(values.size() - 1, values.get(values.size() - 1) + " " + line.strip());
        continue;
      }
      int colon = line.indexOf(':');
      if (colon <= 0) {
        continue;
      }
      last = line.substring(0, colon).strip().toLowerCase(Locale.ROOT);
      headers
          .computeIfAbsent(last, key -> new ArrayList<>())
          .add(line.substring(colon + 1).strip());
    }
    return headers;
  }

  private InstallerException missing(String file, String what) {
    return new InstallerException(
        Codes.INVALID_WHEEL,
        wheel
            + " has no "
            + distInfo
            + "/"
            + file
            + ", which every wheel has ("
            + what
            + "). The wheel is broken: use another release");
  }

  private InstallerException unsafe(String entry, String why) {
    return new InstallerException(
        Codes.UNSAFE_WHEEL,
        wheel
            + ": the entry '"
            + entry
            + "' "
            + why
            + ". Kiln refuses to unpack this wheel; use another release of "
            + name.distribution()
            + " and tell its maintainers");
  }

  private InstallerException recordMismatch(String path, String why) {
    return new InstallerException(
        Codes.RECORD_MISMATCH,
        wheel
            + ": "
            + path
            + " "
            + why
            + ", so the wheel is not what its author built (damaged or tampered with). Use"
            + " another release, or build the wheel again");
  }
}
