package dev.kiln.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.events.EventCodec;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    mixinStandardHelpOptions = true,
    name = "logs",
    description = {
      "Print a build's log from a running farm: everything written so far, or with -f everything"
          + " and then each line as it comes until the build ends.",
      "Exit status with -f: 0 when the build succeeded, 1 when it failed or was cancelled."
    })
public final class LogsCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(paramLabel = "BUILD-ID", description = "A build id (b-…), as kiln push prints it.")
  String buildId;

  @Option(
      names = {"-f", "--follow"},
      description = "Keep following the log until the build ends.")
  boolean follow;

  @Mixin CoordinatorConnection connection;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    CoordinatorClient client = connection.client();
    String path = "/v1/builds/" + URLEncoder.encode(buildId, StandardCharsets.UTF_8) + "/log";
    if (!follow) {
      client.streamLines(
          path,
          "text/plain",
          line -> {
            out.println(line);
            out.flush();
          });
      return 0;
    }
    AtomicReference<String> event = new AtomicReference<>();
    AtomicReference<String> outcome = new AtomicReference<>("still-running");
    client.streamLines(
        path,
        "text/event-stream",
        line -> {
          if (line.startsWith("event: ")) {
            event.set(line.substring("event: ".length()));
          } else if (line.startsWith("data: ")) {
            JsonNode data = json(line.substring("data: ".length()));
            if ("log".equals(event.get())) {
              out.println(data.path("text").asText());
              out.flush();
            } else if ("end".equals(event.get())) {
              outcome.set(data.path("outcome").asText("unknown"));
            }
          }
        });
    if ("still-running".equals(outcome.get())) {
      out.println(
          "(the build is still running; follow it again with kiln logs -f " + buildId + ")");
    }
    return "succeeded".equals(outcome.get()) || "still-running".equals(outcome.get()) ? 0 : 1;
  }

  private static JsonNode json(String text) {
    try {
      return EventCodec.mapper().readTree(text);
    } catch (IOException e) {
      return EventCodec.mapper().createObjectNode();
    }
  }
}
