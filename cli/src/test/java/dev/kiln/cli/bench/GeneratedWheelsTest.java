package dev.kiln.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.events.Digest;
import dev.kiln.installer.TargetEnvironment;
import dev.kiln.installer.wheel.WheelFragment;
import dev.kiln.installer.wheel.WheelFragments;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The index of generated wheels kiln bench uses when the machine has no wheel mirror. */
class GeneratedWheelsTest {
  @TempDir static Path temp;

  /** The flask set's index (with the bench's extra distributions), generated once. */
  static Path flaskIndex;

  /** The machine's real pip wheel, which the generated index offers too. */
  static List<Path> tools;

  @BeforeAll
  static void generateTheFlaskSet() throws IOException {
    tools = GeneratedIndex.toolWheels();
    flaskIndex = GeneratedIndex.write(temp.resolve("flask"), List.of("flask"), tools);
  }

  @Test
  void twoGenerationsGiveTheSameBytes() throws IOException {
    Path again = GeneratedIndex.write(temp.resolve("flask-again"), List.of("flask"), tools);

    Map<String, String> first = hashes(flaskIndex.getParent());
    Map<String, String> second = hashes(again.getParent());
    assertThat(second).isEqualTo(first);
    assertThat(first).containsKeys("files/flask-3.1.3-py3-none-any.whl", "simple/flask/index.html");
  }

  @Test
  void theLargestWheelIsDeterministicAndSizedLikeTheRealOne() throws IOException {
    GeneratedIndex.Dist numpy =
        GeneratedIndex.DISTS.stream().filter(d -> d.name().equals("numpy")).findFirst().get();
    Path a = Files.createDirectories(temp.resolve("numpy-a")).resolve(numpy.filename());
    Path b = Files.createDirectories(temp.resolve("numpy-b")).resolve(numpy.filename());

    String sha = GeneratedIndex.writeWheel(numpy, a);
    assertThat(GeneratedIndex.writeWheel(numpy, b)).isEqualTo(sha);

    assertThat(Files.mismatch(a, b)).isEqualTo(-1L);
    assertSizedLikeTheReal(numpy, a);
    assertValidWheel(a);
  }

  @Test
  void everyWheelIsValidItsRecordHashesMatchAndItsPageGivesItsSha256() throws Exception {
    List<Path> wheels;
    try (Stream<Path> files = Files.list(flaskIndex.resolveSibling("files"))) {
      wheels = files.sorted().toList();
    }
    List<String> expected = new ArrayList<>();
    for (GeneratedIndex.Dist d : flaskClosure()) {
      expected.add(d.filename());
    }
    for (Path tool : tools) {
      expected.add(tool.getFileName().toString());
    }
    assertThat(wheels)
        .map(p -> p.getFileName().toString())
        .containsExactlyInAnyOrderElementsOf(expected);

    for (Path wheel : wheels) {
      if (!wheel.getFileName().toString().startsWith("pip-")) {
        assertValidWheel(wheel);
      }
    }
    for (GeneratedIndex.Dist d : flaskClosure()) {
      Path page = flaskIndex.resolve(d.normalized()).resolve("index.html");
      IndexPage parsed = IndexPage.parse(page.toUri(), Files.readString(page));
      IndexPage.FileLink link = parsed.file(d.filename()).orElseThrow();
      Path wheel = Path.of(link.url());
      assertThat(wheel).exists();
      assertThat(link.sha256())
          .isEqualTo(HexFormat.of().formatHex(sha256(Files.readAllBytes(wheel))));
      assertThat(link.wheelVersion()).isEqualTo(d.version());
      assertSizedLikeTheReal(d, wheel);
    }
    // Kiln's build sandbox runs pip from the index: the real one, with its page.
    assumeTrue(!tools.isEmpty(), "python3's ensurepip carries a pip wheel");
    assertThat(tools.get(0).getFileName().toString())
        .startsWith("pip-")
        .endsWith("-py3-none-any.whl");
    IndexPage pip =
        IndexPage.parse(
            flaskIndex.resolve("pip/").toUri(),
            Files.readString(flaskIndex.resolve("pip/index.html")));
    assertThat(pip.latestPureWheel().orElseThrow().sha256())
        .isEqualTo(HexFormat.of().formatHex(sha256(Files.readAllBytes(tools.get(0)))));
    // What the bench's locked variants need: a pure wheel with a hash for every extra.
    LocalIndex index = new LocalIndex(flaskIndex.toUri().toString(), temp.resolve("downloads"));
    for (String extra : BenchCommand.EXTRAS) {
      assertThat(index.page(extra).latestPureWheel()).as(extra).isPresent();
    }
    assertThat(Files.readString(flaskIndex.resolve("index.html")))
        .contains("<a href=\"flask/\">flask</a>", "<a href=\"markupsafe/\">markupsafe</a>");
  }

