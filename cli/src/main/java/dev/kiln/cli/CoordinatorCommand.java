package dev.kiln.cli;

import dev.kiln.coordinator.CoordinatorConfig;
import dev.kiln.coordinator.CoordinatorVerticle;
import dev.kiln.coordinator.GitRemoteConfig;
import dev.kiln.events.Topics;
import dev.kiln.messaging.KafkaTopicsAdmin;
import io.vertx.core.Vertx;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The coordinator alone, in its own process: it creates the farm's topics when they are missing,
 * then drives builds and serves the HTTP API on {@code --http-port}, as in {@code kiln up}.
 */
@Command(
    mixinStandardHelpOptions = true,
    name = "coordinator",
    description = {
      "Run only the coordinator: creates the farm's topics if missing, drives every build and",
      "serves the HTTP API (pushes, builds, tenants) on --http-port. Needs --kafka, --cache-url and",
      "the farm's secrets (KILN_OPERATOR_TOKEN, KILN_FARM_TOKEN, KILN_SECRET_KEY, or",
      "<home>/secrets). Stops on Ctrl-C."
    })
public final class CoordinatorCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin FarmOptions options;

  @Option(
      names = "--listen",
      paramLabel = "ADDRESS",
      defaultValue = "${env:KILN_LISTEN:-127.0.0.1}",
      description =
          "The address to listen on (0.0.0.0 in a container). Env: KILN_LISTEN. Default: ${DEFAULT-VALUE}")
  String listen;

  @Option(
      names = "--cache-url",
      paramLabel = "URL",
      defaultValue = "${env:KILN_CACHE_URL}",
      description =
          "The farm's cache-service (`kiln cache-service` prints it), for action-cache lookups."
              + " Env: KILN_CACHE_URL.")
  String cacheUrl;

  @Option(
      names = "--instance-id",
      paramLabel = "ID",
      defaultValue = "${env:KILN_INSTANCE_ID}",
      description =
          "This coordinator's name in client ids and logs, and its Kafka transactional id"
              + " (kiln-coordinator-ID): unique per replica and the same after a restart. Env:"
              + " KILN_INSTANCE_ID. Default: the host name.")
  String instanceId;

  @Option(
      names = "--task-lease",
      paramLabel = "DURATION",
      defaultValue = "${env:KILN_TASK_LEASE:-PT60S}",
      description =
          "How long a task may go without a heartbeat from its worker before it is issued again"
              + " with the next attempt, ISO-8601 (workers renew every third of it). Env:"
              + " KILN_TASK_LEASE. Default: ${DEFAULT-VALUE}")
  Duration taskLease;

  @Option(
      names = "--max-task-attempts",
      paramLabel = "N",
      defaultValue = "${env:KILN_MAX_TASK_ATTEMPTS:-3}",
      description =
          "How often one step is issued before its build fails worker::lost. Env:"
              + " KILN_MAX_TASK_ATTEMPTS. Default: ${DEFAULT-VALUE}")
  int maxTaskAttempts;

  @Option(
      names = "--git-push-timeout",
      paramLabel = "DURATION",
      defaultValue = "${env:KILN_GIT_PUSH_TIMEOUT:-PT30M}",
      description =
          "How long a git push to the farm's git remote waits for its build, ISO-8601; the build"
              + " carries on after it, the push is rejected. Env: KILN_GIT_PUSH_TIMEOUT. Default:"
              + " ${DEFAULT-VALUE}")
  Duration gitPushTimeout;

  @Option(
      names = "--git-max-push-size",
      paramLabel = "SIZE",
      defaultValue = "${env:KILN_GIT_MAX_PUSH_SIZE:-512MiB}",
      description =
          "The largest push the git remote takes (bigger ones are refused with 413). Env:"
              + " KILN_GIT_MAX_PUSH_SIZE. Default: ${DEFAULT-VALUE}")
  String gitMaxPushSize;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    // Checked first: a wrong lease is reported before anything connects anywhere.
    try {
      CoordinatorConfig.defaults("127.0.0.1:9092", Topics.withPrefix(""))
          .withTaskLeases(taskLease, maxTaskAttempts);
    } catch (IllegalArgumentException e) {
      throw new UserError(
          "--task-lease / --max-task-attempts (KILN_TASK_LEASE / KILN_MAX_TASK_ATTEMPTS): "
              + e.getMessage()
              + "; e.g. --task-lease PT30S --max-task-attempts 3",
          2);
    }
    GitRemoteConfig gitRemote;
    try {
      gitRemote =
          new GitRemoteConfig(
              CacheServiceCommand.bytes("--git-max-push-size", gitMaxPushSize),
              gitPushTimeout,
              GitRemoteConfig.DEFAULT.concurrentPushes());
    } catch (IllegalArgumentException e) {
      throw new UserError(
          "--git-push-timeout / --git-max-push-size: "
              + e.getMessage()
              + "; e.g. --git-push-timeout PT30M --git-max-push-size 512MiB",
          2);
    }
    FarmSettings settings = options.toSettings();
    ServiceProcess.requireKafka(settings, "coordinator");
    String cache =
        ServiceProcess.requireUrl(cacheUrl, "coordinator", "--cache-url", "KILN_CACHE_URL");
    FarmSecrets secrets = ServiceProcess.farmSecrets(settings, "coordinator", true, true, true);
    out.println("-----> Creating topics on " + settings.kafka());
    out.flush();
    try {
      KafkaTopicsAdmin.ensureTopics(
          settings.kafka(), settings.kafkaClient(), Topics.withPrefix(settings.topicPrefix()));
    } catch (RuntimeException e) {
      throw new UserError(
          "the coordinator cannot create the farm's topics on "
              + settings.kafka()
              + ": "
              + e.getMessage()
              + "; check --kafka and the Kafka client settings",
          1);
    }
    CoordinatorConfig config =
        Farm.coordinatorConfig(
                settings, settings.kafka(), cache, secrets, listen, settings.httpPort())
            .withTaskLeases(taskLease, maxTaskAttempts)
            .withInstanceId(
                instanceId == null || instanceId.isBlank()
                    ? WorkerCommand.hostName()
                    : instanceId.strip());
    Vertx vertx = Vertx.vertx();
    CoordinatorVerticle coordinator = new CoordinatorVerticle(config).withGitRemote(gitRemote);
    try {
      Farm.deployListening(
          vertx, coordinator, "coordinator", settings.httpPort(), "--http-port / KILN_HTTP_PORT");
    } catch (RuntimeException e) {
      vertx.close();
      throw e instanceof UserError ? e : new UserError("the coordinator did not start: " + e, 1);
    }
    out.println(
        "-----> The coordinator is up on "
            + ServiceProcess.url(listen, coordinator.actualHttpPort()));
    out.flush();
    ServiceProcess.exitWhenHalted(coordinator.halted(), "coordinator", spec.commandLine().getErr());
    ServiceProcess.runUntilStopped(
        () -> vertx.close().toCompletionStage().toCompletableFuture().join());
    return 0;
  }
}
