package dev.kiln.installer.wheel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.events.Digest;
import dev.kiln.installer.TargetEnvironment;
import dev.kiln.testkit.DebianPackageNotInstalledException;
import dev.kiln.testkit.DebianPythonPackages;
import dev.kiln.testkit.WheelBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A layer concatenated from fragments installs what {@code pip install --target} installs: the same
 * files with the same bytes and executable bits, the same directories and the same RECORD rows,
 * once pip's tree is normalized as the INSTALL step normalizes it today (shebangs under {@code
 * bin/} become {@code #!/usr/bin/env python3}; pip's own INSTALLER, REQUESTED and direct_url.json
 * are left out). Then the host's python3 imports from the extracted layer and runs its scripts.
 *
 * <p>Needs python3 with pip (and, for the Debian wheels, python3-django and python3-nltk); without
 * them the test is skipped, or fails when {@code CI=true}.
 */
class PipCompatibilityTest {
  private static final TargetEnvironment TARGET = TargetEnvironment.linuxX86_64("3.11.7", "2.36");
  private static final String SHEBANG = "#!/usr/bin/env python3";

  @TempDir Path work;

  @BeforeAll
  static void pipIsThere() throws Exception {
    Result pip;
    try {
      pip = run(Path.of("."), Map.of(), List.of("python3", "-m", "pip", "--version"));
    } catch (IOException e) {
      pip = new Result(-1, e.getMessage());
    }
    required(pip.exitCode() == 0, "python3 with pip is needed: " + pip.output());
  }

  @Test
  void builtWheelsGiveTheTreePipGivesAndTheirScriptsRun() throws Exception {
    Path wheels = work.resolve("wheels");
    byte[] binary = new byte[4096];
    for (int i = 0; i < binary.length; i++) {
      binary[i] = (byte) (i * 31 + i / 7);
    }
    List<Path> built =
        List.of(
            WheelBuilder.wheel("demo-pkg", "1.0")
                .module(
                    "demo_pkg/__init__.py",
                    "import pathlib\n"
                        + "VALUE = 42\n"
                        + "def main():\n"
                        + "    blob = pathlib.Path(__file__).with_name('blob.bin').read_bytes()\n"
                        + "    print('demo', VALUE, len(blob))\n")
                .file("demo_pkg/blob.bin", binary)
                .module("demo_pkg/sub/__init__.py", "")
                .module("demo_pkg-1.0.data/purelib/demo_extra/__init__.py", "EXTRA = 'x'\n")
                .module(
                    "demo_pkg-1.0.data/scripts/demo-tool",
                    "#!python\nimport demo_pkg\nprint('tool', demo_pkg.VALUE)\n")
                .module("demo_pkg-1.0.data/scripts/demo-sh", "#!/bin/sh\necho sh\n")
                .module("demo_pkg-1.0.data/data/share/demo-pkg/readme.txt", "read me\n")
                .consoleScript("demo", "demo_pkg:main")
                .writeTo(wheels),
            WheelBuilder.wheel("Other.Thing", "2.0rc1")
                .module(
                    "other_thing/cli.py",
                    "class App:\n    @staticmethod\n    def run():\n        print('other run')\n")
                .module("other_thing/__init__.py", "")
                .module("other_top.py", "TOP = 1\n")
                .consoleScript("other", "other_thing.cli:App.run")
                .writeTo(wheels),
            // Not pure, with a file the zip marks executable.
            RawWheel.of("native_thing", "0.1")
                .wheelFile("Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: py3-none-any\n")
                .file("native_thing/__init__.py", "")
                .file(
                    "native_thing/helper.sh",
                    "#!/bin/sh\necho helper\n".getBytes(StandardCharsets.UTF_8),
                    0100755)
                .writeTo(wheels));

    Path layer = compareWithPip(built);

    Result imported =
        python(
            layer,
            "import demo_pkg, demo_extra, other_thing.cli, other_top, native_thing;"
                + " print(demo_pkg.VALUE, demo_extra.EXTRA, other_top.TOP);"
                + " print(demo_pkg.__file__)");
    assertThat(imported.exitCode()).as(imported.output()).isZero();
    assertThat(imported.output().lines())
        .containsExactly("42 x 1", layer.resolve("demo_pkg/__init__.py").toString());
    assertThat(script(layer, "demo").output()).isEqualTo("demo 42 4096\n");
    assertThat(script(layer, "other").output()).isEqualTo("other run\n");
    assertThat(script(layer, "demo-tool").output()).isEqualTo("tool 42\n");
    assertThat(script(layer, "demo-sh").output()).isEqualTo("sh\n");
    assertThat(layer.resolve("share/demo-pkg/readme.txt")).hasContent("read me");
  }

