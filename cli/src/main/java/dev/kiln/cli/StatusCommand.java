package dev.kiln.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    mixinStandardHelpOptions = true,
    name = "status",
    description = "Show one build, or a tenant's builds, from a running farm.")
public final class StatusCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(
      arity = "0..1",
      paramLabel = "BUILD-ID",
      description = "A build id (b-…). Without it: the tenant's builds.")
  String buildId;

  @Option(
      names = "--tenant",
      defaultValue = "${env:KILN_TENANT:-local}",
      description = "Tenant. Env: KILN_TENANT. Default: ${DEFAULT-VALUE}")
  String tenant;

  @Option(
      names = "--home",
      defaultValue = "${env:KILN_HOME:-.kiln}",
      description = "The farm's state directory. Env: KILN_HOME.")
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
          "Bearer token (a tenant's kiln_t_… token sees only its own builds). Env: KILN_TOKEN. Default: <home>/secrets/operator-token.")
  String token;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    String url =
        coordinator != null
            ? coordinator
            : FarmEndpoints.read(home.toAbsolutePath()).coordinatorUrl();
    CoordinatorClient client = new CoordinatorClient(url, FarmSecrets.clientToken(token, home));
    if (buildId != null) {
      out.println(
          client
              .get("/v1/builds/" + URLEncoder.encode(buildId, StandardCharsets.UTF_8))
              .toPrettyString());
      return 0;
    }
    JsonNode builds =
        client.get("/v1/builds?tenant=" + URLEncoder.encode(tenant, StandardCharsets.UTF_8));
    JsonNode list = builds.isArray() ? builds : builds.path("builds");
    if (list.isEmpty()) {
      out.println("No builds for tenant " + tenant + ".");
    }
    for (JsonNode b : list) {
      out.printf(
          "%-24s %-10s %s/%s@%s %s%n",
          b.path("buildId").asText(),
          b.path("state").asText(),
          b.path("push").path("tenant").asText(),
          b.path("push").path("app").asText(),
          b.path("push")
              .path("commit")
              .asText()
              .substring(0, Math.min(12, b.path("push").path("commit").asText().length())),
          b.hasNonNull("image")
              ? b.path("image").asText()
              : b.path("failure").path("code").asText(""));
    }
    return 0;
  }
}
