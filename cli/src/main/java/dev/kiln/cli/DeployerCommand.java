package dev.kiln.cli;

import dev.kiln.deploy.DeploymentLog;
import dev.kiln.deploy.ReferenceDeployerVerticle;
import dev.kiln.events.Topics;
import io.vertx.core.Vertx;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The reference deployer alone, in its own process: it follows {@code kiln.image-ready} and appends
 * one JSON line per new image to a file ({@link DeploymentLog}), the template for a deployer that
 * calls a platform's API.
 */
@Command(
    mixinStandardHelpOptions = true,
    name = "deployer",
    description = {
      "Run only the reference deployer: follows the farm's kiln.image-ready topic and appends one",
      "JSON line per image to --deployments (a failing deploy is retried, then dead-lettered).",
      "With --docker it runs each app on the local Docker daemon instead, behind a stable port",
      "on 127.0.0.1 that switches to a new version once it answers HTTP (docs/operations.md).",
      "Needs --kafka; no farm secrets. Stops on Ctrl-C."
    })
public final class DeployerCommand implements Callable<Integer> {
  /** The consumer group; the deployer principal's ACLs in docs/operations.md allow this prefix. */
  static final String GROUP = "kiln-deployer";

  @Spec CommandSpec spec;

  @Mixin FarmOptions options;

  @Option(
      names = "--deployments",
      paramLabel = "FILE",
      defaultValue = "${env:KILN_DEPLOYMENTS}",
      description =
          "The file deployed images are appended to, one JSON line each. Env: KILN_DEPLOYMENTS."
              + " Default: <home>/deployments.jsonl")
  Path deployments;

  @Option(
      names = "--docker",
      description =
          "Run each app's image on the local Docker daemon (docker load / pull, docker run) and"
              + " serve it on a stable port on 127.0.0.1; a version that does not come up is"
              + " reported on kiln.deploy-failed and the previous one keeps serving.")
  boolean docker;

  @Mixin DockerDeployOptions dockerOptions;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    FarmSettings settings = options.toSettings();
    ServiceProcess.requireKafka(settings, "deployer");
    if (docker) {
      return runDocker(out, settings);
    }
    Path file =
        (deployments != null ? deployments : settings.home().resolve("deployments.jsonl"))
            .toAbsolutePath()
            .normalize();
    Vertx vertx = Vertx.vertx();
    try {
      vertx
          .deployVerticle(
              new ReferenceDeployerVerticle(
                  settings.kafka(),
                  settings.kafkaClient(),
                  Topics.withPrefix(settings.topicPrefix()),
                  GROUP,
                  new DeploymentLog(file)))
          .await();
    } catch (Exception e) {
      vertx.close();
      throw new UserError("the deployer did not start: " + e.getMessage(), 1);
    }
    out.println("-----> The deployer is up; deployed images go to " + file);
    out.flush();
    ServiceProcess.runUntilStopped(
        () -> vertx.close().toCompletionStage().toCompletableFuture().join());
    return 0;
  }

  private int runDocker(PrintWriter out, FarmSettings settings) throws InterruptedException {
    var dockerSettings = dockerOptions.toSettings();
    Vertx vertx = Vertx.vertx();
    LocalDockerDeployer deployer;
    try {
      deployer =
          LocalDockerDeployer.start(
              vertx,
              settings.kafka(),
              settings.kafkaClient(),
              Topics.withPrefix(settings.topicPrefix()),
              dockerSettings,
              line -> {
                synchronized (out) {
                  out.println(line);
                  out.flush();
                }
              });
    } catch (RuntimeException e) {
      vertx.close();
      throw e;
    }
    out.println(
        "-----> The Docker deployer is up; each app is served on 127.0.0.1 once it answers HTTP");
    out.flush();
    ServiceProcess.runUntilStopped(
        () -> {
          vertx.close().toCompletionStage().toCompletableFuture().join();
          deployer.close();
        });
    return 0;
  }
}