  @Test
  void debianMadeThirdPartyWheelsGiveTheTreePipGivesAndTheirScriptsRun() throws Exception {
    Path wheels = work.resolve("wheels");
    // The packages .ci/run installs: Django, and NLTK, whose regex is an extension module.
    List<Path> built = new ArrayList<>();
    for (String debianPackage : List.of("python3-django", "python3-nltk")) {
      built.addAll(
          debian(
              () ->
                  DebianPythonPackages.onThisMachine()
                      .wheelsWithDependencies(debianPackage, wheels)));
    }
    assertThat(built)
        .extracting(wheel -> wheel.getFileName().toString())
        .anyMatch(name -> name.matches("regex-.*-cp3\\d+-cp3\\d+-linux_[a-z0-9_]+\\.whl"));

    Path layer = compareWithPip(built);

    Result imported =
        python(
            layer,
            "import django, asgiref, sqlparse, pytz, nltk, regex, click, joblib, tqdm;"
                + " print(django.get_version()); print(django.__file__);"
                + " print(regex.__file__); print(regex.sub(r'\\p{L}+', 'w', 'hi there'))");
    assertThat(imported.exitCode()).as(imported.output()).isZero();
    assertThat(imported.output().lines())
        .containsExactly(
            "3.2.25",
            layer.resolve("django/__init__.py").toString(),
            layer.resolve("regex/__init__.py").toString(),
            "w w");
    Result djangoAdmin = script(layer, "django-admin", "--version");
    assertThat(djangoAdmin.output()).isEqualTo("3.2.25\n");
    assertThat(script(layer, "tqdm", "--version").output()).isNotBlank();
  }

  /**
   * Unpacks every wheel, concatenates the fragments in the order given, extracts the layer with
   * tar, installs the same wheels with pip, compares the two trees and returns the extracted layer.
   */
  private Path compareWithPip(List<Path> wheels) throws Exception {
    WheelFragments fragments = new WheelFragments(TARGET);
    List<Path> tars = new ArrayList<>();
    for (Path wheel : wheels) {
      tars.add(fragments.unpack(wheel, Digest.compute(wheel), work.resolve("fragments")).tar());
    }
    ConcatenatedLayer concatenated =
        LayerConcatenation.concatenate(tars, work.resolve("layer.tar"));
    assertThat(concatenated.overlaps()).isEmpty();
    Path layer = work.resolve("layer");
    Trees.extract(concatenated.tar(), layer);

    Path pipTarget = work.resolve("pip-target");
    List<String> install =
        new ArrayList<>(
            List.of(
                "python3",
                "-m",
                "pip",
                "install",
                "--target",
                pipTarget.toString(),
                "--no-deps",
                "--no-index",
                "--no-compile",
                "--disable-pip-version-check",
                "--no-warn-script-location",
                "--root-user-action=ignore"));
    wheels.forEach(wheel -> install.add(wheel.toString()));
    Result pip = run(work, Map.of(), install);
    assertThat(pip.exitCode()).as(pip.output()).isZero();

    assertSame("the extracted layer and pip's tree", view(layer, false), view(pipTarget, true));
    assertThat(distInfoDirectories(layer)).hasSameSizeAs(distInfoDirectories(pipTarget));
    for (Path distInfo : distInfoDirectories(pipTarget)) {
      Path ours = layer.resolve(distInfo.getFileName().toString());
      assertSame(
          "RECORD of " + distInfo.getFileName(), record(ours, false), record(distInfo, true));
      assertRecordMatchesFiles(ours);
    }
    return layer;
  }

