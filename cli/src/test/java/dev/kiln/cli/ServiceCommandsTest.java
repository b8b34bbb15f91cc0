package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The usage errors of {@code kiln coordinator}, {@code worker} and {@code deployer}: each joins a
 * farm that exists, so without the farm's Kafka, its cache-service or its secrets it says what is
 * missing, exits 2 and creates nothing (a secret made up here would match no other service's).
 */
class ServiceCommandsTest {
  @TempDir Path temp;

  private record Run(int exit, String err) {}

  private Run kiln(String... args) {
    StringWriter err = new StringWriter();
    StringWriter out = new StringWriter();
    int exit =
        KilnCommand.commandLine()
            .setOut(new PrintWriter(out, true))
            .setErr(new PrintWriter(err, true))
            .execute(args);
    return new Run(exit, err.toString());
  }

  @Test
  void everyServiceNeedsTheFarmsKafka() {
    for (String command : new String[] {"coordinator", "worker", "deployer"}) {
      Run run = kiln(command, "--home", temp.resolve(command).toString());

      assertThat(run.exit()).as(command).isEqualTo(2);
      assertThat(run.err()).contains("kiln " + command + " needs --kafka HOST:PORT");
      assertThat(temp.resolve(command)).doesNotExist();
    }
  }

  @Test
  void theCoordinatorAndTheWorkerNeedTheCacheServicesUrl() {
    for (String command : new String[] {"coordinator", "worker"}) {
      Run run = kiln(command, "--home", temp.resolve(command).toString(), "--kafka", "127.0.0.1:9");

      assertThat(run.exit()).as(command).isEqualTo(2);
      assertThat(run.err()).contains("kiln " + command + " needs --cache-url URL");
    }
    Run wrong =
        kiln("worker", "--kafka", "127.0.0.1:9", "--cache-url", "cache:8481", "--worker-id", "w");
    assertThat(wrong.exit()).isEqualTo(2);
    assertThat(wrong.err()).contains("--cache-url 'cache:8481' is not an http(s):// URL");
  }

  @Test
  void theCoordinatorWithoutTheFarmsSecretsRefusesToStartAndMakesNoneUp() {
    Path home = temp.resolve("coordinator-home");
    Run run =
        kiln(
            "coordinator",
            "--home",
            home.toString(),
            "--kafka",
            "127.0.0.1:9",
            "--cache-url",
            "http://127.0.0.1:9");

    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains("kiln coordinator needs the farm's KILN_OPERATOR_TOKEN");
    assertThat(home).doesNotExist();
  }

  @Test
  void aWorkerWithoutTheFarmTokenRefusesToStartAndMakesNoneUp() {
    Path home = temp.resolve("worker-home");
    Run run =
        kiln(
            "worker",
            "--home",
            home.toString(),
            "--kafka",
            "127.0.0.1:9",
            "--cache-url",
            "http://127.0.0.1:9",
            "--worker-id",
            "w1");

    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains("kiln worker needs the farm's KILN_FARM_TOKEN");
    assertThat(home).doesNotExist();
  }

  @Test
  void aWorkerNeedsAWorkerIdThatCanNameADirectoryAndAtLeastOneTask() {
    Path home = temp.resolve("home");
    FarmSecrets.loadOrCreate(home);
    String[] base = {
      "worker", "--home", home.toString(), "--kafka", "127.0.0.1:9", "--cache-url", "http://c:1"
    };

    Run badId = kiln(concat(base, "--worker-id", "../escape", "--runtime-catalog", "offline"));
    assertThat(badId.exit()).isEqualTo(2);
    assertThat(badId.err()).contains("worker id '../escape'").contains("--worker-id");
    assertThat(home.resolve("workers")).doesNotExist();

    Run noTasks = kiln(concat(base, "--worker-id", "w1", "--tasks", "0"));
    assertThat(noTasks.exit()).isEqualTo(2);
    assertThat(noTasks.err()).contains("--tasks must be 1 or more");
  }

  private static String[] concat(String[] base, String... more) {
    String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
    System.arraycopy(more, 0, all, base.length, more.length);
    return all;
  }
}
