package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class KilnCommandTest {
  @TempDir Path temp;

  @Test
  void upHelpListsEveryEnvironmentVariable() {
    StringWriter out = new StringWriter();
    CommandLine cli = KilnCommand.commandLine();
    cli.setOut(new PrintWriter(out));

    int status = cli.execute("up", "--help");

    assertThat(status).isZero();
    assertThat(out.toString())
        .contains(
            "KILN_HOME",
            "KILN_KAFKA",
            "KILN_UPSTREAM_INDEX",
            "KILN_REGISTRY",
            "KILN_HTTP_PORT",
            "KILN_CACHE_PORT",
            "KILN_WORKERS",
            "KILN_RUNTIME_CATALOG",
            "KILN_TOPIC_PREFIX",
            "KILN_DEBIAN_MIRROR",
            "KILN_BUILD_STEP_TIMEOUT",
            "KILN_BUILD_STEP_MEMORY",
            "KILN_NLTK_DATA_URL",
            "KILN_DOCKERFILE_BUILDER",
            "KILN_DOCKERFILE_NETWORK",
            "KILN_DOCKERFILE_TIMEOUT");
  }

  @Test
  void aFarmHasNoDockerfileBuilderUnlessOneIsConfigured() {
    UpCommand up = new UpCommand();
    new CommandLine(up).parseArgs("--home", temp.toString());
    assertThat(up.options.toSettings().dockerfileBuilder()).isNull();

    WorkerCommand worker = new WorkerCommand();
    new CommandLine(worker)
        .parseArgs(
            "--home",
            temp.toString(),
            "--registry",
            "registry.internal:5000",
            "--dockerfile-builder",
            "docker",
            "--dockerfile-timeout",
            "PT5M");
    var builder = worker.options.toSettings().dockerfileBuilder();

    assertThat(builder.docker()).isEqualTo("docker");
    assertThat(builder.allowNetwork()).isFalse();
    assertThat(builder.timeout()).isEqualTo(java.time.Duration.ofMinutes(5));
    assertThat(builder.pullRegistry()).isEqualTo("registry.internal:5000");
    assertThat(builder.memoryBytes()).isEqualTo(2048L << 20);
  }

  @Test
  void optionsParseIntoFarmSettings() {
    UpCommand up = new UpCommand();
    new CommandLine(up)
        .parseArgs(
            "--home",
            temp.toString(),
            "--kafka",
            "broker-1:9092,broker-2:9092",
            "--registry",
            "localhost:5000",
            "--workers",
            "3",
            "--http-port",
            "0",
            "--runtime-catalog",
            "offline",
            "--build-step-timeout",
            "PT2M",
            "--build-step-memory",
            "512");

    FarmSettings settings = up.options.toSettings();

    assertThat(settings.home()).isEqualTo(temp.toAbsolutePath());
    assertThat(settings.kafka()).isEqualTo("broker-1:9092,broker-2:9092");
    assertThat(settings.registry()).isEqualTo("localhost:5000");
    assertThat(settings.workers()).isEqualTo(3);
    assertThat(settings.httpPort()).isZero();
    assertThat(settings.runtimeCatalog()).isEqualTo("offline");
    assertThat(settings.buildStepTimeout()).isEqualTo(java.time.Duration.ofMinutes(2));
    assertThat(settings.buildStepMemoryMiB()).isEqualTo(512);
    assertThat(settings.debianMirror()).isEqualTo("http://deb.debian.org/debian");
  }

  @Test
  void kafkaPropertiesReachTheFarmSettingsWithTheirSecretsMasked() throws Exception {
    java.nio.file.Path file = temp.resolve("kafka.properties");
    Files.writeString(
        file,
        "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n"
            + "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required"
            + " username=\"coordinator\" password=\"hunter2-secret\";\n");
    UpCommand up = new UpCommand();
    new CommandLine(up)
        .parseArgs(
            "--home",
            temp.toString(),
            "--kafka",
            "broker-1:9096",
            "--kafka-properties",
            file.toString());

    FarmSettings settings = up.options.toSettings();

    assertThat(settings.kafkaClient().properties())
        .containsEntry("security.protocol", "SASL_SSL")
        .containsKey("sasl.jaas.config");
    assertThat(settings.toString()).doesNotContain("hunter2-secret").contains("****");
  }

  @Test
  void kafkaPropertiesWithoutAnExternalClusterAreAUsageError() throws Exception {
    java.nio.file.Path file = temp.resolve("kafka.properties");
    Files.writeString(file, "security.protocol=SSL\n");
    StringWriter err = new StringWriter();
    CommandLine cli = KilnCommand.commandLine();
    cli.setErr(new PrintWriter(err));

    assertThat(cli.execute("up", "--home", temp.toString(), "--kafka-properties", file.toString()))
        .isEqualTo(2);
    assertThat(err.toString()).contains("no --kafka cluster").contains("127.0.0.1");

    Files.writeString(file, "bootstrap.servers=elsewhere:9092\n");
    assertThat(
            cli.execute(
                "up",
                "--home",
                temp.toString(),
                "--kafka",
                "b:9092",
                "--kafka-properties",
                file.toString()))
        .isEqualTo(2);
    assertThat(err.toString()).contains("Kiln sets bootstrap.servers itself");
  }

  @Test
  void badOptionsAreUsageErrorsThatSayTheFix() {
    StringWriter err = new StringWriter();
    CommandLine cli = KilnCommand.commandLine();
    cli.setErr(new PrintWriter(err));

    assertThat(cli.execute("up", "--home", temp.toString(), "--workers", "0")).isEqualTo(2);
    assertThat(err.toString()).contains("--workers must be 1 or more");
    assertThat(cli.execute("up", "--home", temp.toString(), "--registry", "https://r.example/x"))
        .isEqualTo(2);
    assertThat(err.toString()).contains("is not HOST[:PORT]");
    assertThat(cli.execute("up", "--home", temp.toString(), "--runtime-catalog", "/no/such.json"))
        .isEqualTo(2);
    assertThat(err.toString()).contains("/no/such.json").contains("does not exist");
    assertThat(cli.execute("up", "--home", temp.toString(), "--build-step-memory", "1"))
        .isEqualTo(2);
    assertThat(err.toString()).contains("--build-step-memory must be at least 64");
    assertThat(cli.execute("up", "--home", temp.toString(), "--dockerfile-builder", "kaniko"))
        .isEqualTo(2);
    assertThat(err.toString()).contains("--dockerfile-builder 'kaniko' is not understood");
  }

  @Test
  void pushWithoutARunningFarmSaysHowToStartOne() {
    StringWriter err = new StringWriter();
    CommandLine cli = KilnCommand.commandLine();
    cli.setErr(new PrintWriter(err));

    int status = cli.execute("push", ".", "--home", temp.toString());

    assertThat(status).isEqualTo(2);
    assertThat(err.toString()).contains("no running farm found").contains("./kiln up");
  }

  @Test
  void busyPortFailsTheStartWithTheOptionToChangeAndLeavesNoFarmFile() throws Exception {
    try (ServerSocket busy = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      FarmSettings local =
          FarmSettings.local(temp.resolve("home"), temp.toUri().toString(), null, 1, "offline");
      FarmSettings settings =
          new FarmSettings(
              local.home(),
              null,
              local.upstreamIndex(),
              null,
              0,
              busy.getLocalPort(),
              1,
              "offline",
              "",
              local.debianMirror(),
              local.buildStepTimeout(),
              local.buildStepMemoryMiB(),
              null,
              null,
              true,
              null,
              false);

      assertThatThrownBy(() -> Farm.start(settings, line -> {}))
          .isInstanceOf(UserError.class)
          .hasMessageContaining("port " + busy.getLocalPort())
          .hasMessageContaining("--cache-port / KILN_CACHE_PORT");
      assertThat(Files.exists(FarmEndpoints.file(settings.home()))).isFalse();
    }
  }
}
