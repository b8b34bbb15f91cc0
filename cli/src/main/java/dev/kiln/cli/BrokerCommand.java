package dev.kiln.cli;

import dev.kiln.broker.EmbeddedKafka;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The embedded KRaft broker alone, in its own process: the Kafka of a farm whose services run as
 * separate processes or containers (compose), where no other Kafka is at hand. Its log lives under
 * {@code --data} across restarts.
 */
@Command(
    mixinStandardHelpOptions = true,
    name = "broker",
    description = {
      "Run only a single-node Kafka broker (KRaft, broker and controller in one process) keeping its",
      "log under --data across restarts: the Kafka for `kiln coordinator`, `kiln worker` and",
      "`kiln cache-service` where there is no other cluster. Stops on Ctrl-C."
    })
public final class BrokerCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--data",
      paramLabel = "DIR",
      defaultValue = "${env:KILN_BROKER_DATA}",
      description =
          "Where the broker keeps its log, topics and consumer offsets (created on the first start,"
              + " reused after). Env: KILN_BROKER_DATA.")
  Path data;

  @Option(
      names = "--listen",
      paramLabel = "HOST:PORT",
      defaultValue = "${env:KILN_BROKER_LISTEN:-127.0.0.1:9092}",
      description =
          "The address and port clients connect to (0.0.0.0:9092 in a container; port 0 picks a"
              + " free one). Env: KILN_BROKER_LISTEN. Default: ${DEFAULT-VALUE}")
  String listen;

  @Option(
      names = "--advertise",
      paramLabel = "HOST:PORT",
      defaultValue = "${env:KILN_BROKER_ADVERTISE}",
      description =
          "The address the broker tells clients to connect to after bootstrapping (kafka:9092 for"
              + " a compose service named kafka). Env: KILN_BROKER_ADVERTISE. Default: --listen,"
              + " which must then name one address, not 0.0.0.0.")
  String advertise;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    EmbeddedKafka.Listener listener = listener(data, listen, advertise);
    EmbeddedKafka kafka;
    try {
      kafka = EmbeddedKafka.serve(data.toAbsolutePath().normalize(), listener);
    } catch (RuntimeException e) {
      throw new UserError("the broker did not start: " + e.getMessage(), 1);
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  kafka.close();
                  stopped.countDown();
                },
                "kiln-shutdown"));
    out.println("-----> The broker is up on " + kafka.advertisedAddress());
    out.println("       Data: " + data.toAbsolutePath().normalize());
    out.println("       On this machine: --kafka " + kafka.bootstrapServers());
    out.flush();
    stopped.await();
    return 0;
  }

  /** The listener the flags describe; a wrong flag is a usage error saying how to write it. */
  static EmbeddedKafka.Listener listener(Path data, String listen, String advertise) {
    if (data == null) {
      throw new UserError(
          "kiln broker needs --data DIR (or KILN_BROKER_DATA): the directory it keeps its log in"
              + " across restarts",
          2);
    }
    String[] bind = hostAndPort("--listen", listen);
    String[] told =
        advertise == null || advertise.isBlank() ? null : hostAndPort("--advertise", advertise);
    try {
      return new EmbeddedKafka.Listener(
          bind[0],
          Integer.parseInt(bind[1]),
          told == null ? null : told[0],
          told == null ? 0 : Integer.parseInt(told[1]));
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage() + "; pass --advertise HOST:PORT", 2);
    }
  }

  private static String[] hostAndPort(String option, String value) {
    if (value == null || !value.matches("[A-Za-z0-9.\\-]+:\\d{1,5}")) {
      throw new UserError(
          option + " '" + value + "' is not HOST:PORT (e.g. 0.0.0.0:9092 or kafka:9092)", 2);
    }
    int colon = value.lastIndexOf(':');
    if (Integer.parseInt(value.substring(colon + 1)) > 65535) {
      throw new UserError(option + " '" + value + "': a port is at most 65535", 2);
    }
    return new String[] {value.substring(0, colon), value.substring(colon + 1)};
  }
}
