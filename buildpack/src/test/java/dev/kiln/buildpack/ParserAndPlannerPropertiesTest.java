package dev.kiln.buildpack;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/** Any bytes in a version file and any set of files in a tree give a plan or a coded failure. */
class ParserAndPlannerPropertiesTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final BuildPlanner PLANNER = new BuildPlanner(RuntimeCatalog.loadDefault());

  // ------------------------------------------------------------------ version-file parsers

  @Property
  void runtimeTxtGivesAVersionOrInvalidVersion(@ForAll("versionFileBytes") byte[] content) {
    Outcome<RequestedVersion> outcome = RuntimeTxtParser.parse(content);
    assertCodedOrValue(outcome, Set.of(Codes.RUNTIME_TXT_INVALID_VERSION));
  }

  @Property
  void pythonVersionFileGivesAVersionOrOneOfItsCodes(@ForAll("versionFileBytes") byte[] content) {
    Outcome<RequestedVersion> outcome = PythonVersionFileParser.parse(content);
    assertCodedOrValue(
        outcome,
        Set.of(
            Codes.PYTHON_VERSION_FILE_NO_VERSION,
            Codes.PYTHON_VERSION_FILE_MULTIPLE,
            Codes.PYTHON_VERSION_FILE_INVALID));
  }

  @Property
  void pipfileLockGivesAVersionNoVersionOrOneOfItsCodes(
      @ForAll("pipfileLockBytes") byte[] content) {
    Outcome<Optional<RequestedVersion>> outcome = PipfileLockParser.pythonVersion(content);
    assertCodedOrValue(
        outcome, Set.of(Codes.PIPFILE_LOCK_INVALID_JSON, Codes.PIPFILE_LOCK_INVALID_VERSION));
    Outcome<Set<String>> names = PipfileLockParser.defaultPackages(content);
    assertCodedOrValue(names, Set.of(Codes.PIPFILE_LOCK_INVALID_JSON));
  }

  @Property
  void anyWellFormedVersionIsReadExactly(
      @ForAll @IntRange(min = 0, max = 99) int major,
      @ForAll @IntRange(min = 0, max = 99) int minor,
      @ForAll @IntRange(min = -1, max = 99) int patch,
      @ForAll("whitespace") String before,
      @ForAll("whitespace") String after) {
    String version = major + "." + minor + (patch < 0 ? "" : "." + patch);
    byte[] versionFile =
        ("# pinned\n" + before + version + after + "\n").getBytes(StandardCharsets.UTF_8);
    byte[] runtimeTxt = (before + "python-" + version + after).getBytes(StandardCharsets.UTF_8);
    assertThat(PythonVersionFileParser.parse(versionFile).value().text()).isEqualTo(version);
    assertThat(RuntimeTxtParser.parse(runtimeTxt).value().text()).isEqualTo(version);
  }

  @Property
  void quotingNeverLetsControlCharactersThrough(@ForAll("versionFileBytes") byte[] content) {
    String quoted = Text.quote(Text.decode(content));
    assertThat(quoted).doesNotContainPattern("[\\p{Cc}\\p{Cf}]");
    assertThat(quoted.codePointCount(0, quoted.length())).isLessThanOrEqualTo(Text.QUOTE_LIMIT + 1);
  }

  private static void assertCodedOrValue(Outcome<?> outcome, Set<String> allowedCodes) {
    assertThat(outcome).isNotNull();
    if (!outcome.isOk()) {
      assertThat(allowedCodes).contains(outcome.failure().code());
      assertThat(outcome.failure().message().replace("\n", "")).doesNotContainPattern("\\p{Cc}");
    }
  }

  @Provide
  Arbitrary<byte[]> versionFileBytes() {
    Arbitrary<byte[]> random = Arbitraries.bytes().array(byte[].class).ofMaxSize(300);
    Arbitrary<byte[]> nearlyValid =
        Arbitraries.oneOf(
                Arbitraries.of(
                    "python-",
                    "python",
                    "3",
                    ".",
                    "12",
                    "7",
                    "0",
                    "09",
                    " ",
                    "\t",
                    "\r",
                    "\n",
                    "#",
                    "\u0000",
                    "\u001b",
                    "\uFEFF",
                    "^",
                    "~=",
                    "*",
                    "\"",
                    "'",
                    "é",
                    "\uD83D\uDE00",
                    "4",
                    "99999999999999999999",
                    "-"))
            .list()
            .ofMaxSize(20)
            .map(parts -> String.join("", parts).getBytes(StandardCharsets.UTF_8));
    return Arbitraries.oneOf(random, nearlyValid);
  }

  @Provide
  Arbitrary<byte[]> pipfileLockBytes() {
    Arbitrary<String> value =
        Arbitraries.oneOf(
            Arbitraries.of(
                "\"3.12\"",
                "\"3.12.7\"",
                "null",
                "3.12",
                "\"\"",
                "\"3.12.*\"",
                "[]",
                "{}",
                "true",
                "\"3\"",
                "\"\\u0000\"",
                "\"99999999999999.1\""),
            Arbitraries.strings()
                .ofMaxLength(10)
                .map(
                    s -> {
                      try {
                        return JSON.writeValueAsString(s);
                      } catch (IOException e) {
                        return "\"\"";
                      }
                    }));
    Arbitrary<String> field = Arbitraries.of("python_version", "python_full_version", "other");
    Arbitrary<String> structured =
        Combinators.combine(
                field, value, field, value, Arbitraries.of("", "}", " trailing", "{", "\u0000"))
            .as(
                (f1, v1, f2, v2, tail) ->
                    "{\"_meta\": {\"requires\": {\""
                        + f1
                        + "\": "
                        + v1
                        + ", \""
                        + f2
                        + "\": "
                        + v2
                        + "}}, \"default\": {\"Flask\": {}}}"
                        + tail);
    Arbitrary<String> odd =
        Arbitraries.of(
            "",
            " ",
            "[]",
            "42",
            "\"s\"",
            "{\"_meta\": 1}",
            "{\"_meta\": {\"requires\": []}}",
            "[".repeat(5000),
            "{\"default\": []}");
    return Arbitraries.oneOf(
        structured.map(s -> s.getBytes(StandardCharsets.UTF_8)),
        odd.map(s -> s.getBytes(StandardCharsets.UTF_8)),
        Arbitraries.bytes().array(byte[].class).ofMaxSize(300));
  }

  @Provide
  Arbitrary<String> whitespace() {
    return Arbitraries.of(" ", "\t", "\r", "\n", "\u000B", "\f")
        .list()
        .ofMaxSize(4)
        .map(l -> String.join("", l));
  }

  // ------------------------------------------------------------------ the planner

  private static final List<String> NAMES =
      List.of(
          "requirements.txt",
          "Pipfile",
          "Pipfile.lock",
          "setup.py",
          "setup.cfg",
          "pyproject.toml",
          "poetry.lock",
          "uv.lock",
          "runtime.txt",
          ".python-version",
          "manage.py",
          "app.py",
          "main.py",
          "wsgi.py",
          "Procfile",
          "Dockerfile",
          "requirments.txt",
          "venv",
          "base.txt",
          "mysite/wsgi.py",
          "mysite/settings.py",
          "api/requirements.txt",
          "api/Procfile",
          "api/Dockerfile");

  private static final List<String> CONTENTS =
      List.of(
          "",
          "\n",
          "python-3.12\n",
          "python-3.8",
          "3.12\n",
          "3.12.3",
          "3.14",
          "3.12\n3.11\n",
          "# c\n",
          "-r base.txt\n",
          "-r ../../../etc/passwd\n",
          "-c base.txt\ngunicorn\n",
          "flask\ngunicorn\nDjango\nfastapi\nuvicorn\n",
          "web: gunicorn app:app\n",
          "app = Flask(__name__)\n",
          "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n",
          "{\"_meta\": {\"requires\": {\"python_version\": \"3.11\"}}, \"default\": {\"gunicorn\": {}}}",
          "{not json",
          "[[package]]\nname = \"gunicorn\"\ncategory = \"main\"\n",
          "[packages]\ngunicorn = \"*\"\n",
          "install_requires=[\"gunicorn\", \"flask\"]",
          "\u0000\u001b\uFEFF");

  /** One entry of a random tree: a file, a directory, or a symbolic link. */
  record TreeEntry(String name, int kind, String content, String linkTarget) {}

  @Provide
  Arbitrary<List<TreeEntry>> trees() {
    Arbitrary<String> content =
        Arbitraries.oneOf(
            Arbitraries.of(CONTENTS),
            Arbitraries.bytes()
                .array(byte[].class)
                .ofMaxSize(200)
                .map(b -> new String(b, StandardCharsets.ISO_8859_1)));
    Arbitrary<String> target =
        Arbitraries.of(
            "/etc/passwd", "base.txt", "missing", "../outside", "app.py", "api", ".", "loop");
    Arbitrary<TreeEntry> entry =
        Combinators.combine(
                Arbitraries.of(NAMES), Arbitraries.integers().between(0, 9), content, target)
            .as((name, kind, text, link) -> new TreeEntry(name, kind, text, link));
    return entry.list().ofMaxSize(16);
  }

  @Provide
  Arbitrary<BuildInputs> inputs() {
    Arbitrary<String> sourceDir =
        Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(12, Arbitraries.just("")),
            net.jqwik.api.Tuple.of(
                1,
                Arbitraries.of(
                    "/", "api", "/api/", "../x", "missing", "app.py", "venv", "\u0000")));
    Arbitrary<String> dockerfile =
        Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(12, Arbitraries.just("")),
            net.jqwik.api.Tuple.of(
                1, Arbitraries.of("Dockerfile", "api/Dockerfile", "../Dockerfile", "api", "nope")));
    Arbitrary<String> previous = Arbitraries.of("", "3.8.10", "3.11.4", "3.13.5", "4.1.0");
    Arbitrary<String> runCommand = Arbitraries.of("", "gunicorn app:app");
    return Combinators.combine(
            sourceDir,
            dockerfile,
            previous,
            runCommand,
            Arbitraries.of(true, false),
            Arbitraries.of(true, false))
        .as(
            (dir, docker, prev, run, strict, builder) ->
                BuildInputs.builder()
                    .appSpec(new AppSpec(dir, docker, null, run, java.util.List.of()))
                    .previousPythonVersion(prev.isEmpty() ? null : prev)
                    .strict(strict)
                    .dockerfileBuilderAvailable(builder)
                    .build());
  }

  @Property(tries = 500)
  void anyTreeGivesAPlanOrACodedFailure(
      @ForAll("trees") List<TreeEntry> tree, @ForAll("inputs") BuildInputs inputs)
      throws IOException {
    Path temp = Files.createTempDirectory("kiln-plan-property");
    try {
      Path repository = Files.createDirectories(temp.resolve("repo"));
      Files.writeString(temp.resolve("outside"), "outside the repository\n");
      materialize(repository, tree);

      PlanResult plan = PLANNER.plan(repository, inputs);

      assertThat(plan).isNotNull();
      plan.error().ifPresent(error -> assertThat(Codes.PLAN_FAILURES).contains(error.code()));
      plan.warnings().forEach(warning -> assertThat(Codes.PLAN_WARNINGS).contains(warning.code()));
      if (plan.succeeded()) {
        assertThat(plan.strategy())
            .isIn(PlanResult.STRATEGY_BUILDPACK, PlanResult.STRATEGY_DOCKERFILE);
        if (PlanResult.STRATEGY_BUILDPACK.equals(plan.strategy())) {
          assertThat(plan.python().version()).isNotNull();
          assertThat(plan.packageManager()).isNotNull();
          assertThat(plan.run()).isNotNull();
        }
      }
      assertThat(JSON.readTree(plan.toJson()).isObject()).isTrue();
      plan.logLines().forEach(line -> assertThat(line).doesNotContainPattern("\\p{Cc}"));
    } finally {
      deleteRecursively(temp);
    }
  }

  @Example
  void plannerNeverReadsOutsideTheRepository() throws IOException {
    Path temp = Files.createTempDirectory("kiln-plan-outside");
    try {
      Path repository = Files.createDirectories(temp.resolve("repo"));
      Path secret = Files.writeString(temp.resolve("secret"), "django\ngunicorn\nTOP-SECRET\n");
      Files.writeString(repository.resolve("app.py"), "app = 1\n");
      Files.createSymbolicLink(repository.resolve("requirements.txt"), secret);
      PlanResult plan = PLANNER.plan(repository, BuildInputs.defaults());
      assertThat(plan.error().orElseThrow().code()).isEqualTo(Codes.SOURCE_SYMLINK_OUTSIDE);
      assertThat(plan.toJson()).doesNotContain("TOP-SECRET");
    } finally {
      deleteRecursively(temp);
    }
  }

  private static void materialize(Path repository, List<TreeEntry> tree) throws IOException {
    for (TreeEntry entry : tree) {
      Path path = repository.resolve(entry.name());
      if (Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        continue;
      }
      if (!Files.isDirectory(path.getParent())) {
        if (Files.exists(path.getParent(), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          continue;
        }
        Files.createDirectories(path.getParent());
      }
      switch (entry.kind()) {
        case 0 -> Files.createDirectories(path);
        case 1 ->
            Files.createSymbolicLink(
                path,
                Path.of(entry.linkTarget().equals("loop") ? entry.name() : entry.linkTarget()));
        default -> Files.write(path, entry.content().getBytes(StandardCharsets.ISO_8859_1));
      }
    }
  }

  private static void deleteRecursively(Path root) throws IOException {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    }
  }
}
