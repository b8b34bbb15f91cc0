package dev.kiln.cli.bench;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.LocalDateTime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Comparator;
import java.util.Deque;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * A local PEP 503 index of generated wheels, for machines without the wheel mirror: one installable
 * {@code py3-none-any} wheel per distribution the bench's sets need (their whole dependency
 * closure, plus the small distributions the bench adds for new locked sets), each with the real
 * distribution's name, version, {@code Requires-Python} and {@code Requires-Dist} (those that apply
 * to CPython 3.11 on Linux, without markers), so pip and Kiln resolve the same graph as from the
 * mirror.
 *
 * <p>The contents are synthetic stand-ins sized like the real wheels (from the mirror's files): as
 * many {@code .py} files of about the same total size, valid Python that compiles, and as many data
 * files (the real wheels' shared libraries, locale files, certificates…) of about the same size,
 * with about the same compression, so unpacking, compiling and tarring them costs about what the
 * real ones cost. The package's {@code __init__.py} sets {@code __version__} and defines the {@code
 * main} its console scripts call; nothing else is importable API.
 *
 * <p>One wheel is real: pip, copied from python3's {@code ensurepip}, because Kiln's build sandbox
 * runs the pip it finds on the index to resolve requirements.
 *
 * <p>Deterministic: contents come from {@link Random} seeded from each file's path, zip entries
 * carry a fixed time and a fixed order, so every generation gives the same bytes (with the same
 * JDK's deflater).
 */
final class GeneratedIndex {
  /** The {@code --index} value that selects a generated index. */
  static final String OPTION = "generated";

  private static final LocalDateTime ZIP_EPOCH = LocalDateTime.of(1980, 1, 1, 0, 0);
  private static final long SEED = 0x6B696C6E62656E63L; // "kilnbenc"

  /**
   * One generated distribution.
   *
   * @param top the import package ({@code flask}) or, ending in {@code .py}, a single module
   * @param pyFiles how many {@code .py} files (the real wheel's count)
   * @param pyKib their total size in KiB
   * @param dataFiles how many other files outside {@code .dist-info}
   * @param dataKib their total size in KiB
   * @param realWheelKib the real wheel file's size in KiB
   */
  record Dist(
      String name,
      String version,
      String pythonTag,
      String requiresPython,
      List<String> requires,
      String top,
      Map<String, String> scripts,
      int pyFiles,
      int pyKib,
      int dataFiles,
      int dataKib,
      int realWheelKib) {

    String normalized() {
      return IndexPage.normalize(name);
    }

    /** The filename's distribution part: lowercase, runs of {@code -_.} as {@code _}. */
    String distribution() {
      return name.toLowerCase(Locale.ROOT).replaceAll("[-_.]+", "_");
    }

    String filename() {
      return distribution() + "-" + version + "-" + pythonTag + "-none-any.whl";
    }
  }

  /**
   * The distributions, as in the mirror ({@code /opt/pypi/files}, 2026-11): versions, metadata and
   * the real wheels' file counts and sizes (CPython 3.11 x86_64 wheels for the binary ones).
   */
  static final List<Dist> DISTS =
      List.of(
          // flask + gunicorn
          dist("Flask", "3.1.3", ">=3.9", "flask", 24, 329, 2, 1, 101)
              .requires(
                  "blinker>=1.9.0",
                  "click>=8.1.3",
                  "itsdangerous>=2.2.0",
                  "jinja2>=3.1.2",
                  "markupsafe>=2.1.1",
                  "werkzeug>=3.1.0")
              .script("flask")
              .build(),
          dist("gunicorn", "26.2.0", ">=3.10", "gunicorn", 68, 797, 0, 0, 223)
              .script("gunicorn")
              .build(),
          dist("blinker", "1.9.0", ">=3.9", "blinker", 3, 20, 1, 1, 8).build(),
          dist("click", "8.5.0", ">=3.10", "click", 17, 431, 1, 1, 122).build(),
          dist("itsdangerous", "2.2.0", ">=3.8", "itsdangerous", 8, 41, 1, 1, 15).build(),
          dist("Jinja2", "3.1.6", ">=3.7", "jinja2", 25, 478, 1, 1, 131)
              .requires("MarkupSafe>=2.0")
              .build(),
          dist("MarkupSafe", "3.0.3", ">=3.9", "markupsafe", 2, 13, 4, 47, 22).build(),
          dist("Werkzeug", "3.1.9", ">=3.9", "werkzeug", 52, 728, 7, 16, 223)
              .requires("markupsafe>=2.1.1")
              .build(),
          // django + gunicorn + psycopg2-binary
          dist("Django", "5.2.17", ">=3.10", "django", 883, 5546, 2777, 16871, 8120)
              .requires("asgiref>=3.8.1", "sqlparse>=0.3.1")
              .script("django-admin")
              .build(),
          dist("psycopg2-binary", "2.9.13", ">=3.10", "psycopg2", 11, 123, 16, 11336, 4180).build(),
          dist("asgiref", "3.12.1", ">=3.10", "asgiref", 10, 63, 1, 1, 24).build(),
          dist("sqlparse", "0.6.0", ">=3.10", "sqlparse", 21, 141, 1, 1, 48)
              .script("sqlformat")
              .build(),
          // fastapi + uvicorn
          dist("fastapi", "0.142.2", ">=3.10", "fastapi", 52, 790, 8, 22, 141)
              .requires(
                  "starlette>=0.46.0",
                  "pydantic>=2.9.0",
                  "typing-extensions>=4.8.0",
                  "typing-inspection>=0.4.2",
                  "annotated-doc>=0.0.2",
                  "opentelemetry-api>=1.44.0")
              .script("fastapi")
              .build(),
          dist("uvicorn", "0.54.0", ">=3.10", "uvicorn", 45, 274, 1, 1, 85)
              .requires("click>=7.0", "h11>=0.8")
              .script("uvicorn")
              .build(),
          dist("annotated-doc", "0.0.5", ">=3.9", "annotated_doc", 2, 1, 1, 1, 5).build(),
          dist("h11", "0.16.0", ">=3.8", "h11", 11, 90, 1, 1, 36).build(),
          dist("opentelemetry-api", "1.45.0", ">=3.10", "opentelemetry", 30, 173, 12, 1, 58)
              .requires("typing-extensions>=4.5.0")
              .build(),
          dist("pydantic", "2.13.5", ">=3.9", "pydantic", 105, 1731, 2, 1, 461)
              .requires(
                  "annotated-types>=0.6.0",
                  "pydantic-core==2.46.5",
                  "typing-extensions>=4.14.1",
                  "typing-inspection>=0.4.2")
              .build(),
          dist("pydantic_core", "2.46.5", ">=3.9", "pydantic_core", 2, 156, 3, 4606, 2013)
              .requires("typing-extensions>=4.14.1")
              .build(),
          dist("starlette", "1.7.0", ">=3.10", "starlette", 36, 251, 1, 1, 77)
              .requires("anyio<5,>=4.0.0", "typing-extensions>=4.10.0")
              .build(),
          dist("typing_extensions", "4.16.0", ">=3.9", "typing_extensions.py", 1, 161, 0, 0, 44)
              .build(),
          dist("typing-inspection", "0.4.4", ">=3.10", "typing_inspection", 3, 39, 2, 9, 14)
              .requires("typing-extensions>=4.15.0")
              .build(),
          dist("annotated-types", "0.8.0", ">=3.10", "annotated_types", 2, 19, 1, 1, 13).build(),
          dist("anyio", "4.15.1", ">=3.10", "anyio", 46, 516, 1, 1, 128)
              .requires("idna>=2.8", "typing_extensions>=4.16.0")
              .build(),
          dist("idna", "3.20", ">=3.9", "idna", 10, 324, 1, 1, 67).script("idna").build(),
          // numpy + requests
          dist("numpy", "2.4.6", ">=3.11", "numpy", 487, 8905, 534, 46918, 16521)
              .script("f2py")
              .build(),
          dist("requests", "2.34.2", ">=3.10", "requests", 19, 212, 1, 1, 71)
              .requires(
                  "charset_normalizer<4,>=2",
                  "idna<4,>=2.5",
                  "urllib3<3,>=1.26",
                  "certifi>=2023.5.7")
              .build(),
          dist("certifi", "2026.7.22", ">=3.7", "certifi", 5, 4, 2, 234, 133).build(),
          dist("charset-normalizer", "3.5.2", ">=3.7", "charset_normalizer", 12, 187, 3, 528, 263)
              .script("normalizer")
              .build(),
          dist("urllib3", "2.8.0", ">=3.10", "urllib3", 36, 424, 2, 3, 132).build(),
          // the small pure-Python distributions of the new locked sets (phases 4 and 5)
          dist("six", "1.17.0", ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*", "six.py", 1, 33, 0, 0, 10)
              .py2()
              .build(),
          dist("toml", "0.10.2", ">=2.6, !=3.0.*, !=3.1.*, !=3.2.*", "toml", 5, 49, 0, 0, 16)
              .py2()
              .build(),
          dist("decorator", "5.3.1", ">=3.8", "decorator", 1, 16, 2, 2, 10).build(),
          dist("appdirs", "1.4.4", null, "appdirs.py", 1, 24, 0, 0, 9).py2().build(),
          dist("pytz", "2026.4", null, "pytz", 6, 69, 604, 836, 494).py2().build(),
          dist("sniffio", "1.3.1", ">=3.7", "sniffio", 5, 5, 1, 1, 9).build(),
          dist("pyparsing", "3.3.3", ">=3.9", "pyparsing", 17, 460, 2, 8, 123).build());

  private GeneratedIndex() {}

  /**
   * Writes the index for the sets {@code setIds} (and the bench's extra distributions) under {@code
   * dir}: the wheels in {@code dir/files/}, the PEP 503 pages in {@code dir/simple/}. Returns the
   * {@code simple/} directory.
   */
  static Path write(Path dir, Collection<String> setIds, List<Path> toolWheels) throws IOException {
    List<String> roots = new ArrayList<>();
    for (String id : setIds) {
      roots.addAll(DependencySet.byId(id).requirements());
    }
    roots.addAll(BenchCommand.EXTRAS);
    return writeDists(dir, closure(roots), toolWheels);
  }

  /**
   * Writes the index of exactly {@code dists}, plus copies of the real {@code toolWheels}, under
   * {@code dir}; returns {@code dir/simple/}.
   */
  static Path writeDists(Path dir, Collection<Dist> dists, List<Path> toolWheels)
      throws IOException {
    Path files = Files.createDirectories(dir.resolve("files"));
    Path simple = Files.createDirectories(dir.resolve("simple"));
    Map<String, String> pages = new TreeMap<>(); // project → its wheel's filename
    for (Dist d : dists) {
      writeWheel(d, files.resolve(d.filename()));
      pages.put(d.normalized(), d.filename());
    }
    for (Path tool : toolWheels) {
      String filename = tool.getFileName().toString();
      Files.copy(tool, files.resolve(filename), StandardCopyOption.REPLACE_EXISTING);
      pages.put(IndexPage.normalize(filename.substring(0, filename.indexOf('-'))), filename);
    }
    StringBuilder root = new StringBuilder("<!DOCTYPE html><html><body>\n");
    for (Map.Entry<String, String> project : pages.entrySet()) {
      String filename = project.getValue();
      String sha256 = HexFormat.of().formatHex(digest(files.resolve(filename)));
      Path page = Files.createDirectories(simple.resolve(project.getKey()));
      Files.writeString(
          page.resolve("index.html"),
          "<!DOCTYPE html><html><body>\n<a href=\"../../files/"
              + filename
              + "#sha256="
              + sha256
              + "\">"
              + filename
              + "</a>\n</body></html>\n",
          StandardCharsets.UTF_8);
      root.append("<a href=\"")
          .append(project.getKey())
          .append("/\">")
          .append(project.getKey())
          .append("</a>\n");
    }
    root.append("</body></html>\n");
    Files.writeString(simple.resolve("index.html"), root.toString(), StandardCharsets.UTF_8);
    return simple;
  }

  /**
   * The real pip wheel python3 carries for {@code ensurepip} (or Debian's {@code
   * /usr/share/python-wheels}), the newest: Kiln's build sandbox runs pip from the index, so a
   * generated index must offer a real one. Empty when there is none.
   */
  static List<Path> toolWheels() {
    Shell.Result found =
        Shell.run(
            null,
            "python3",
            "-c",
            "import ensurepip, glob, os\n"
                + "d = os.path.join(os.path.dirname(ensurepip.__file__), '_bundled')\n"
                + "for w in glob.glob(os.path.join(d, 'pip-*-py3-none-any.whl'))"
                + " + glob.glob('/usr/share/python-wheels/pip-*-py3-none-any.whl'):\n"
                + "    print(w)\n");
    if (found.exit() != 0) {
      return List.of();
    }
    return found
        .output()
        .lines()
        .map(Path::of)
        .filter(Files::isRegularFile)
        .max(Comparator.comparing(GeneratedIndex::versionOf, GeneratedIndex::compareVersions))
        .map(List::of)
        .orElse(List.of());
  }

  private static int[] versionOf(Path wheel) {
    String version = wheel.getFileName().toString().split("-")[1];
    return java.util.Arrays.stream(version.split("\\."))
        .mapToInt(part -> part.matches("[0-9]+") ? Integer.parseInt(part) : -1)
        .toArray();
  }

  private static int compareVersions(int[] a, int[] b) {
    return java.util.Arrays.compare(a, b);
  }

  /** The distributions {@code requirements} need, themselves included, in a stable order. */
  static List<Dist> closure(Collection<String> requirements) {
    Map<String, Dist> byName = new LinkedHashMap<>();
    for (Dist d : DISTS) {
      byName.put(d.normalized(), d);
    }
    Set<Dist> found = new LinkedHashSet<>();
    Deque<String> todo = new ArrayDeque<>(requirements);
    while (!todo.isEmpty()) {
      String name = requirementName(todo.removeFirst());
      Dist d = byName.get(name);
      if (d == null) {
        throw new IllegalArgumentException("no generated wheel for '" + name + "'");
      }
      if (found.add(d)) {
        todo.addAll(d.requires());
      }
    }
    return List.copyOf(found);
  }

  /** The normalized project name a requirement starts with ({@code anyio<5} → {@code anyio}). */
  static String requirementName(String requirement) {
    int end = 0;
    while (end < requirement.length()
        && (Character.isLetterOrDigit(requirement.charAt(end))
            || "-_.".indexOf(requirement.charAt(end)) >= 0)) {
      end++;
    }
    return IndexPage.normalize(requirement.substring(0, end));
  }

  /** Writes {@code d}'s wheel to {@code target}; returns the file's sha256 (hex). */
  static String writeWheel(Dist d, Path target) throws IOException {
    MessageDigest fileDigest = sha256();
    String distInfo = d.distribution() + "-" + d.version() + ".dist-info/";
    StringBuilder record = new StringBuilder();
    try (OutputStream file = Files.newOutputStream(target);
        DigestOutputStream digesting =
            new DigestOutputStream(new BufferedOutputStream(file, 1 << 16), fileDigest);
        WheelZip zip = new WheelZip(digesting)) {
      for (Map.Entry<String, Content> entry : contents(d).entrySet()) {
        add(zip, record, entry.getKey(), entry.getValue().bytes());
      }
      add(zip, record, distInfo + "METADATA", utf8(metadata(d)));
      add(zip, record, distInfo + "WHEEL", utf8(wheelFile(d)));
      if (!d.scripts().isEmpty()) {
        StringBuilder entryPoints = new StringBuilder("[console_scripts]\n");
        d.scripts().forEach((k, v) -> entryPoints.append(k).append(" = ").append(v).append('\n'));
        add(zip, record, distInfo + "entry_points.txt", utf8(entryPoints.toString()));
      }
      record.append(distInfo).append("RECORD,,\n");
      put(zip, distInfo + "RECORD", utf8(record.toString()));
    }
    return HexFormat.of().formatHex(fileDigest.digest());
  }

  /** One file of the package, made when written (numpy's would not fit in memory at once). */
  private interface Content {
    byte[] bytes();
  }

  /** The package's files, by path, in the order they go into the wheel. */
  private static Map<String, Content> contents(Dist d) {
    Map<String, Content> files = new LinkedHashMap<>();
    String banner =
        "# Synthetic stand-in for "
            + d.name()
            + " "
            + d.version()
            + ", generated by kiln bench: not the real code.\n";
    if (d.top().endsWith(".py")) {
      String path = d.top();
      long size = d.pyKib() * 1024L;
      files.put(path, () -> utf8(initSource(banner, d) + python(random(d, path), size)));
      return files;
    }
    String pkg = d.top() + "/";
    long pyBytes = d.pyKib() * 1024L;
    long perPy = Math.max(64, pyBytes / Math.max(1, d.pyFiles()));
    String init = pkg + "__init__.py";
    files.put(init, () -> utf8(initSource(banner, d) + python(random(d, init), perPy)));
    for (int i = 1; i < d.pyFiles(); i++) {
      int group = (i - 1) / 20;
      int pos = (i - 1) % 20;
      String path;
      if (group == 0) {
        path = pkg + "mod_" + pos + ".py";
      } else {
        path = pkg + "sub_" + group + "/" + (pos == 0 ? "__init__" : "mod_" + pos) + ".py";
      }
      int index = i - 1;
      files.put(
          path,
          () -> {
            long size = size(d, "py", index, d.pyFiles() - 1, perPy);
            return utf8(banner + python(random(d, path), size));
          });
    }
    long dataBytes = d.dataKib() * 1024L;
    long perData = d.dataFiles() == 0 ? 0 : Math.max(16, dataBytes / d.dataFiles());
    for (int i = 0; i < d.dataFiles(); i++) {
      String path = pkg + "_data/" + (i / 100) + "/blob_" + i + ".bin";
      int index = i;
      files.put(path, () -> data(random(d, path), size(d, "data", index, d.dataFiles(), perData)));
    }
    return files;
  }

  /**
   * The size of file {@code i} of {@code n} of a kind: {@code mean} ± up to 50 %, in pairs that add
   * up to twice the mean, so the files vary but their total is the real wheel's.
   */
  private static long size(Dist d, String kind, int i, int n, long mean) {
    if (n % 2 == 1 && i == n - 1) {
      return mean;
    }
    double delta = random(d, kind + "#" + (i / 2)).nextDouble() * 0.5;
    return Math.round(mean * (i % 2 == 0 ? 1 + delta : 1 - delta));
  }

  private static String initSource(String banner, Dist d) {
    return banner
        + "\"\"\"Synthetic stand-in for "
        + d.name()
        + ".\"\"\"\n\n__version__ = \""
        + d.version()
        + "\"\n\n\ndef main():\n    print(\""
        + d.name()
        + " \" + __version__ + \" (synthetic stand-in)\")\n    return 0\n\n\n";
  }

  private static final String[] WORDS = {
    "alpha",
    "buffer",
    "cache",
    "delta",
    "event",
    "field",
    "graph",
    "handler",
    "index",
    "join",
    "key",
    "layer",
    "model",
    "node",
    "option",
    "parser",
    "query",
    "route",
    "state",
    "token",
    "unit",
    "value",
    "worker",
    "request",
    "response",
    "session",
    "stream",
    "table",
    "record",
    "column",
    "schema",
    "config",
    "engine",
    "signal",
    "filter",
    "format",
    "header",
    "loader",
    "matrix",
    "vector",
    "window",
    "context",
    "encoder",
    "decoder",
    "socket",
    "thread",
    "result",
    "target"
  };

  /** Valid Python of about {@code size} bytes: functions and classes of made-up names. */
  static String python(Random random, long size) {
    StringBuilder py = new StringBuilder();
    int n = 0;
    while (py.length() < size) {
      n++;
      String a = word(random);
      String b = word(random) + "_" + random.nextInt(100);
      String v = word(random) + "_value";
      py.append("def ")
          .append(word(random))
          .append('_')
          .append(word(random))
          .append('_')
          .append(n)
          .append('(')
          .append(a)
          .append(", ")
          .append(b)
          .append("=None, *args, **kwargs):\n    \"\"\"")
          .append(sentence(random))
          .append("\"\"\"\n    ")
          .append(v)
          .append(" = ")
          .append(a)
          .append(" if ")
          .append(b)
          .append(" is None else ")
          .append(b)
          .append("\n    for i in range(")
          .append(random.nextInt(1000))
          .append("):\n        ")
          .append(v)
          .append(" = (")
          .append(v)
          .append(" or 0) + i * ")
          .append(random.nextInt(10000))
          .append("\n    if ")
          .append(v)
          .append(" == ")
          .append(random.nextInt(100000))
          .append(":\n        return \"")
          .append(sentence(random))
          .append("\"\n    return [")
          .append(v)
          .append(", ")
          .append(random.nextInt(1 << 20))
          .append(", '")
          .append(word(random))
          .append("']\n\n\n");
      String attr = word(random) + "_" + word(random);
      py.append("class ")
          .append(capitalized(word(random)))
          .append(capitalized(word(random)))
          .append(n)
          .append(":\n    \"\"\"")
          .append(sentence(random))
          .append("\"\"\"\n\n    ")
          .append(attr)
          .append(" = \"")
          .append(word(random))
          .append("\"\n\n    def ")
          .append(word(random))
          .append("(self, ")
          .append(a)
          .append("):\n        return self.")
          .append(attr)
          .append(", ")
          .append(a)
          .append(", ")
          .append(random.nextInt(1 << 16))
          .append("\n\n\n");
    }
    return py.toString();
  }

  /**
   * {@code size} bytes drawn from 8 symbols: about 3 bits each, so deflate compresses them to about
   * 0.39 of their size (the real wheels' shared libraries and data: 0.3–0.5).
   */
  static byte[] data(Random random, long size) {
    byte[] bytes = new byte[(int) size];
    int i = 0;
    while (i < bytes.length) {
      long bits = random.nextLong();
      for (int k = 0; k < 21 && i < bytes.length; k++, i++) {
        bytes[i] = (byte) (0x41 + ((bits >>> (3 * k)) & 7) * 9);
      }
    }
    return bytes;
  }

  private static String sentence(Random random) {
    StringBuilder s = new StringBuilder(capitalized(word(random)));
    int words = 4 + random.nextInt(8);
    for (int i = 0; i < words; i++) {
      s.append(' ').append(word(random));
    }
    return s.append('.').toString();
  }

  private static String word(Random random) {
    return WORDS[random.nextInt(WORDS.length)];
  }

  private static String capitalized(String word) {
    return Character.toUpperCase(word.charAt(0)) + word.substring(1);
  }

  /** The file's own random stream: fixed by the distribution, version and path alone. */
  private static Random random(Dist d, String path) {
    return new Random(
        SEED ^ ((long) (d.name() + "==" + d.version()).hashCode() << 32) ^ path.hashCode());
  }

  static String metadata(Dist d) {
    StringBuilder metadata =
        new StringBuilder("Metadata-Version: 2.1\n")
            .append("Name: ")
            .append(d.name())
            .append("\nVersion: ")
            .append(d.version())
            .append("\nSummary: Synthetic stand-in for ")
            .append(d.name())
            .append(' ')
            .append(d.version())
            .append(
                ", generated by kiln bench (real name, version and dependencies; not the real"
                    + " code)\n");
    if (d.requiresPython() != null) {
      metadata.append("Requires-Python: ").append(d.requiresPython()).append('\n');
    }
    for (String requirement : d.requires()) {
      metadata.append("Requires-Dist: ").append(requirement).append('\n');
    }
    return metadata.toString();
  }

  private static String wheelFile(Dist d) {
    StringBuilder wheel =
        new StringBuilder(
            "Wheel-Version: 1.0\nGenerator: kiln bench (synthetic stand-in)\n"
                + "Root-Is-Purelib: true\n");
    for (String python : d.pythonTag().split("\\.")) {
      wheel.append("Tag: ").append(python).append("-none-any\n");
    }
    return wheel.toString();
  }

  private static void add(WheelZip zip, StringBuilder record, String path, byte[] content)
      throws IOException {
    put(zip, path, content);
    record
        .append(path)
        .append(",sha256=")
        .append(Base64.getUrlEncoder().withoutPadding().encodeToString(sha256().digest(content)))
        .append(',')
        .append(content.length)
        .append('\n');
  }

  private static void put(WheelZip zip, String path, byte[] content) throws IOException {
    // Data files are high-entropy symbols without repeats: searching them for matches (what
    // deflate does by default) takes 15× as long for 5 % less; Huffman coding alone is as good.
    zip.strategy(path.endsWith(".bin") ? Deflater.HUFFMAN_ONLY : Deflater.DEFAULT_STRATEGY);
    ZipEntry entry = new ZipEntry(path);
    entry.setTimeLocal(ZIP_EPOCH);
    zip.putNextEntry(entry);
    zip.write(content);
    zip.closeEntry();
  }

  /** A zip whose deflate strategy can change from one entry to the next. */
  private static final class WheelZip extends ZipOutputStream {
    WheelZip(OutputStream out) {
      super(out);
    }

    void strategy(int strategy) {
      def.setStrategy(strategy);
    }
  }

  private static byte[] digest(Path file) throws IOException {
    MessageDigest digest = sha256();
    try (var in = Files.newInputStream(file)) {
      byte[] buffer = new byte[1 << 16];
      for (int n; (n = in.read(buffer)) > 0; ) {
        digest.update(buffer, 0, n);
      }
    }
    return digest.digest();
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime ships SHA-256", e);
    }
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  // ---- the table's builder -----------------------------------------------------------------

  private static Builder dist(
      String name,
      String version,
      String requiresPython,
      String top,
      int pyFiles,
      int pyKib,
      int dataFiles,
      int dataKib,
      int realWheelKib) {
    return new Builder(
        name, version, requiresPython, top, pyFiles, pyKib, dataFiles, dataKib, realWheelKib);
  }

  private static final class Builder {
    private final String name;
    private final String version;
    private final String requiresPython;
    private final String top;
    private final int pyFiles;
    private final int pyKib;
    private final int dataFiles;
    private final int dataKib;
    private final int realWheelKib;
    private final List<String> requires = new ArrayList<>();
    private final Map<String, String> scripts = new LinkedHashMap<>();
    private String pythonTag = "py3";

    Builder(
        String name,
        String version,
        String requiresPython,
        String top,
        int pyFiles,
        int pyKib,
        int dataFiles,
        int dataKib,
        int realWheelKib) {
      this.name = name;
      this.version = version;
      this.requiresPython = requiresPython;
      this.top = top;
      this.pyFiles = pyFiles;
      this.pyKib = pyKib;
      this.dataFiles = dataFiles;
      this.dataKib = dataKib;
      this.realWheelKib = realWheelKib;
    }

    Builder requires(String... requirements) {
      requires.addAll(List.of(requirements));
      return this;
    }

    /** A console script calling the package's {@code main}. */
    Builder script(String command) {
      scripts.put(command, top + ":main");
      return this;
    }

    Builder py2() {
      pythonTag = "py2.py3";
      return this;
    }

    Dist build() {
      return new Dist(
          name,
          version,
          pythonTag,
          requiresPython,
          List.copyOf(requires),
          top,
          java.util.Collections.unmodifiableMap(new LinkedHashMap<>(scripts)),
          pyFiles,
          pyKib,
          dataFiles,
          dataKib,
          realWheelKib);
    }
  }
}