  /** Fails listing the paths that differ (not both maps, which for Django are huge). */
  private static void assertSame(String what, Map<String, String> ours, Map<String, String> pip) {
    List<String> differences = new ArrayList<>();
    Set<String> paths = new java.util.TreeSet<>(ours.keySet());
    paths.addAll(pip.keySet());
    for (String path : paths) {
      String mine = ours.get(path);
      String theirs = pip.get(path);
      if (!java.util.Objects.equals(mine, theirs)) {
        differences.add(path + ": kiln " + mine + ", pip " + theirs);
      }
    }
    assertThat(differences).as(what + " (of " + paths.size() + " paths)").isEmpty();
    assertThat(paths).as(what).isNotEmpty();
  }

  /** Each path with what it is: "dir", or a file's normalized content hash and executable bit. */
  private static Map<String, String> view(Path root, boolean isPip) throws IOException {
    Map<String, String> view = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path path : walk.filter(p -> !p.equals(root)).toList()) {
        String name = relative(root, path);
        String parent = path.getParent().getFileName().toString();
        String file = path.getFileName().toString();
        if (parent.endsWith(".dist-info")
            && (file.equals("INSTALLER")
                || file.equals("RECORD")
                || (isPip && (file.equals("REQUESTED") || file.equals("direct_url.json"))))) {
          continue;
        }
        if (Files.isSymbolicLink(path)) {
          view.put(name, "link");
        } else if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
          view.put(name, "dir");
        } else {
          boolean inBin = name.startsWith("bin/");
          byte[] content = Files.readAllBytes(path);
          if (isPip && inBin) {
            content = normalizeShebang(content);
          }
          // Kiln makes every script in bin/ executable; pip only those the zip marks so.
          boolean executable = inBin || isExecutable(path);
          view.put(name, Digest.compute(content) + (executable ? " x" : ""));
        }
      }
    }
    return view;
  }

  /**
   * RECORD rows by installed path (relative to the root), without INSTALLER and REQUESTED and
   * direct_url.json. pip writes paths relative to its home scheme's {@code lib/python}, so a script
   * is {@code ../../bin/x}; and it hashes its own shebang, so pip's bin/ rows are hashed again
   * after normalization.
   */
  private static Map<String, String> record(Path distInfo, boolean isPip) throws IOException {
    Path root = distInfo.getParent();
    Map<String, String> rows = new TreeMap<>();
    String text = Files.readString(distInfo.resolve("RECORD"), StandardCharsets.UTF_8);
    for (List<String> row : RecordFile.csv(text)) {
      String path = row.get(0);
      if (isPip) {
        Path lib = Path.of("/lib/python");
        Path resolved = lib.resolve(path).normalize();
        path = relative(resolved.startsWith(lib) ? lib : Path.of("/"), resolved);
      }
      String file = path.substring(path.lastIndexOf('/') + 1);
      if (path.startsWith(distInfo.getFileName() + "/")
          && (file.equals("INSTALLER")
              || file.equals("REQUESTED")
              || file.equals("direct_url.json"))) {
        continue;
      }
      String hashAndSize = row.get(1) + "," + row.get(2);
      if (isPip && path.startsWith("bin/")) {
        byte[] content = normalizeShebang(Files.readAllBytes(root.resolve(path)));
        hashAndSize =
            RecordFile.sha256Field(Digest.newSha256().digest(content)) + "," + content.length;
      }
      rows.put(path, hashAndSize);
    }
    return rows;
  }

  private static void assertRecordMatchesFiles(Path distInfo) throws IOException {
    Path root = distInfo.getParent();
    String text = Files.readString(distInfo.resolve("RECORD"), StandardCharsets.UTF_8);
    for (List<String> row : RecordFile.csv(text)) {
      if (row.get(1).isEmpty()) {
        assertThat(row.get(0)).isEqualTo(distInfo.getFileName() + "/RECORD");
        continue;
      }
      byte[] content = Files.readAllBytes(root.resolve(row.get(0)));
      assertThat(row.get(1) + "," + row.get(2))
          .as(row.get(0))
          .isEqualTo(
              RecordFile.sha256Field(Digest.newSha256().digest(content)) + "," + content.length);
    }
  }

  /** What the INSTALL step's ConsoleScripts does to a script pip wrote. */
  private static byte[] normalizeShebang(byte[] content) {
    String text = new String(content, StandardCharsets.ISO_8859_1);
    int newline = text.indexOf('\n');
    String firstLine = newline < 0 ? text : text.substring(0, newline);
    if (!firstLine.startsWith("#!") || !firstLine.contains("python") || firstLine.equals(SHEBANG)) {
      return content;
    }
    String rest = newline < 0 ? "" : text.substring(newline + 1);
    return (SHEBANG + "\n" + rest).getBytes(StandardCharsets.ISO_8859_1);
  }

  private static List<Path> distInfoDirectories(Path root) throws IOException {
    try (Stream<Path> list = Files.list(root)) {
      return list.filter(p -> p.getFileName().toString().endsWith(".dist-info")).sorted().toList();
    }
  }

  private static boolean isExecutable(Path path) throws IOException {
    Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(path);
    return permissions.contains(PosixFilePermission.OWNER_EXECUTE);
  }

  private static String relative(Path root, Path path) {
    List<String> parts = new ArrayList<>();
    root.relativize(path).forEach(part -> parts.add(part.toString()));
    return String.join("/", parts);
  }

  private Result python(Path layer, String code) throws Exception {
    return run(work, Map.of("PYTHONPATH", layer.toString()), List.of("python3", "-s", "-c", code));
  }

  /** Runs {@code bin/<name>} of the layer as the image would: through its shebang. */
  private Result script(Path layer, String name, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(layer.resolve("bin").resolve(name).toString()));
    command.addAll(List.of(args));
    Result result = run(work, Map.of("PYTHONPATH", layer.toString()), command);
    assertThat(result.exitCode()).as(name + ": " + result.output()).isZero();
    return result;
  }

  private record Result(int exitCode, String output) {}

  /**
   * Runs a command without the machine's pip configuration or Python variables, as the INSTALL step
   * runs pip: {@code PIP_CONFIG_FILE=/dev/null}, no other {@code PIP_*} or {@code PYTHON*}.
   */
  private static Result run(Path directory, Map<String, String> extra, List<String> command)
      throws IOException, InterruptedException {
    Path log = Files.createTempFile("kiln-pip-", ".log");
    try {
      ProcessBuilder builder =
          new ProcessBuilder(command)
              .directory(directory.toFile())
              .redirectErrorStream(true)
              .redirectOutput(log.toFile());
      Map<String, String> environment = builder.environment();
      environment.keySet().removeIf(key -> key.startsWith("PIP_") || key.startsWith("PYTHON"));
      environment.put("PIP_CONFIG_FILE", "/dev/null");
      environment.putAll(extra);
      Process process = builder.start();
      if (!process.waitFor(300, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        throw new IOException(command + " did not finish in 300 s: " + Files.readString(log));
      }
      return new Result(process.exitValue(), Files.readString(log));
    } finally {
      Files.deleteIfExists(log);
    }
  }

  private interface DebianWheels<T> {
    T make();
  }

  /** The wheels, or a skip (a failure in CI) saying how to install the missing package. */
  private static <T> T debian(DebianWheels<T> wheels) {
    try {
      return wheels.make();
    } catch (DebianPackageNotInstalledException e) {
      required(false, e.getMessage());
      throw e;
    }
  }

  private static void required(boolean present, String message) {
    if (!present && "true".equals(System.getenv("CI"))) {
      fail("CI=true but " + message);
    }
    assumeTrue(present, message);
  }
}