  @Test
  void kilnsOwnUnpackerTakesEveryWheelWithoutWarnings() throws Exception {
    WheelFragments fragments = new WheelFragments(TargetEnvironment.linuxX86_64("3.11.2", "2.36"));
    for (GeneratedIndex.Dist d : flaskClosure()) {
      Path wheel = flaskIndex.resolveSibling("files").resolve(d.filename());

      WheelFragment fragment =
          fragments.unpack(wheel, Digest.compute(wheel), temp.resolve("fragments"));

      assertThat(fragment.warnings()).as(d.name()).isEmpty();
      assertThat(IndexPage.normalize(fragment.distribution())).isEqualTo(d.normalized());
      assertThat(fragment.version()).isEqualTo(d.version());
      assertThat(fragment.scripts()).containsExactlyElementsOf(d.scripts().keySet());
    }
  }

  @Test
  void everyOtherWheelIsValidAndSizedLikeTheRealOne() throws IOException {
    List<String> done = new ArrayList<>(List.of("numpy"));
    flaskClosure().forEach(d -> done.add(d.name()));
    Path dir = Files.createDirectories(temp.resolve("others"));
    for (GeneratedIndex.Dist d : GeneratedIndex.DISTS) {
      if (!done.contains(d.name())) {
        Path wheel = dir.resolve(d.filename());
        GeneratedIndex.writeWheel(d, wheel);
        assertValidWheel(wheel);
        assertSizedLikeTheReal(d, wheel);
        Files.delete(wheel);
      }
    }
  }

  @Test
  void theClosureOfEverySetIsGenerated() {
    List<String> roots = new ArrayList<>();
    for (DependencySet set : DependencySet.ALL) {
      roots.addAll(set.requirements());
    }
    roots.addAll(BenchCommand.EXTRAS);

    List<String> names =
        GeneratedIndex.closure(roots).stream().map(GeneratedIndex.Dist::normalized).toList();

    assertThat(names)
        .containsExactlyInAnyOrderElementsOf(
            GeneratedIndex.DISTS.stream().map(GeneratedIndex.Dist::normalized).toList())
        .contains(
            "werkzeug",
            "jinja2",
            "markupsafe",
            "itsdangerous",
            "click",
            "blinker",
            "asgiref",
            "sqlparse",
            "psycopg2-binary",
            "starlette",
            "pydantic",
            "pydantic-core",
            "anyio",
            "idna",
            "typing-extensions",
            "annotated-types",
            "h11",
            "charset-normalizer",
            "urllib3",
            "certifi",
            "numpy");
    assertThat(
            GeneratedIndex.closure(List.of("fastapi")).stream()
                .map(GeneratedIndex.Dist::normalized))
        .doesNotContain("numpy", "flask", "gunicorn");
  }

  @Test
  void pipResolvesTheFlaskSetToTheGeneratedVersionsAndInstallsIt() throws Exception {
    assumeTrue(run(temp, "python3", "-m", "pip", "--version").exit == 0, "python3 -m pip");
    String url = flaskIndex.toUri().toString();

    Run resolved =
        run(
            temp,
            "python3",
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--index-url",
            url,
            "--report",
            "-",
            "flask",
            "gunicorn");

    assertThat(resolved.exit).as(resolved.output).isZero();
    Map<String, String> picked = new TreeMap<>();
    Matcher m =
        Pattern.compile("\"name\":\\s*\"([^\"]+)\",\\s*\"version\":\\s*\"([^\"]+)\"")
            .matcher(resolved.output);
    while (m.find()) {
      picked.put(IndexPage.normalize(m.group(1)), m.group(2));
    }
    Map<String, String> expected = new TreeMap<>();
    for (GeneratedIndex.Dist d : GeneratedIndex.closure(List.of("flask", "gunicorn"))) {
      expected.put(d.normalized(), d.version());
    }
    assertThat(picked).isEqualTo(expected);

    Path target = temp.resolve("target");
    Run installed =
        run(
            temp,
            "python3",
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-compile",
            "--index-url",
            url,
            "--target",
            target.toString(),
            "flask",
            "gunicorn");
    assertThat(installed.exit).as(installed.output).isZero();
    Run compiled = run(temp, "python3", "-m", "compileall", "-q", target.toString());
    assertThat(compiled.exit).as(compiled.output).isZero();
    Run imported =
        run(
            target,
            "python3",
            "-c",
            "import flask, gunicorn, jinja2, werkzeug; print(flask.__version__, gunicorn.main())");
    assertThat(imported.exit).as(imported.output).isZero();
    assertThat(imported.output).contains("gunicorn 26.2.0 (synthetic stand-in)", "3.1.3 0");
    assertThat(target.resolve("bin/gunicorn")).exists();
  }

  // ---- helpers ---------------------------------------------------------------------------

