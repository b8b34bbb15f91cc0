package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kiln.broker.EmbeddedKafka;
import dev.kiln.events.Digest;
import dev.kiln.events.Topics;
import dev.kiln.messaging.KafkaTopicsAdmin;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kiln cache-service}: the cache-service alone, in a process of its own. */
class CacheServiceCommandTest {
  private static final Pattern UP = Pattern.compile("cache-service is up on (http://\\S+)");

  @TempDir Path temp;
  private final HttpClient http =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @Test
  void theCacheServiceRunsInItsOwnProcessAndOnlyTheFarmTokenWritesToIt() throws Exception {
    Path home = temp.resolve("home");
    Path log = temp.resolve("cache-service.log");
    FarmSecrets.loadOrCreate(home); // the farm's secrets, as the operator hands them on
    try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
      KafkaTopicsAdmin.ensureTopics(kafka.bootstrapServers(), Topics.DEFAULT);
      Process process =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-cp",
                  System.getProperty("java.class.path"),
                  Main.class.getName(),
                  "cache-service",
                  "--home",
                  home.toString(),
                  "--kafka",
                  kafka.bootstrapServers(),
                  "--cache-port",
                  "0",
                  "--upstream-index",
                  temp.toUri().toString())
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
      try {
        String url =
            await()
                .atMost(Duration.ofMinutes(2))
                .until(
                    () -> {
                      Matcher up = UP.matcher(Files.readString(log));
                      return up.find() ? up.group(1) : null;
                    },
                    found -> found != null || !process.isAlive());
        assertThat(url).as(Files.readString(log)).isNotNull();
        byte[] blob = "a blob".getBytes(StandardCharsets.UTF_8);
        java.security.MessageDigest sha256 = Digest.newSha256();
        sha256.update(blob);
        String digest = Digest.fromSha256(sha256).hex();
        String farmToken = Files.readString(home.resolve("secrets").resolve("farm-token")).strip();

        assertThat(send(url + "/health", "GET", null, null).statusCode()).isEqualTo(200);
        assertThat(send(url + "/cas/" + digest, "PUT", null, blob).statusCode()).isEqualTo(401);
        assertThat(send(url + "/cas/" + digest, "PUT", "kiln_t_forged", blob).statusCode())
            .isEqualTo(403);
        assertThat(send(url + "/cas/" + digest, "PUT", farmToken, blob).statusCode())
            .isBetween(200, 201);
        assertThat(send(url + "/cas/" + digest, "GET", farmToken, null).body()).isEqualTo("a blob");
      } finally {
        process.destroy();
        process.waitFor();
      }
    }
  }

  @Test
  void withoutTheFarmsKafkaItRefusesToStart() {
    StringWriter err = new StringWriter();
    int exit =
        KilnCommand.commandLine()
            .setErr(new PrintWriter(err, true))
            .execute("cache-service", "--home", temp.resolve("home").toString());

    assertThat(exit).isEqualTo(2);
    assertThat(err.toString()).contains("needs --kafka");
  }

  @Test
  void withoutTheFarmsSecretsItRefusesToStartAndMakesNoneUp() {
    Path home = temp.resolve("no-secrets");
    StringWriter err = new StringWriter();
    int exit =
        KilnCommand.commandLine()
            .setErr(new PrintWriter(err, true))
            .execute("cache-service", "--home", home.toString(), "--kafka", "127.0.0.1:9");

    assertThat(exit).isEqualTo(2);
    assertThat(err.toString()).contains("needs the farm's KILN_FARM_TOKEN");
    assertThat(home.resolve("secrets")).doesNotExist();
  }

  @Test
  void withoutTheFarmsTopicsItSaysToStartTheCoordinatorFirst() throws Exception {
    Path home = temp.resolve("no-topics");
    FarmSecrets.loadOrCreate(home);
    StringWriter err = new StringWriter();
    try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
      int exit =
          KilnCommand.commandLine()
              .setErr(new PrintWriter(err, true))
              .execute(
                  "cache-service",
                  "--home",
                  home.toString(),
                  "--kafka",
                  kafka.bootstrapServers(),
                  "--cache-port",
                  "0");

      assertThat(exit).isEqualTo(1);
    }
    assertThat(err.toString()).contains("does not exist").contains("start the coordinator first");
  }

  private HttpResponse<String> send(String url, String method, String token, byte[] body)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(url))
            .timeout(Duration.ofSeconds(30))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(body));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
      request.header("X-Kiln-Tenant", "acme"); // a worker acts for one tenant
    }
    if (body != null) {
      request.header("X-Kiln-Scope", "public");
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
