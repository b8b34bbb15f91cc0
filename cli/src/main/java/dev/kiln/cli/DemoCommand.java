package dev.kiln.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
    mixinStandardHelpOptions = true,
    name = "demo",
    description = {
      "Start the embedded farm, push the bundled sample app (samples/hello-wsgi), wait for its image",
      "and print the image-ready CloudEvent as JSON on the last line. Works offline: the sample's",
      "wheels ship in samples/index, and where no runtime image can be pulled a local Debian-based",
      "Python runtime is built with debootstrap."
    })
public final class DemoCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin FarmOptions options;

  @Option(
      names = "--samples",
      defaultValue = "${env:KILN_SAMPLES:-samples}",
      description = "The samples directory. Env: KILN_SAMPLES. Default: ${DEFAULT-VALUE}")
  Path samples;

  @Option(
      names = "--timeout",
      defaultValue = "PT10M",
      description = "How long to wait for the build. Default: 10 minutes.")
  Duration timeout;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    Path app = samples.resolve("hello-wsgi").toAbsolutePath().normalize();
    Path index = samples.resolve("index").resolve("simple").toAbsolutePath().normalize();
    if (!Files.isDirectory(app) || !Files.isDirectory(index)) {
      throw new UserError(
          "the sample app is not at "
              + app
              + " (with its index at "
              + index
              + "); run the demo from the repository root or pass --samples DIR");
    }
    // The demo must work offline: its dependencies come from the bundled index unless the user
    // explicitly points the farm elsewhere.
    if (options.upstreamIndex == null || options.upstreamIndex.equals("https://pypi.org/simple/")) {
      options.upstreamIndex = index.toUri().toString();
    }
    if (options.httpPort == 8480) {
      options.httpPort = 0; // a demo must not collide with a running `kiln up`
    }
    if (options.cachePort == 8481) {
      options.cachePort = 0;
    }
    FarmSettings settings = options.toSettings();
    try (Farm farm = Farm.start(settings, out::println)) {
      PushCommand.Result result =
          PushCommand.push(
              farm.endpoints(),
              settings.kafkaClient(),
              settings.home(),
              app.toString(),
              "demo",
              "hello-wsgi",
              null,
              null,
              Map.of(),
              timeout,
              out);
      if (result.outcome() == null) {
        return 1;
      }
      out.println(PushCommand.structuredJson(result.outcome()));
      out.flush();
      return result.exitCode();
    }
  }
}