  private static List<GeneratedIndex.Dist> flaskClosure() {
    List<String> roots = new ArrayList<>(DependencySet.byId("flask").requirements());
    roots.addAll(BenchCommand.EXTRAS);
    return GeneratedIndex.closure(roots);
  }

  /** Unpacked within 25 % of the real wheel's files, the wheel file within 2× of the real one. */
  private static void assertSizedLikeTheReal(GeneratedIndex.Dist d, Path wheel) throws IOException {
    long unpacked = 0;
    try (ZipFile zip = new ZipFile(wheel.toFile())) {
      for (ZipEntry e : java.util.Collections.list(zip.entries())) {
        if (!e.getName().contains(".dist-info/")) {
          unpacked += e.getSize();
        }
      }
    }
    double real = (d.pyKib() + d.dataKib()) * 1024.0;
    if (real > 64 * 1024) { // the smallest are a few KiB either way
      assertThat(unpacked / real).as(d.name() + " unpacked ÷ real").isBetween(0.75, 1.25);
      assertThat(Files.size(wheel) / (d.realWheelKib() * 1024.0))
          .as(d.name() + " wheel ÷ real wheel")
          .isBetween(0.5, 2.0);
    }
  }

  /** METADATA, WHEEL and RECORD are there and every RECORD line matches its entry. */
  private static void assertValidWheel(Path wheel) throws IOException {
    String[] parts = wheel.getFileName().toString().split("-");
    String distInfo = parts[0] + "-" + parts[1] + ".dist-info/";
    try (ZipFile zip = new ZipFile(wheel.toFile())) {
      String metadata = text(zip, distInfo + "METADATA");
      assertThat(metadata).contains("Metadata-Version: 2.1\n", "\nVersion: " + parts[1] + "\n");
      assertThat(
              IndexPage.normalize(
                  metadata
                      .lines()
                      .filter(l -> l.startsWith("Name: "))
                      .findFirst()
                      .orElseThrow()
                      .substring(6)))
          .isEqualTo(parts[0].replace('_', '-'));
      assertThat(text(zip, distInfo + "WHEEL"))
          .contains("Wheel-Version: 1.0\n", "Root-Is-Purelib: true\n", "-none-any\n");
      Map<String, String> record = new LinkedHashMap<>();
      for (String line : text(zip, distInfo + "RECORD").lines().toList()) {
        int hash = line.indexOf(",sha256=");
        if (hash < 0) {
          assertThat(line).isEqualTo(distInfo + "RECORD,,");
          continue;
        }
        record.put(line.substring(0, hash), line.substring(hash + 1));
      }
      List<String> entries = new ArrayList<>();
      for (ZipEntry e : java.util.Collections.list(zip.entries())) {
        entries.add(e.getName());
        if (e.getName().equals(distInfo + "RECORD")) {
          continue;
        }
        byte[] content;
        try (InputStream in = zip.getInputStream(e)) {
          content = in.readAllBytes();
        }
        assertThat(record.get(e.getName()))
            .as(wheel.getFileName() + "!" + e.getName())
            .isEqualTo(
                "sha256="
                    + Base64.getUrlEncoder().withoutPadding().encodeToString(sha256(content))
                    + ","
                    + content.length);
        assertThat(e.getTimeLocal()).isEqualTo(java.time.LocalDateTime.of(1980, 1, 1, 0, 0));
      }
      assertThat(entries).hasSize(record.size() + 1).last().isEqualTo(distInfo + "RECORD");
    }
  }

  private static String text(ZipFile zip, String name) throws IOException {
    ZipEntry entry = zip.getEntry(name);
    assertThat(entry).as(name).isNotNull();
    try (InputStream in = zip.getInputStream(entry)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static Map<String, String> hashes(Path dir) throws IOException {
    Map<String, String> hashes = new TreeMap<>();
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        hashes.put(
            dir.relativize(file).toString(),
            HexFormat.of().formatHex(sha256(Files.readAllBytes(file))));
      }
    }
    return hashes;
  }

  private static byte[] sha256(byte[] content) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(content);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private record Run(int exit, String output) {}

  /** Runs a command offline-style: pip reads no config file and checks no newer pip. */
  private static Run run(Path dir, String... command) throws IOException, InterruptedException {
    ProcessBuilder builder =
        new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
    builder.environment().put("PIP_CONFIG_FILE", "/dev/null");
    builder.environment().put("PIP_DISABLE_PIP_VERSION_CHECK", "1");
    builder.environment().put("PIP_NO_CACHE_DIR", "1");
    builder.environment().put("PIP_NO_INPUT", "1");
    builder.environment().remove("PIP_INDEX_URL");
    builder.environment().remove("PIP_EXTRA_INDEX_URL");
    builder.environment().remove("PIP_FIND_LINKS");
    Process process = builder.start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(2, TimeUnit.MINUTES)) {
      process.destroyForcibly();
      return new Run(-1, output + "\n(timed out)");
    }
    return new Run(process.exitValue(), output);
  }
}
