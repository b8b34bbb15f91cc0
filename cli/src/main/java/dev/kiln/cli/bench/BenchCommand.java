package dev.kiln.cli.bench;

import dev.kiln.cli.Farm;
import dev.kiln.cli.UserError;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code kiln bench}: starts a farm of separate processes on this machine, measures Kiln against
 * baselines run in the same session (Heroku-style warm rebuilds, {@code pip install --target},
 * unzip + tar), and writes a markdown report. It reports; it does not judge: it exits 0 when
 * targets are missed, 1 only when it could not measure.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description =
        "Measure Kiln against baselines on this machine (a farm of separate processes, the"
            + " machine's python3/pip) and write a markdown report.")
public final class BenchCommand implements Callable<Integer> {
  static final String TITLE = "Kiln against baselines (`kiln bench`)";
  private static final String MAIN_TENANT = "bench";
  private static final String OTHER_TENANT = "bench-other";

  /** Dependency-free pure-Python distributions that make new locked set variants. */
  static final List<String> EXTRAS =
      List.of("six", "toml", "decorator", "appdirs", "pytz", "sniffio", "pyparsing", "idna");

  @Option(
      names = "--rounds",
      paramLabel = "N",
      defaultValue = "15",
      description = "App-only rebuilds timed per dependency set (after a warm-up). Default: 15")
  int rounds;

  @Option(
      names = "--warmup",
      paramLabel = "N",
      defaultValue = "10",
      description =
          "Untimed app-only rebuilds per dependency set before its timed rounds (the farm's JVMs"
              + " start cold). Default: 10")
  int warmup;

  @Option(
      names = "--concurrent",
      paramLabel = "N",
      defaultValue = "8",
      description = "Concurrent pushes in the 90%%-reuse throughput phase. Default: 8")
  int concurrent;

  @Option(
      names = "--mix-builds",
      paramLabel = "N",
      defaultValue = "60",
      description =
          "Builds in the 90%%-reuse phase (9 in 10 change app code, 1 in 10 a new locked set)."
              + " Default: 60")
  int mixBuilds;

  @Option(
      names = "--burst",
      paramLabel = "N",
      defaultValue = "50",
      description = "Simultaneous pushes of one new dependency set. Default: 50")
  int burst;

  @Option(
      names = "--worker-tasks",
      paramLabel = "N",
      description = "The worker process's --tasks. Default: the worker's own (two per core)")
  Integer workerTasks;

  @Option(
      names = "--images",
      paramLabel = "oci-layouts|tarballs",
      defaultValue = "oci-layouts",
      description =
          "Where the worker writes images: one OCI image layout per app (kiln up"
              + " --image-layouts) or a docker-load tarball per build. Default: ${DEFAULT-VALUE}")
  String images;

  @Option(
      names = "--sets",
      paramLabel = "ID,…",
      split = ",",
      defaultValue = "flask,django,fastapi,numpy",
      description =
          "Dependency sets: flask (flask+gunicorn), django (django+gunicorn+psycopg2-binary),"
              + " fastapi (fastapi+uvicorn), numpy (numpy+requests). Default: all four")
  List<String> sets;

  @Option(
      names = "--index",
      paramLabel = "URL|generated",
      description =
          "The PEP 503 index for Kiln and the baselines: an http(s):// or file:// URL, or"
              + " 'generated' for an index of synthetic stand-in wheels (the real names, versions"
              + " and dependencies, contents of about the real size) the bench writes into its"
              + " temporary directory. Default: the machine's wheel mirror file://"
              + LocalIndex.MIRROR
              + " when that directory exists, else generated")
  String index;

  @Option(
      names = "--home",
      paramLabel = "DIR",
      description = "The farm's home. Default: a temporary directory, deleted at the end")
  Path home;

  @Option(
      names = "--out",
      paramLabel = "FILE",
      defaultValue = "docs/benchmarks.md",
      description =
          "The markdown file: the report goes on top, replacing an earlier `kiln bench` report,"
              + " and the file's other sections stay below it. Default: ${DEFAULT-VALUE}")
  Path out;

  @Option(
      names = "--keep",
      description = "Keep the temporary directory (apps, logs, baselines, home) at the end")
  boolean keep;

  private final PrintStream err = System.err;

  /** Set by the shutdown hook (Ctrl-C, SIGTERM): the run was cut short, no report is written. */
  private volatile boolean stopping;

  private Report report;
  private BenchFarm farm;
  private GitApps apps;
  private LocalIndex localIndex;
  private Baselines baselines;
  private final Map<String, List<BuildRecord>> rebuilds = new LinkedHashMap<>();
  private final Map<String, List<Long>> rebuildClient = new LinkedHashMap<>();
  private final Map<String, List<Long>> heroku = new LinkedHashMap<>();
  private final Map<String, String> locked = new LinkedHashMap<>();
  private final Map<String, BuildRecord> lockedBuilds = new LinkedHashMap<>();
  private final List<Report.Target> targets = new ArrayList<>();

