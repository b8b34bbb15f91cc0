package dev.kiln.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * Where the coordinator is and which token to send: the options every command that talks to a
 * running farm's HTTP API shares ({@code kiln logs}, {@code status}, {@code tenants …}, {@code apps
 * …}), as a picocli mixin so they read and default alike everywhere.
 */
public final class CoordinatorConnection {
  @Option(
      names = "--home",
      defaultValue = "${env:KILN_HOME:-.kiln}",
      description = "The farm's state directory. Env: KILN_HOME. Default: ${DEFAULT-VALUE}")
  Path home;

  @Option(
      names = "--coordinator",
      paramLabel = "URL",
      defaultValue = "${env:KILN_COORDINATOR}",
      description = "Coordinator URL. Env: KILN_COORDINATOR. Default: from <home>/farm.json.")
  String coordinator;

  @Option(
      names = "--token",
      paramLabel = "TOKEN",
      defaultValue = "${env:KILN_TOKEN}",
      description =
          "Bearer token (a tenant's kiln_t_… token sees only its own builds and apps). Env:"
              + " KILN_TOKEN. Default: the operator token in <home>/secrets/operator-token.")
  String token;

  CoordinatorClient client() {
    return new CoordinatorClient(coordinatorUrl(), FarmSecrets.clientToken(token, home()));
  }

  /** The coordinator's base URL, as given or as the running farm recorded it. */
  String coordinatorUrl() {
    return coordinator != null ? coordinator : FarmEndpoints.read(home()).coordinatorUrl();
  }

  Path home() {
    return home.toAbsolutePath().normalize();
  }
}
