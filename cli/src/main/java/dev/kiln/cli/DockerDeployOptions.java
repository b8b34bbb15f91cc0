package dev.kiln.cli;

import dev.kiln.deploy.docker.DockerDeployer;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * How the reference Docker deployer runs apps: {@code kiln deployer --docker}, {@code kiln up
 * --deploy docker}.
 */
public final class DockerDeployOptions {
  @Option(
      names = "--deploy-port-range",
      paramLabel = "FIRST-LAST",
      defaultValue = "${env:KILN_DEPLOY_PORT_RANGE}",
      description =
          "With the Docker deployer: the ports on 127.0.0.1 the apps' stable ports are taken from,"
              + " e.g. 20000-20099. Env: KILN_DEPLOY_PORT_RANGE. Default: any free port")
  String portRange;

  @Option(
      names = "--deploy-health-timeout",
      paramLabel = "SECONDS",
      defaultValue = "${env:KILN_DEPLOY_HEALTH_TIMEOUT:-60}",
      description =
          "With the Docker deployer: how long a new container has to answer HTTP GET / below 500"
              + " before it is dropped (kiln.deploy-failed). Env: KILN_DEPLOY_HEALTH_TIMEOUT."
              + " Default: 60")
  int healthTimeoutSeconds = 60;

  DockerDeployer.Settings toSettings() {
    DockerDeployer.Settings settings = DockerDeployer.Settings.defaults();
    if (healthTimeoutSeconds < 1) {
      throw new UserError("--deploy-health-timeout must be at least 1 second", 2);
    }
    settings =
        settings.withHealth(Duration.ofSeconds(healthTimeoutSeconds), settings.healthInterval());
    if (portRange != null && !portRange.isBlank()) {
      try {
        int[] range = DockerDeployer.Settings.parseRange(portRange);
        settings = settings.withPortRange(range[0], range[1]);
      } catch (IllegalArgumentException e) {
        throw new UserError("--deploy-port-range: " + e.getMessage(), 2);
      }
    }
    return settings;
  }
}
