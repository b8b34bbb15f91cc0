package dev.kiln.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
    mixinStandardHelpOptions = true,
    name = "up",
    description = {
      "Run the whole farm in one process: an embedded Kafka broker (KRaft) unless --kafka is given,",
      "the cache-service, the coordinator and the workers. With --deploy docker also the",
      "reference Docker deployer: each pushed app runs on the local Docker daemon behind a stable",
      "port on 127.0.0.1. Stops on Ctrl-C."
    })
public final class UpCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin FarmOptions options;

  @Option(
      names = "--deploy",
      paramLabel = "none|docker",
      defaultValue = "${env:KILN_DEPLOY:-none}",
      description =
          "docker: run every pushed app on the local Docker daemon and print its stable URL"
              + " (http://127.0.0.1:PORT) once it answers; none: no deployer. Env: KILN_DEPLOY."
              + " Default: ${DEFAULT-VALUE}")
  String deploy;

  @Mixin DockerDeployOptions dockerOptions;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    boolean dockerDeploy;
    switch (deploy == null ? "none" : deploy.trim()) {
      case "none", "" -> dockerDeploy = false;
      case "docker" -> dockerDeploy = true;
      default -> throw new UserError("--deploy must be none or docker, not '" + deploy + "'", 2);
    }
    var deploySettings = dockerDeploy ? dockerOptions.toSettings() : null;
    FarmSettings settings = options.toSettings();
    CountDownLatch stopped = new CountDownLatch(1);
    Farm farm = Farm.start(settings, out::println);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  farm.close();
                  stopped.countDown();
                },
                "kiln-shutdown"));
    FarmEndpoints endpoints = farm.endpoints();
    if (dockerDeploy) {
      farm.startDockerDeployer(
          deploySettings,
          line -> {
            synchronized (out) {
              out.println(line);
              out.flush();
            }
          });
    }
    out.println("-----> Kiln is up");
    out.println("       Coordinator: " + endpoints.coordinatorUrl());
    out.println("       Dashboard:   " + endpoints.coordinatorUrl() + "/dashboard");
    out.println("       Cache:       " + endpoints.cacheUrl());
    out.println("       Kafka:       " + endpoints.kafka());
    out.println(
        "       Operator token: "
            + FarmSecrets.directory(settings.home()).resolve(FarmSecrets.OPERATOR_TOKEN_FILE)
            + " (kiln push/status/tenants send it)");
    if (settings.autoCreateTenants()) {
      out.println(
          "       Tenants are created on their first push (--no-auto-create-tenants turns"
              + " this off; `kiln tenants create` makes them by hand)");
    }
    if (dockerDeploy) {
      out.println(
          "       Deployer:    Docker; each app's URL is printed here once it answers HTTP");
    }
    out.println("       Push an app: ./kiln push DIR   (Ctrl-C stops the farm)");
    out.flush();
    ServiceProcess.exitWhenHalted(farm.coordinatorHalted(), "up", spec.commandLine().getErr());
    stopped.await();
    return 0;
  }
}