  /** Builds that failed in the concurrent phases (4, 5, 7), which go on without them. */
  private final List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());

  @Override
  public Integer call() throws Exception {
    validate();
    IndexChoice choice = indexChoice();
    String missing = Baselines.missingTools();
    if (!missing.isEmpty()) {
      throw new UserError("kiln bench needs " + missing + " on this machine", 2);
    }
    List<Path> toolWheels = List.of();
    if (choice.generated()) {
      toolWheels = GeneratedIndex.toolWheels();
      if (toolWheels.isEmpty()) {
        throw new UserError(
            "a generated index needs a real pip wheel (Kiln's build sandbox runs pip from the"
                + " index), and python3's ensurepip carries none here; install python3-venv or"
                + " pass --index URL",
            2);
      }
    }
    Path work = Files.createTempDirectory("kiln-bench-");
    Path farmHome = home != null ? home.toAbsolutePath() : work.resolve("home");
    Path logs = work.resolve("logs");
    farm = new BenchFarm(farmHome, logs, err);
    Thread hook =
        new Thread(
            () -> {
              stopping = true;
              farm.close();
              cleanUp(work);
            },
            "kiln-bench-stop");
    Runtime.getRuntime().addShutdownHook(hook);
    String indexUrl = choice.url();
    if (choice.generated()) {
      progress("generating the wheel index (%s)", String.join(", ", sets));
      long start = System.nanoTime();
      try {
        indexUrl =
            GeneratedIndex.write(work.resolve("generated-index"), sets, toolWheels)
                .toUri()
                .toString();
      } catch (IOException e) {
        throw new UserError(
            "cannot generate the wheel index in " + work + ": " + e.getMessage(), 1);
      }
      progress(
          "generated the wheel index in %d ms: %s",
          (System.nanoTime() - start) / 1_000_000, indexUrl);
    }

    String started =
        DateTimeFormatter.ISO_INSTANT.format(
            Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
    report =
        new Report(TITLE)
            .run("date", started)
            .run("machine", Machine.describe())
            .run("load average at start", Machine.loadAverage())
            .run("JDK", Machine.jdk())
            .run("index", choice.describe(indexUrl))
            .run(
                "run",
                String.format(
                    Locale.ROOT,
                    "sets %s; %d app-only rounds per set after %d untimed ones; %d simultaneous pushes;"
                        + " %d builds at %d concurrent pushes for the reuse mix; one worker process"
                        + " with --tasks %d (%s); images to %s; every process -Xmx512m",
                    String.join(", ", sets),
                    rounds,
                    warmup,
                    burst,
                    mixBuilds,
                    concurrent,
                    tasks(),
                    workerTasks == null ? "the worker's default" : "--worker-tasks",
                    images));
    if (choice.generated()) {
      report.note(
          "The index was generated: every wheel is a synthetic py3-none-any stand-in with the real"
              + " distribution's name, version and dependencies (so pip and Kiln resolve the same"
              + " sets as from the mirror) and about the real wheel's number and size of .py and"
              + " data files, but not its code (pip, which Kiln's build sandbox runs from the"
              + " index, is the real wheel python3's ensurepip carries). Kiln and the baselines"
              + " install the same files, so"
              + " the ratios compare like with like; absolute times are not those of the real"
              + " wheels (e.g. no compiled extensions, other bytecode to compile).");
    }
    int status = 0;
    TrashWatch trash = null;
    try {
      localIndex = new LocalIndex(indexUrl, work.resolve("downloads"));
      baselines = new Baselines(Files.createDirectories(work.resolve("baselines")), indexUrl);
      farm.start(indexUrl, workerTasks, images.equals("oci-layouts"));
      trash = new TrashWatch(farm.trashDirectories());
      apps = new GitApps(work.resolve("apps"), farm.coordinatorUrl(), farm.operatorToken());
      appOnlyRebuilds();
      newDependencySet();
      crossTenantReuse();
      burst();
      reuseMix();
      workerHeap();
    } catch (Exception e) {
      status = 1;
      String message = e instanceof BenchFailure ? e.getMessage() : e.toString();
      err.println("bench: stopped: " + message);
      report.note(
          "The run stopped early: "
              + message.lines().findFirst().orElse("")
              + " (the tables above hold what was measured until then)");
    } finally {
      if (trash != null) {
        deletes(trash);
      }
      farm.close();
      synchronized (failures) {
        for (String failure : failures) {
          report.note("Failed: " + failure);
        }
      }
      for (Report.Target target : targets) {
        report.target(target);
      }
      report.run("load average at end", Machine.loadAverage());
      if (!stopping) {
        writeReport();
      }
      if (keep || status != 0) {
        err.println("bench: apps, logs and baselines kept in " + work);
      }
      cleanUp(status != 0 ? null : work);
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the hook runs anyway
      }
    }
    return status;
  }

  /** How many tasks the worker runs at once. */
  private int tasks() {
    return workerTasks == null ? Farm.defaultTasksPerWorker(1) : workerTasks;
  }

  private void validate() {
    if (!images.equals("oci-layouts") && !images.equals("tarballs")) {
      throw new UserError("--images must be oci-layouts or tarballs, not '" + images + "'", 2);
    }
    if (warmup < 0) {
      throw new UserError("--warmup must be 0 or more, not " + warmup, 2);
    }
    for (var option :
        Map.of(
                "--rounds", rounds,
                "--concurrent", concurrent,
                "--worker-tasks", workerTasks == null ? 1 : workerTasks)
            .entrySet()) {
      if (option.getValue() < 1) {
        throw new UserError(option.getKey() + " must be at least 1, not " + option.getValue(), 2);
      }
    }
    if (burst < 2) {
      throw new UserError("--burst must be at least 2, not " + burst, 2);
    }
    if (mixBuilds < 10) {
      throw new UserError(
          "--mix-builds must be at least 10 (1 in 10 is a new set), not " + mixBuilds, 2);
    }
    for (String id : sets) {
      if (DependencySet.ALL.stream().noneMatch(s -> s.id().equals(id))) {
        throw new UserError(
            "--sets: unknown set '" + id + "'; the sets are flask, django, fastapi and numpy", 2);
      }
    }
    if (!sets.contains("flask")) {
      throw new UserError("--sets must include flask: the burst and reuse phases build on it", 2);
    }
  }

  /**
   * Where the wheels come from: {@code url} for the mirror and {@code --index URL}, null for a
   * generated index (written once the temporary directory exists).
   */
  record IndexChoice(String source, String url) {
    boolean generated() {
      return url == null;
    }

    /** The report's line: the URL and what it is. */
    String describe(String indexUrl) {
      return switch (source) {
        case "mirror" -> indexUrl + " (the machine's wheel mirror)";
        case "generated" ->
            indexUrl
                + " (generated: synthetic stand-in wheels with the real names, versions and"
                + " dependency graph; see the notes)";
        default -> indexUrl + " (--index)";
      };
    }
  }

  IndexChoice indexChoice() {
    return indexChoice(index, Files.isDirectory(Path.of(LocalIndex.MIRROR)));
  }

  static IndexChoice indexChoice(String index, boolean mirrorPresent) {
    if (index != null && !index.isBlank()) {
      if (index.equals(GeneratedIndex.OPTION)) {
        return new IndexChoice("generated", null);
      }
      if (!index.matches("(?i)(https?|file)://\\S+")) {
        throw new UserError(
            "--index '"
                + index
                + "' is not an http(s):// or file:// URL (or '"
                + GeneratedIndex.OPTION
                + "')",
            2);
      }
      return new IndexChoice("option", index.endsWith("/") ? index : index + "/");
    }
    if (mirrorPresent) {
      return new IndexChoice("mirror", "file://" + LocalIndex.MIRROR);
    }
    return new IndexChoice("generated", null);
  }

  // ---- 1. app-only rebuilds --------------------------------------------------------------

  private void appOnlyRebuilds() throws IOException {
    List<List<String>> rows = new ArrayList<>();
    List<List<String>> hops = new ArrayList<>();
    report.section(
        new Report.Section(
            "1. App-only rebuild",
            "Each round changes app.py, commits and `git push`es to the farm's git remote (the"
                + " push waits for the build); the rounds take the sets in turn, after untimed"
                + " warm-up pushes of every set. **Server** = the build record's `updatedAt −"
                + " createdAt` (push accepted → outcome published); **git push** = the client's"
                + " wall time. Baseline: a Heroku-style warm rebuild (a venv already holding the"
                + " set; `pip install -r requirements.txt`, all already satisfied; copy the app;"
                + " `tar czf` venv + app). Ratios = baseline p50 ÷ Kiln p50 (higher is better).",
            List.of(
                "set",
                "server p50",
                "server p99",
                "git push p50",
                "git push p99",
                "Heroku-style p50",
                "speed-up (server)",
                "speed-up (git push)"),
            rows));

    report.section(
        new Report.Section(
            "1b. Where an app-only rebuild's server time goes (means)",
            "From the build records' `steps[]`: each step's `durationMillis` as its worker"
                + " measured it; `waitedMillis` (task written → worker started) and"
                + " `reportedMillis` (worker finished → result taken) when the coordinator records"
                + " them; **rest** = server time − step durations − those hops (Kafka, the"
                + " coordinator, the action-cache lookup).",
            List.of(
                "set",
                "server",
                "DETECT",
                "INSTALL",
                "ASSEMBLE",
                "waited (Σ steps)",
                "reported (Σ steps)",
                "rest"),
            hops));

    for (String id : sets) {
      DependencySet set = DependencySet.byId(id);
      String app = id;
      progress("1. app-only rebuilds: %s: warm-up push (resolves and installs the set)", id);
      apps.commit(MAIN_TENANT, app, set.files(set.requirementsTxt(), "warm-up"), "warm-up");
      BuildRecord first = pushed(apps.push(MAIN_TENANT, app));
      locked.put(id, first.lockedRequirements());
      // The farm's JVMs are fresh: untimed app-only pushes let the JIT compile the build path
      // before any round is timed.
      for (int i = 1; i <= warmup; i++) {
        apps.commit(MAIN_TENANT, app, Map.of("app.py", set.appPy("warm-up " + i)), "warm-up " + i);
        pushed(apps.push(MAIN_TENANT, app));
      }
      rebuilds.put(id, new ArrayList<>());
      rebuildClient.put(id, new ArrayList<>());
    }
    // Rounds interleave the sets, so whatever the farm still warms up, or the machine does
    // meanwhile, falls on every set alike instead of on the one measured first.
    for (int i = 1; i <= rounds; i++) {
      for (String id : sets) {
        DependencySet set = DependencySet.byId(id);
        apps.commit(MAIN_TENANT, id, Map.of("app.py", set.appPy("round " + i)), "round " + i);
        GitApps.Push push = apps.push(MAIN_TENANT, id);
        BuildRecord build = pushed(push);
        rebuilds.get(id).add(build);
        rebuildClient.get(id).add(push.clientMillis());
        progress(
            "1. %s round %d/%d: server %d ms, git push %d ms",
            id, i, rounds, build.totalMillis(), push.clientMillis());
      }
    }
    for (String id : sets) {
      DependencySet set = DependencySet.byId(id);
      List<BuildRecord> builds = rebuilds.get(id);
      List<Long> client = rebuildClient.get(id);
      progress("1. %s: Heroku-style warm rebuilds (%d rounds)", id, rounds);
      heroku.put(id, baselines.herokuRebuilds(set, rounds));

      Stats.Summary server =
          Stats.summarize(builds.stream().map(BuildRecord::totalMillis).toList());
      Stats.Summary git = Stats.summarize(client);
      Stats.Summary base = Stats.summarize(heroku.get(id));
      rows.add(
          List.of(
              id,
              Stats.millis(server.p50()),
              Stats.millis(server.p99()),
              Stats.millis(git.p50()),
              Stats.millis(git.p99()),
              Stats.millis(base.p50()),
              Stats.times(Stats.ratio(base.p50(), server.p50())),
              Stats.times(Stats.ratio(base.p50(), git.p50()))));
      hops.add(hopRow(id, builds));
    }
    List<String> p50s = new ArrayList<>();
    List<String> p99s = new ArrayList<>();
    List<String> speedups = new ArrayList<>();
    boolean p50ok = true;
    boolean p99ok = true;
    boolean fast = true;
    for (String id : rebuilds.keySet()) {
      Stats.Summary server =
          Stats.summarize(rebuilds.get(id).stream().map(BuildRecord::totalMillis).toList());
      double speedup = Stats.ratio(Stats.summarize(heroku.get(id)).p50(), server.p50());
      p50s.add(id + " " + Stats.millis(server.p50()));
      p99s.add(id + " " + Stats.millis(server.p99()));
      speedups.add(id + " " + Stats.times(speedup));
      p50ok &= server.p50() <= 300;
      p99ok &= server.p99() <= 1000;
      fast &= speedup >= 5;
    }
    targets.add(
        new Report.Target(
            "app-only rebuild p50, server side", "≤ 300 ms", String.join(", ", p50s), p50ok));
    targets.add(
        new Report.Target(
            "app-only rebuild p99, server side", "≤ 1 s", String.join(", ", p99s), p99ok));
    targets.add(
        new Report.Target(
            "app-only rebuild vs Heroku-style warm rebuild (p50)",
            "≥ 5× faster",
            String.join(", ", speedups),
            fast));
  }

  static List<String> hopRow(String id, List<BuildRecord> builds) {
    List<Long> totals = new ArrayList<>();
    Map<String, List<Long>> steps = new LinkedHashMap<>();
    List<Long> waited = new ArrayList<>();
    List<Long> reported = new ArrayList<>();
    List<Long> rest = new ArrayList<>();
    boolean hops = false;
    for (BuildRecord build : builds) {
      totals.add(build.totalMillis());
      long inSteps = 0;
      long w = 0;
      long r = 0;
      for (BuildRecord.Step step : build.steps()) {
        steps.computeIfAbsent(step.kind(), k -> new ArrayList<>()).add(step.durationMillis());
        inSteps += step.durationMillis();
        if (step.waitedMillis() != null) {
          w += step.waitedMillis();
          hops = true;
        }
        if (step.reportedMillis() != null) {
          r += step.reportedMillis();
          hops = true;
        }
      }
      waited.add(w);
      reported.add(r);
      rest.add(build.totalMillis() - inSteps - w - r);
    }
    List<String> row = new ArrayList<>();
    row.add(id);
    row.add(Stats.millis(Stats.summarize(totals).mean()));
    for (String kind : List.of("DETECT", "INSTALL", "ASSEMBLE")) {
      List<Long> values = steps.get(kind);
      row.add(values == null ? "—" : Stats.millis(Stats.summarize(values).mean()));
    }
    row.add(hops ? Stats.millis(Stats.summarize(waited).mean()) : "not recorded");
    row.add(hops ? Stats.millis(Stats.summarize(reported).mean()) : "not recorded");
    row.add(Stats.millis(Stats.summarize(rest).mean()));
    return row;
  }

  // ---- 2. a new (locked) dependency set with every wheel in the store ----------------------

  private void newDependencySet() throws IOException {
    List<List<String>> rows = new ArrayList<>();
    List<String> floorRatios = new ArrayList<>();
    report.section(
        new Report.Section(
            "2. New dependency set, every wheel already in the store",
            "A second app pushes the set *locked* (`name==version --hash=sha256:…` for every"
                + " distribution the first build resolved), which Kiln installs without pip; the"
                + " wheels are in the store from phase 1 (and Kiln keeps each wheel unpacked once, as a"
                + " shared fragment, so this INSTALL assembles fragments). **INSTALL** = that step's"
                + " `durationMillis`, **build** = the whole build (server side). Baselines (median"
                + " of 3 after a warm-up run): `pip install --target DIR -r locked.txt`, and the"
                + " floor: unzip each wheel of the set into one directory, `tar cf` it.",
            List.of(
                "set",
                "distributions",
                "Kiln INSTALL",
                "Kiln build",
                "pip --target",
                "floor (unzip + tar)",
                "INSTALL ÷ floor",
                "INSTALL ÷ pip --target",
                "build ÷ floor"),
            rows));

    boolean floorOk = true;
    for (String id : sets) {
      DependencySet set = DependencySet.byId(id);
      String app = id + "-locked";
      progress("2. new dependency set: %s: push of the locked set (wheels already stored)", id);
      apps.commit(MAIN_TENANT, app, set.files(locked.get(id), "locked"), "locked set");
      BuildRecord build = pushed(apps.push(MAIN_TENANT, app));
      lockedBuilds.put(id, build);
      long install = build.step("INSTALL").map(BuildRecord.Step::durationMillis).orElse(-1L);
      List<java.nio.file.Path> wheels = new ArrayList<>();
      for (BuildRecord.Resolved r : build.resolved()) {
        wheels.add(localIndex.wheel(r.name(), r.filename()));
      }
      progress("2. %s: baselines (pip install --target, unzip + tar)", id);
      double pip = Stats.summarize(baselines.pipTarget(id, locked.get(id), 3)).p50();
      double floor = Stats.summarize(baselines.floor(id, wheels, 3)).p50();
      double ratio = Stats.ratio(install, floor);
      rows.add(
          List.of(
              id,
              String.valueOf(build.resolved().size()),
              build.installRan() ? Stats.millis(install) : "skipped (action cache)",
              Stats.millis(build.totalMillis()),
              Stats.millis(pip),
              Stats.millis(floor),
              Stats.times(ratio),
              Stats.times(Stats.ratio(install, pip)),
              Stats.times(Stats.ratio(build.totalMillis(), floor))));
      floorRatios.add(id + " " + Stats.times(ratio));
      floorOk &= build.installRan() && ratio <= 1.5;
    }
    targets.add(
        new Report.Target(
            "new dependency set (INSTALL step)",
            "≤ 1.5× the floor",
            String.join(", ", floorRatios),
            floorOk));
  }

  // ---- 3. the same locked set in another tenant --------------------------------------------

  private void crossTenantReuse() throws IOException {
    List<List<String>> rows = new ArrayList<>();
    report.section(
        new Report.Section(
            "3. Cross-app reuse (another tenant, same locked set)",
            "An app in another tenant pushes the same locked requirements as phase 2: its INSTALL"
                + " should be answered by the action cache. Baseline: phase 2's build of the set,"
                + " which installed it.",
            List.of(
                "set",
                "build",
                "INSTALL skipped?",
                "phase-2 build (installed)",
                "build ÷ phase-2 build"),
            rows));

    for (String id : sets) {
      DependencySet set = DependencySet.byId(id);
      progress("3. cross-tenant reuse: %s", id);
      apps.commit(OTHER_TENANT, id + "-reuse", set.files(locked.get(id), "reuse"), "same set");
      BuildRecord build = pushed(apps.push(OTHER_TENANT, id + "-reuse"));
      BuildRecord installed = lockedBuilds.get(id);
      rows.add(
          List.of(
              id,
              Stats.millis(build.totalMillis()),
              build.installRan() ? "no (INSTALL ran)" : "yes",
              Stats.millis(installed.totalMillis()),
              Stats.times(Stats.ratio(build.totalMillis(), installed.totalMillis()))));
    }
  }

  // ---- 4. simultaneous pushes of one new set ----------------------------------------------

  private void burst() throws Exception {
    String extra = EXTRAS.get(0);
    String requirements = locked.get("flask") + lockLine(extra);
    DependencySet set = DependencySet.byId("flask");
    int tenants = (burst + 3) / 4; // a tenant runs at most 4 builds at once
    progress(
        "4. %d simultaneous pushes of flask + %s (locked) over %d tenants", burst, extra, tenants);
    List<String[]> targetsOfPush = new ArrayList<>();
    for (int i = 0; i < burst; i++) {
      String tenant = "burst-" + (i % tenants);
      String app = "burst-" + i;
      apps.commit(tenant, app, set.files(requirements, "burst " + i), "burst");
      targetsOfPush.add(new String[] {tenant, app});
    }
    long start = System.nanoTime();
    List<GitApps.Push> pushes = parallel(burst, targetsOfPush, t -> apps.push(t[0], t[1], true));
    long wall = (System.nanoTime() - start) / 1_000_000;
    int installs = 0;
    int installTasks = 0;
    int failed = 0;
    List<Long> totals = new ArrayList<>();
    for (GitApps.Push push : pushes) {
      BuildRecord build = finished("4. burst", push);
      installTasks += build.installRan() ? 1 : 0;
      installs += build.installRan() && !build.layerReused() ? 1 : 0;
      if (build.succeeded()) {
        totals.add(build.totalMillis());
      } else {
        failed++;
      }
    }
    Stats.Summary s = Stats.summarize(totals);
    report.section(
        new Report.Section(
            "4. " + burst + " simultaneous pushes of one new dependency set",
            "flask + gunicorn + "
                + extra
                + ", locked, pushed at once from "
                + burst
                + " apps over "
                + tenants
                + " tenants (`git push` in parallel). Counts the builds whose INSTALL step"
                + " installed the layer (a worker ran INSTALL and its result is not `reused`),"
                + " and, apart, the INSTALL tasks a worker ran at all (those that found the layer"
                + " in the action cache by then included); failed builds included; build times"
                + " are of the builds that succeeded. Baseline: the expected count, 1.",
            List.of(
                "pushes",
                "failed builds",
                "layer installed in",
                "vs expected (1)",
                "INSTALL tasks run",
                "wall time, first push → last image",
                "build p50",
                "build p99"),
            List.of(
                List.of(
                    String.valueOf(burst),
                    String.valueOf(failed),
                    installs + " builds",
                    Stats.times(installs),
                    String.valueOf(installTasks),
                    Stats.millis(wall),
                    Stats.millis(s.p50()),
                    Stats.millis(s.p99())))));
    targets.add(
        new Report.Target(
            burst + " simultaneous pushes of one new set",
            "exactly 1 install",
            installs + " installs",
            installs == 1));
  }

  // ---- 5 + 6. builds per minute at 90 % reuse, CPU per build --------------------------------

  private void reuseMix() throws Exception {
    DependencySet set = DependencySet.byId("flask");
    String base = locked.get("flask");
    List<String> variantExtras = EXTRAS.subList(1, EXTRAS.size());
    progress("5. reuse mix: warming %d apps", concurrent);
    List<String[]> mine = new ArrayList<>();
    for (int t = 0; t < concurrent; t++) {
      String tenant = "mix-" + (t / 2);
      apps.commit(tenant, "mix-" + t, set.files(base, "warm-up"), "warm-up");
      mine.add(new String[] {tenant, "mix-" + t});
    }
    parallel(concurrent, mine, t -> pushed(apps.push(t[0], t[1])));

    List<Integer> jobs = new ArrayList<>();
    for (int j = 0; j < mixBuilds; j++) {
      jobs.add(j);
    }
    AtomicInteger variants = new AtomicInteger();
    AtomicInteger next = new AtomicInteger();
    progress("5. reuse mix: %d builds at %d concurrent pushes", mixBuilds, concurrent);
    double coordinatorBefore = ProcessStats.cpuMillis(farm.coordinatorPid());
    double workerBefore = ProcessStats.cpuMillis(farm.workerPid());
    long start = System.nanoTime();
    List<Integer> threads = new ArrayList<>();
    for (int t = 0; t < concurrent; t++) {
      threads.add(t);
    }
    List<List<BuildRecord>> perThread =
        parallel(
            concurrent,
            threads,
            t -> {
              List<BuildRecord> done = new ArrayList<>();
              String tenant = mine.get(t)[0];
              String app = mine.get(t)[1];
              int job;
              while ((job = next.getAndIncrement()) < mixBuilds) {
                if (job % 10 == 9) {
                  int k = variants.getAndIncrement();
                  String variantApp = "variant-" + k;
                  apps.commit(
                      tenant,
                      variantApp,
                      set.files(base + variantLines(variantExtras, k + 1), "variant " + k),
                      "variant");
                  done.add(finished("5. reuse mix", apps.push(tenant, variantApp, true)));
                } else {
                  apps.commit(tenant, app, Map.of("app.py", set.appPy("mix " + job)), "mix");
                  done.add(finished("5. reuse mix", apps.push(tenant, app, true)));
                }
              }
              return done;
            });
    double minutes = (System.nanoTime() - start) / 60e9;
    double coordinatorCpu = ProcessStats.cpuMillis(farm.coordinatorPid()) - coordinatorBefore;
    double workerCpu = ProcessStats.cpuMillis(farm.workerPid()) - workerBefore;
    int all = perThread.stream().mapToInt(List::size).sum();
    int builds =
        (int) perThread.stream().flatMap(List::stream).filter(BuildRecord::succeeded).count();
    long installs =
        perThread.stream().flatMap(List::stream).filter(BuildRecord::installRan).count();
    double perMinute = builds / minutes;
    double herokuPerMinute = 60_000 / Stats.summarize(heroku.get("flask")).mean();
    report.section(
        new Report.Section(
            "5. Builds per minute at 90 % reuse",
            concurrent
                + " pushes at a time over "
                + builds
                + " builds of flask apps: 9 in 10 change only app.py, 1 in 10 is a new app with a"
                + " new locked set variant (the flask set plus other small distributions), first"
                + " push → last image. Baseline: Heroku-style warm rebuilds per minute, one after"
                + " another (60 s ÷ the mean round of phase 1's flask set).",
            List.of(
                "builds",
                "failed",
                "INSTALL ran",
                "wall time",
                "builds/min",
                "Heroku-style/min",
                "ratio"),
            List.of(
                List.of(
                    String.valueOf(builds),
                    String.valueOf(all - builds),
                    String.valueOf(installs),
                    Stats.millis(minutes * 60_000),
                    Stats.number(perMinute),
                    Stats.number(herokuPerMinute),
                    Stats.times(Stats.ratio(perMinute, herokuPerMinute))))));
    targets.add(
        new Report.Target(
            "builds per minute at 90 % reuse",
            "≥ 120",
            Stats.number(perMinute) + " (" + concurrent + " concurrent pushes)",
            perMinute >= 120));
    report.section(
        new Report.Section(
            "6. Coordinator CPU per build",
            "CPU time (utime + stime from /proc/<pid>/stat, clock ticks → ms) the coordinator and"
                + " the worker process used over phase 5, divided by its builds (the coordinator"
                + " also serves the git remote, so its figure includes receiving the pushes)."
                + " Baseline: the worker's CPU per build.",
            List.of("coordinator CPU/build", "worker CPU/build", "coordinator ÷ worker"),
            List.of(
                List.of(
                    Stats.millis(coordinatorCpu / builds),
                    Stats.millis(workerCpu / builds),
                    Stats.times(Stats.ratio(coordinatorCpu, workerCpu))))));
  }

  /** Lines for variant {@code k ≥ 1}: the extras whose bits are set in k (each k is distinct). */
  private String variantLines(List<String> extras, int k) {
    StringBuilder lines = new StringBuilder();
    for (int bit = 0; bit < extras.size(); bit++) {
      if ((k & (1 << bit)) != 0) {
        lines.append(lockLine(extras.get(bit)));
      }
    }
    return lines.toString();
  }

  private String lockLine(String project) {
    IndexPage.FileLink wheel =
        localIndex
            .page(project)
            .latestPureWheel()
            .orElseThrow(
                () -> new BenchFailure("the index has no pure-Python wheel of " + project));
    return project + "==" + wheel.wheelVersion() + " --hash=sha256:" + wheel.sha256() + "\n";
  }

  // ---- 7. worker heap --------------------------------------------------------------------

  private void workerHeap() throws Exception {
    int n = 8;
    DependencySet set = DependencySet.byId("flask");
    List<String[]> heapApps = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String tenant = "heap-" + (i / 4);
      apps.commit(tenant, "heap-" + i, set.files(locked.get("flask"), "warm-up"), "warm-up");
      heapApps.add(new String[] {tenant, "heap-" + i});
    }
    progress("7. worker heap: warming %d apps", n);
    parallel(n, heapApps, t -> pushed(apps.push(t[0], t[1])));
    BenchFarm.sleep(2000);
    long idle;
    try (ProcessStats.HeapSampler sampler = new ProcessStats.HeapSampler(farm.workerPid(), 200)) {
      BenchFarm.sleep(3000);
      idle = sampler.peakKib();
    }
    for (int i = 0; i < n; i++) {
      apps.commit(
          heapApps.get(i)[0], heapApps.get(i)[1], Map.of("app.py", set.appPy("heap")), "heap");
    }
    progress("7. worker heap: %d concurrent app-only pushes", n);
    long busy;
    long samples;
    try (ProcessStats.HeapSampler sampler = new ProcessStats.HeapSampler(farm.workerPid(), 200)) {
      parallel(n, heapApps, t -> finished("7. heap", apps.push(t[0], t[1], true)));
      busy = sampler.peakKib();
      samples = sampler.samples();
    }
    report.section(
        new Report.Section(
            "7. Worker heap at " + n + " concurrent builds",
            "Used heap of the worker process (S0U + S1U + EU + OU from `jstat -gc`, every 200 ms):"
                + " the peak while "
                + n
                + " app-only pushes run at once (the worker runs "
                + tasks()
                + " of their tasks at a time), against the peak over 3 s of the idle worker.",
            List.of("idle worker", "peak during " + n + " builds", "samples", "ratio"),
            List.of(
                List.of(
                    mib(idle),
                    mib(busy),
                    String.valueOf(samples),
                    Stats.times(Stats.ratio(busy, idle))))));
  }

  private static String mib(long kib) {
    return kib < 0 ? "n/a" : String.format(Locale.ROOT, "%.0f MiB", kib / 1024.0);
  }

  // ---- 8. background deletes -------------------------------------------------------------

  private void deletes(TrashWatch trash) {
    int moved = trash.close();
    boolean warned = false;
    try {
      warned = Files.readString(farm.workerLog()).contains("could not delete");
    } catch (IOException e) {
      // no log
    }
    report.section(
        new Report.Section(
            "8. Large deletes during the run",
            "The worker never deletes a tree on the build path: BackgroundDeleter moves it into"
                + " the worker's `trash` directory and deletes it on a low-priority thread. The"
                + " bench watches that directory (inotify) for trees moved in.",
            List.of("deletes ran?", "trees moved to the trash", "delete failures logged"),
            List.of(
                List.of(
                    trash.watched() ? (moved > 0 ? "yes" : "no") : "unknown (no trash directory)",
                    String.valueOf(moved),
                    warned ? "yes" : "no"))));
  }

  /** Counts entries created in the worker's trash directories. */
  private static final class TrashWatch {
    private final WatchService watch;
    private final Thread thread;
    private final AtomicInteger created = new AtomicInteger();
    private final boolean watched;

    TrashWatch(List<Path> dirs) throws IOException {
      watch = FileSystems.getDefault().newWatchService();
      for (Path dir : dirs) {
        dir.register(watch, StandardWatchEventKinds.ENTRY_CREATE);
      }
      watched = !dirs.isEmpty();
      thread =
          new Thread(
              () -> {
                try {
                  while (true) {
                    WatchKey key = watch.take();
                    key.pollEvents()
                        .forEach(
                            e -> {
                              if (e.kind() == StandardWatchEventKinds.ENTRY_CREATE) {
                                created.incrementAndGet();
                              }
                            });
                    key.reset();
                  }
                } catch (InterruptedException | ClosedWatchServiceException e) {
                  // closed
                }
              },
              "bench-trash-watch");
      thread.setDaemon(true);
      thread.start();
    }

    boolean watched() {
      return watched;
    }

    int close() {
      try {
        watch.close();
        thread.join(2000);
      } catch (IOException | InterruptedException e) {
        // counted so far
      }
      return created.get();
    }
  }

  // ---- helpers ---------------------------------------------------------------------------

  /** The push's build record, also when the build failed (noted for the report). */
  private BuildRecord finished(String phase, GitApps.Push push) {
    BuildRecord build = farm.build(push.buildId());
    if (!build.succeeded()) {
      farm.checkAlive();
      failures.add(
          phase
              + ": build "
              + build.buildId()
              + " of "
              + push.tenant()
              + "/"
              + push.app()
              + " "
              + build.state()
              + (build.failureCode() == null ? "" : " [" + build.failureCode() + "]")
              + (build.failureMessage() == null ? "" : ": " + build.failureMessage()));
      progress(
          "%s: build %s of %s/%s %s",
          phase, build.buildId(), push.tenant(), push.app(), build.state());
    }
    return build;
  }

  private BuildRecord pushed(GitApps.Push push) {
    BuildRecord build = farm.build(push.buildId());
    if (!build.succeeded()) {
      farm.checkAlive();
      throw new BenchFailure(
          "build "
              + push.buildId()
              + " of "
              + push.tenant()
              + "/"
              + push.app()
              + " is "
              + build.state());
    }
    return build;
  }

  interface Job<T, R> {
    R run(T input) throws Exception;
  }

  /** Runs {@code job} on every input with {@code threads} threads; results in input order. */
  static <T, R> List<R> parallel(int threads, List<T> inputs, Job<T, R> job) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads));
    try {
      List<Future<R>> futures = new ArrayList<>();
      for (T input : inputs) {
        futures.add(pool.submit(() -> job.run(input)));
      }
      List<R> results = new ArrayList<>();
      for (Future<R> future : futures) {
        try {
          results.add(future.get());
        } catch (ExecutionException e) {
          if (e.getCause() instanceof Exception cause) {
            throw cause;
          }
          throw e;
        }
      }
      return results;
    } finally {
      pool.shutdownNow();
    }
  }

  private void progress(String format, Object... args) {
    err.println("bench: " + String.format(Locale.ROOT, format, args));
    err.flush();
  }

  private void writeReport() {
    try {
      Path file = out.toAbsolutePath();
      String existing = Files.isRegularFile(file) ? Files.readString(file) : null;
      if (file.getParent() != null) {
        Files.createDirectories(file.getParent());
      }
      // Written next to the file and renamed over it: the file is never left half-written.
      Path partial = file.resolveSibling("." + file.getFileName() + ".kiln-bench.tmp");
      Files.writeString(
          partial, Report.mergeInto(existing, report.markdown(), TITLE), StandardCharsets.UTF_8);
      Files.move(
          partial,
          file,
          java.nio.file.StandardCopyOption.REPLACE_EXISTING,
          java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      err.println("bench: report written to " + file);
    } catch (IOException e) {
      err.println("bench: cannot write " + out + ": " + e.getMessage());
      err.println(report.markdown());
    }
  }

  private void cleanUp(Path work) {
    if (work == null || keep || !Files.isDirectory(work)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(work)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException | RuntimeException e) {
      // best effort: it is a temporary directory
    }
  }
}
