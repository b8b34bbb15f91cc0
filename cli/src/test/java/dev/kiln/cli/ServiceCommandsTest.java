package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The usage errors of {@code kiln coordinator}, {@code worker} and {@code deployer}: each joins a
 * farm that exists, so without the farm's Kafka, its cache-service or its secrets it says what is
 * missing, exits 2 and creates nothing (a secret made up here would match no other service's).
 */
class ServiceCommandsTest {
  private static final String KAFKA = "127.0.0.1:9";
  private static final String CACHE = "http://127.0.0.1:9";

  @TempDir Path temp;

  static Stream<Arguments> usageErrors() {
    return Stream.of(
        // what, farm secrets in the home, the command line after the command's name, the message
        arguments(
            "coordinator without Kafka",
            false,
            List.of("coordinator"),
            "kiln coordinator needs --kafka HOST:PORT"),
        arguments(
            "worker without Kafka",
            false,
            List.of("worker"),
            "kiln worker needs --kafka HOST:PORT"),
        arguments(
            "deployer without Kafka",
            false,
            List.of("deployer"),
            "kiln deployer needs --kafka HOST:PORT"),
        arguments(
            "Docker deployer with a port range that is no range",
            false,
            List.of("deployer", "--kafka", KAFKA, "--docker", "--deploy-port-range", "lots"),
            "--deploy-port-range: 'lots' is not a port range; write FIRST-LAST"),
        arguments(
            "Docker deployer with a port range upside down",
            false,
            List.of("deployer", "--kafka", KAFKA, "--docker", "--deploy-port-range", "20099-20000"),
            "the deploy port range 20099-20000 is not a range"),
        arguments(
            "farm with a deployer it does not have",
            false,
            List.of("up", "--deploy", "kubernetes"),
            "--deploy must be none or docker, not 'kubernetes'"),
        arguments(
            "coordinator without the cache-service",
            false,
            List.of("coordinator", "--kafka", KAFKA),
            "kiln coordinator needs --cache-url URL"),
        arguments(
            "worker without the cache-service",
            false,
            List.of("worker", "--kafka", KAFKA),
            "kiln worker needs --cache-url URL"),
        arguments(
            "worker with a cache URL that is no URL",
            false,
            List.of("worker", "--kafka", KAFKA, "--cache-url", "cache:8481", "--worker-id", "w"),
            "--cache-url 'cache:8481' is not an http(s):// URL"),
        arguments(
            "coordinator with a lease too short to renew",
            false,
            List.of(
                "coordinator", "--kafka", KAFKA, "--cache-url", CACHE, "--task-lease", "PT0.1S"),
            "taskLease is 100 ms; use at least 500 ms"),
        arguments(
            "coordinator with a nonsense attempt count",
            false,
            List.of(
                "coordinator", "--kafka", KAFKA, "--cache-url", CACHE, "--max-task-attempts", "-1"),
            "maxTaskAttempts is -1; use 1 to"),
        arguments(
            "coordinator whose git pushes could never wait for a build",
            false,
            List.of(
                "coordinator",
                "--kafka",
                KAFKA,
                "--cache-url",
                CACHE,
                "--git-push-timeout",
                "PT0S"),
            "buildTimeout PT0S must be positive"),
        arguments(
            "coordinator with a push size that is no size",
            false,
            List.of(
                "coordinator",
                "--kafka",
                KAFKA,
                "--cache-url",
                CACHE,
                "--git-max-push-size",
                "lots"),
            "--git-max-push-size 'lots' is not a size"),
        arguments(
            "coordinator without the farm's secrets",
            false,
            List.of("coordinator", "--kafka", KAFKA, "--cache-url", CACHE),
            "kiln coordinator needs the farm's KILN_OPERATOR_TOKEN"),
        arguments(
            "worker without the farm token",
            false,
            List.of("worker", "--kafka", KAFKA, "--cache-url", CACHE, "--worker-id", "w1"),
            "kiln worker needs the farm's KILN_FARM_TOKEN"),
        arguments(
            "worker id that escapes its directory",
            true,
            List.of(
                "worker",
                "--kafka",
                KAFKA,
                "--cache-url",
                CACHE,
                "--worker-id",
                "../escape",
                "--runtime-catalog",
                "offline"),
            "worker id '../escape'"),
        arguments(
            "worker with no task slots",
            true,
            List.of(
                "worker",
                "--kafka",
                KAFKA,
                "--cache-url",
                CACHE,
                "--worker-id",
                "w1",
                "--tasks",
                "0"),
            "--tasks must be 1 or more"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("usageErrors")
  void aUsageErrorExitsTwoSaysWhatIsWrongAndCreatesNothing(
      String what, boolean farmSecrets, List<String> arguments, String message) {
    Path home = temp.resolve("home");
    if (farmSecrets) {
      FarmSecrets.loadOrCreate(home);
    }
    List<String> command = new ArrayList<>(arguments);
    command.addAll(1, List.of("--home", home.toString()));

    StringWriter err = new StringWriter();
    int exit =
        KilnCommand.commandLine()
            .setOut(new PrintWriter(new StringWriter(), true))
            .setErr(new PrintWriter(err, true))
            .execute(command.toArray(String[]::new));

    assertThat(exit).isEqualTo(2);
    assertThat(err.toString()).contains(message);
    if (farmSecrets) {
      assertThat(home.resolve("workers")).doesNotExist();
    } else {
      assertThat(home).doesNotExist();
    }
  }
}
