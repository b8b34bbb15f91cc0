package dev.kiln.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(
    name = "kiln",
    mixinStandardHelpOptions = true,
    version = "kiln 0.1.0",
    description = "Kiln turns pushed Python apps into OCI images with buildpack semantics.",
    subcommands = {
      UpCommand.class,
      BrokerCommand.class,
      CacheServiceCommand.class,
      CoordinatorCommand.class,
      WorkerCommand.class,
      DeployerCommand.class,
      PushCommand.class,
      PlanCommand.class,
      DemoCommand.class,
      StatusCommand.class,
      LogsCommand.class,
      TenantsCommand.class,
      AppsCommand.class,
      ImageCommand.class,
      dev.kiln.cli.bench.BenchCommand.class,
      CommandLine.HelpCommand.class
    })
public final class KilnCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** The configured command line: usage errors exit 2, failures 1. */
  public static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new KilnCommand());
    cli.setCaseInsensitiveEnumValuesAllowed(true);
    cli.setExecutionExceptionHandler(
        (ex, commandLine, parseResult) -> {
          if (ex instanceof UserError) {
            commandLine.getErr().println("kiln: " + ex.getMessage());
            return ((UserError) ex).exitCode();
          }
          commandLine.getErr().println("kiln: " + ex);
          return 1;
        });
    return cli;
  }
}
