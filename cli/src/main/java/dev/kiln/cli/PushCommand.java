package dev.kiln.cli;

import dev.kiln.events.BuildLogLine;
import dev.kiln.events.EventCodec;
import dev.kiln.events.PushEvent;
import dev.kiln.events.Topics;
import dev.kiln.messaging.BuildWatch;
import dev.kiln.messaging.KafkaClientSettings;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    mixinStandardHelpOptions = true,
    name = "push",
    description = {
      "Publish a push of a commit to a running farm, follow its build log and print the image.",
      "A plain directory is committed to a local repository under <home>/repos first.",
      "Exit status: 0 image ready, 1 build failed or timed out, 2 usage error."
    })
public final class PushCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(
      paramLabel = "DIR|GIT-URL",
      description = "The app's directory, or its git repository URL.")
  String source;

  @Option(
      names = "--tenant",
      defaultValue = "${env:KILN_TENANT:-local}",
      description = "Tenant. Env: KILN_TENANT. Default: ${DEFAULT-VALUE}")
  String tenant;

  @Option(names = "--app", description = "App name. Default: the directory or repository name.")
  String app;

  @Option(names = "--ref", description = "Branch, tag or commit to build. Default: HEAD.")
  String ref;

  @Mixin CoordinatorConnection connection;

  @Option(
      names = "--kafka",
      paramLabel = "HOST:PORT",
      defaultValue = "${env:KILN_KAFKA}",
      description =
          "Kafka to follow the build on. Env: KILN_KAFKA. Default: from <home>/farm.json.")
  String kafka;

  @Option(
      names = "--kafka-properties",
      paramLabel = "FILE",
      defaultValue = "${env:KILN_KAFKA_PROPERTIES}",
      description =
          "Kafka client settings (security.protocol, sasl.*, ssl.*) to follow the build with;"
              + " KILN_KAFKA_<NAME> variables override single settings. See docs/operations.md."
              + " Env: KILN_KAFKA_PROPERTIES.")
  Path kafkaProperties;

  @Option(
      names = "--timeout",
      defaultValue = "PT15M",
      description = "How long to wait for the build (ISO-8601 duration). Default: 15 minutes.")
  Duration timeout;

  @Option(
      names = "--env",
      paramLabel = "K=V",
      description =
          "Build-time environment variable (repeatable); it reaches the build steps, not the image. Scoped variables go in the app spec's envs.")
  Map<String, String> buildEnv = Map.of();

  @Option(
      names = "--app-spec",
      paramLabel = "FILE",
      description =
          "An App Platform app spec (YAML) sent with the push: source_dir, build_command, run_command and envs with their scope (RUN_TIME, BUILD_TIME, RUN_AND_BUILD_TIME).")
  Path appSpecFile;

  @Option(
      names = "--component",
      paramLabel = "NAME",
      description = "The app spec component to build. Default: the first service or worker.")
  String component;

  @Option(
      names = "--ci",
      description =
          "A CI build: install the test dependencies too (requirements-test.txt, Pipenv's"
              + " develop, Poetry's non-optional groups, uv's default groups). The image is"
              + " tagged ci-<commit> and deployers skip it. With git: git push -o ci.")
  boolean ci;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    FarmEndpoints farm =
        connection.coordinator != null && kafka != null
            ? new FarmEndpoints(
                kafka,
                connection.coordinator,
                null,
                System.getenv().getOrDefault("KILN_TOPIC_PREFIX", ""))
            : FarmEndpoints.read(connection.home());
    dev.kiln.events.AppSpec appSpec;
    try {
      appSpec = AppSpecFiles.toEvent(AppSpecFiles.read(appSpecFile, component));
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage());
    }
    KafkaClientSettings kafkaClient =
        FarmOptions.kafkaClientSettings(kafkaProperties, System.getenv());
    Result result =
        push(
            farm,
            kafkaClient,
            connection.home(),
            source,
            tenant,
            app,
            ref,
            appSpec,
            buildEnv,
            timeout,
            out,
            FarmSecrets.clientToken(connection.token, connection.home()),
            ci);
    return result.exitCode();
  }

  /** What a push ended with; shared with {@code kiln demo}. */
  record Result(int exitCode, BuildWatch.Outcome outcome) {}

  static Result push(
      FarmEndpoints farm,
      Path home,
      String source,
      String tenant,
      String app,
      String ref,
      dev.kiln.events.AppSpec appSpec,
      Map<String, String> buildEnv,
      Duration timeout,
      PrintWriter out) {
    return push(
        farm,
        KafkaClientSettings.none(),
        home,
        source,
        tenant,
        app,
        ref,
        appSpec,
        buildEnv,
        timeout,
        out,
        FarmSecrets.clientToken(null, home));
  }

  /** A push with the operator's token, followed on Kafka with the operator's client settings. */
  static Result push(
      FarmEndpoints farm,
      KafkaClientSettings kafkaClient,
      Path home,
      String source,
      String tenant,
      String app,
      String ref,
      dev.kiln.events.AppSpec appSpec,
      Map<String, String> buildEnv,
      Duration timeout,
      PrintWriter out) {
    return push(
        farm,
        kafkaClient,
        home,
        source,
        tenant,
        app,
        ref,
        appSpec,
        buildEnv,
        timeout,
        out,
        FarmSecrets.clientToken(null, home));
  }

  /** A push sent with {@code token}. */
  static Result push(
      FarmEndpoints farm,
      Path home,
      String source,
      String tenant,
      String app,
      String ref,
      dev.kiln.events.AppSpec appSpec,
      Map<String, String> buildEnv,
      Duration timeout,
      PrintWriter out,
      String token) {
    return push(
        farm,
        KafkaClientSettings.none(),
        home,
        source,
        tenant,
        app,
        ref,
        appSpec,
        buildEnv,
        timeout,
        out,
        token);
  }

  /** A push sent with {@code token}, followed on Kafka with {@code kafkaClient}. */
  static Result push(
      FarmEndpoints farm,
      KafkaClientSettings kafkaClient,
      Path home,
      String source,
      String tenant,
      String app,
      String ref,
      dev.kiln.events.AppSpec appSpec,
      Map<String, String> buildEnv,
      Duration timeout,
      PrintWriter out,
      String token) {
    return push(
        farm,
        kafkaClient,
        home,
        source,
        tenant,
        app,
        ref,
        appSpec,
        buildEnv,
        timeout,
        out,
        token,
        false);
  }

  /**
   * A push sent with {@code token}, followed on Kafka with {@code kafkaClient}.
   *
   * @param ci a CI build (test dependencies included, an image tagged {@code ci-…})
   */
  static Result push(
      FarmEndpoints farm,
      KafkaClientSettings kafkaClient,
      Path home,
      String source,
      String tenant,
      String app,
      String ref,
      dev.kiln.events.AppSpec appSpec,
      Map<String, String> buildEnv,
      Duration timeout,
      PrintWriter out,
      String token,
      boolean ci) {
    String appName = app != null ? app : defaultAppName(source);
    SourceRepository.Resolved resolved =
        SourceRepository.resolve(source, ref, home.resolve("repos"), tenant, appName, out::println);
    PushEvent push =
        new PushEvent(
            tenant,
            appName,
            resolved.repoUrl(),
            resolved.ref(),
            resolved.commit(),
            appSpec,
            buildEnv,
            Instant.now(),
            ci);
    try {
      push.validate();
    } catch (dev.kiln.events.InvalidEventException e) {
      throw new UserError(
          "cannot push: " + e.getMessage() + " (use --tenant / --app to set valid names)");
    }
    CoordinatorClient.Accepted accepted =
        new CoordinatorClient(farm.coordinatorUrl(), token).push(push);
    out.printf(
        "-----> Pushed %s/%s@%s%s: build %s (%s)%n",
        tenant,
        appName,
        resolved.commit().substring(0, 12),
        ci ? " for a CI build" : "",
        accepted.buildId(),
        accepted.status());
    out.flush();
    Topics topics = farm.topics();
    var outcome =
        BuildFollower.follow(
            farm.kafka(),
            kafkaClient,
            topics,
            accepted.buildId(),
            tenant,
            appName,
            timeout,
            line -> {
              out.println(render(line));
              out.flush();
            });
    if (outcome.isEmpty()) {
      out.printf(
          "Error: build %s did not finish within %s; see `kiln status` for where it is.%n",
          accepted.buildId(), timeout);
      return new Result(1, null);
    }
    if (outcome.get().succeeded()) {
      var ready = outcome.get().imageReady();
      out.println("-----> Image ready");
      out.println("       Image:  " + ready.image());
      out.println("       Digest: " + ready.digest());
      out.flush();
      return new Result(0, outcome.get());
    }
    var cancelled = outcome.get().buildCancelled();
    if (cancelled != null) {
      out.println("-----> Build cancelled: build " + cancelled.supersededBy() + " supersedes it");
      out.println("       " + cancelled.message());
      out.flush();
      return new Result(1, outcome.get());
    }
    var failed = outcome.get().buildFailed();
    out.println(
        "-----> Build failed at "
            + (failed.stage() == null ? "?" : failed.stage().name().toLowerCase(Locale.ROOT))
            + ": "
            + failed.code()
            + " (why is above)");
    out.flush();
    return new Result(1, outcome.get());
  }

  static String render(BuildLogLine line) {
    return line.text();
  }

  static String defaultAppName(String source) {
    String base = source.replaceAll("[/\\\\]+$", "");
    base = base.substring(base.lastIndexOf('/') + 1).replaceAll("\\.git$", "");
    if (base.isEmpty() || base.equals(".")) {
      base = Path.of("").toAbsolutePath().getFileName().toString();
    }
    String name =
        base.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]+", "-").replaceAll("^-+|-+$", "");
    return name.isEmpty() ? "app" : name.length() > 63 ? name.substring(0, 63) : name;
  }

  static String structuredJson(BuildWatch.Outcome outcome) {
    return EventCodec.toStructuredJson(outcome.event());
  }
}
