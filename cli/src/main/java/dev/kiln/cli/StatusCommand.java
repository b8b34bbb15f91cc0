package dev.kiln.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
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

  @Mixin CoordinatorConnection connection;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    CoordinatorClient client = connection.client();
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
