package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.broker.EmbeddedKafka;
import dev.kiln.coordinator.CoordinatorConfig;
import dev.kiln.coordinator.CoordinatorVerticle;
import dev.kiln.events.Topics;
import dev.kiln.events.security.Tokens;
import io.vertx.core.Vertx;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code kiln tenants …} and the farm's secrets, against a real coordinator and broker. */
class TenantsCommandTest {
  @TempDir static Path temp;
  private static EmbeddedKafka kafka;
  private static Vertx vertx;
  private static String coordinatorUrl;
  private static Path home;

  @BeforeAll
  static void startCoordinator() throws Exception {
    home = temp.resolve("home");
    FarmSecrets secrets = FarmSecrets.loadOrCreate(home);
    kafka = EmbeddedKafka.start();
    vertx = Vertx.vertx();
    CoordinatorVerticle coordinator =
        new CoordinatorVerticle(
            CoordinatorConfig.defaults(
                    kafka.bootstrapServers(),
                    Topics.withPrefix("t-" + UUID.randomUUID().toString().substring(0, 8) + "."))
                .withSecurity(Tokens.sha256Hex(secrets.operatorToken()), secrets.secretKey())
                .withSourceRoot(home.resolve("repos")));
    vertx
        .deployVerticle(coordinator)
        .toCompletionStage()
        .toCompletableFuture()
        .get(120, TimeUnit.SECONDS);
    coordinatorUrl = "http://127.0.0.1:" + coordinator.actualHttpPort();
  }

  @AfterAll
  static void stop() throws Exception {
    if (vertx != null) {
      vertx.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
    if (kafka != null) {
      kafka.close();
    }
  }

  private record Run(int status, String out, String err) {}

  private static Run kiln(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = KilnCommand.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    String[] all = new String[args.length + 4];
    System.arraycopy(args, 0, all, 0, args.length);
    all[args.length] = "--home";
    all[args.length + 1] = home.toString();
    all[args.length + 2] = "--coordinator";
    all[args.length + 3] = coordinatorUrl;
    int status = cli.execute(all);
    return new Run(status, out.toString(), err.toString());
  }

  @Test
  void theFarmsSecretsAreCreatedPrivateAndReused() throws Exception {
    Path dir = FarmSecrets.directory(home);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)))
        .isEqualTo("rwx------");
    for (String file :
        new String[] {
          FarmSecrets.OPERATOR_TOKEN_FILE, FarmSecrets.FARM_TOKEN_FILE, FarmSecrets.SECRET_KEY_FILE
        }) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(file))))
          .isEqualTo("rw-------");
    }
    FarmSecrets first = FarmSecrets.loadOrCreate(home);
    FarmSecrets again = FarmSecrets.loadOrCreate(home);
    assertThat(again.operatorToken()).isEqualTo(first.operatorToken()).startsWith("kiln_op_");
    assertThat(again.farmToken()).isEqualTo(first.farmToken()).startsWith("kiln_farm_");
    assertThat(again.secretKey()).isEqualTo(first.secretKey());
    assertThat(first.toString()).doesNotContain(first.operatorToken());
    assertThat(FarmSecrets.clientToken(null, home)).isEqualTo(first.operatorToken());
    assertThat(FarmSecrets.clientToken("kiln_t_x", home)).isEqualTo("kiln_t_x");
  }

  @Test
  void anOperatorCreatesATenantWhoseTokenSeesOnlyItsOwnSettings() throws Exception {
    Run created =
        kiln(
            "tenants",
            "create",
            "acme",
            "--source",
            "https://git.acme.example/acme/",
            "--concurrent-builds",
            "2",
            "--queued-builds",
            "5");
    assertThat(created.status()).as(created.err()).isZero();
    assertThat(created.out())
        .contains("Tenant acme", "https://git.acme.example/acme/", "2 concurrent builds");
    String token =
        created.out().lines().filter(l -> l.startsWith("kiln_t_")).findFirst().orElseThrow();

    Path passwordFile = temp.resolve("pw");
    Files.writeString(passwordFile, "s3cret-index-password\n");
    Run index =
        kiln(
            "tenants",
            "index",
            "acme",
            "private",
            "--url",
            "https://pypi.acme.example/simple/",
            "--username",
            "ci",
            "--password-file",
            passwordFile.toString(),
            "--token",
            token);
    assertThat(index.status()).as(index.err()).isZero();
    assertThat(index.out()).contains("password ****").doesNotContain("s3cret");

    Run shown = kiln("tenants", "show", "acme");
    assertThat(shown.out()).contains("Index:    private", "password ****").doesNotContain("s3cret");
    Run listed = kiln("tenants", "list");
    assertThat(listed.out()).contains("acme").doesNotContain(token);

    Run rotated = kiln("tenants", "token", "acme");
    assertThat(rotated.status()).isZero();
    assertThat(rotated.out()).contains("kiln_t_");

    // The tenant's own token cannot list tenants or make new ones.
    Run asTenant = kiln("tenants", "list", "--token", token);
    assertThat(asTenant.status()).isEqualTo(2);
    assertThat(asTenant.err()).contains("403").contains("operator");
    Run noToken = kiln("status", "--tenant", "acme", "--token", "kiln_t_" + "A".repeat(43));
    assertThat(noToken.status()).isEqualTo(2);
    assertThat(noToken.err()).contains("401");
  }

  @Test
  void logsOfABuildTheFarmDoesNotKnowSayWhyInsteadOfPrintingNothing() {
    Run unknown = kiln("logs", "b-00000000000000000000");
    Run followed = kiln("logs", "-f", "b-00000000000000000000");
    Run malformed = kiln("logs", "not-a-build");

    assertThat(unknown.status()).isEqualTo(2);
    assertThat(unknown.err()).contains("404").contains("is unknown");
    assertThat(followed.status()).isEqualTo(2);
    assertThat(followed.err()).contains("404").contains("is unknown");
    assertThat(malformed.status()).isEqualTo(2);
    assertThat(malformed.err()).contains("400").contains("is not a build id");
  }

  @Test
  void aDuplicateTenantOrABadSourceIsRefusedWithTheReason() {
    assertThat(kiln("tenants", "create", "globex").status()).isZero();
    Run again = kiln("tenants", "create", "globex");
    assertThat(again.status()).isEqualTo(2);
    assertThat(again.err()).contains("already exists");
    Run badSource =
        kiln("tenants", "create", "initech", "--source", "https://git.example.com/initech");
    assertThat(badSource.status()).isEqualTo(2);
    assertThat(badSource.err()).contains("must end with '/'");
  }

  @Test
  void anOperatorWidensAnExistingTenantsSourcesAndQuotasWithUpdate() {
    assertThat(kiln("tenants", "create", "hooli").status()).isZero();
    Run again = kiln("tenants", "create", "hooli", "--source", "https://git.hooli.example/");
    assertThat(again.err()).contains("kiln tenants update hooli");

    Run updated =
        kiln(
            "tenants",
            "update",
            "hooli",
            "--source",
            "https://git.hooli.example/hooli/",
            "--concurrent-builds",
            "3");
    assertThat(updated.status()).as(updated.err()).isZero();
    assertThat(updated.out()).contains("https://git.hooli.example/hooli/", "3 concurrent builds");
    assertThat(kiln("tenants", "show", "hooli").out()).contains("https://git.hooli.example/hooli/");

    Run nothing = kiln("tenants", "update", "hooli");
    assertThat(nothing.status()).isEqualTo(2);
    assertThat(nothing.err()).contains("nothing to change", "--source");
    Run unknown = kiln("tenants", "update", "nobody", "--queued-builds", "3");
    assertThat(unknown.status()).isEqualTo(2);
    assertThat(unknown.err()).contains("nobody").contains("does not exist");
  }

  @Test
  void anOperatorMovesATenantAndSingleAppsBetweenBuildpackLevels() {
    Run created = kiln("tenants", "create", "vandelay", "--buildpack-version", "289");
    assertThat(created.status()).as(created.err()).isZero();
    assertThat(created.out()).contains("Buildpack: level 289");

    Run oneApp = kiln("tenants", "update", "vandelay", "--app-buildpack-version", "tps=351");
    assertThat(oneApp.status()).as(oneApp.err()).isZero();
    assertThat(oneApp.out()).contains("Buildpack: level 289").contains("tps builds at level 351");

    Run whole =
        kiln(
            "tenants",
            "update",
            "vandelay",
            "--buildpack-version",
            "351",
            "--app-buildpack-version",
            "tps=tenant");
    assertThat(whole.out()).contains("Buildpack: level 351").doesNotContain("tps builds");

    Run unknown = kiln("tenants", "update", "vandelay", "--buildpack-version", "300");
    assertThat(unknown.status()).isNotZero();
    assertThat(unknown.err()).contains("300").contains("289, 322, 351");
    Run notANumber = kiln("tenants", "update", "vandelay", "--buildpack-version", "latest");
    assertThat(notANumber.status()).isEqualTo(2);
    assertThat(notANumber.err()).contains("'latest'").contains("farm");
    assertThat(kiln("tenants", "show", "vandelay").out()).contains("Buildpack: level 351");

    Run back = kiln("tenants", "update", "vandelay", "--buildpack-version", "farm");
    assertThat(back.out()).contains("Buildpack: the farm's own rules");
  }

  @Test
  void anAppLinkedWithTheCliPrintsItsWebhookUrlAndItsSecretOnlyOnce() {
    assertThat(
            kiln("tenants", "create", "umbrella", "--source", "https://github.com/umbrella/")
                .status())
        .isZero();
    Run linked =
        kiln(
            "apps",
            "link",
            "umbrella",
            "web",
            "--forge",
            "github",
            "--repo",
            "https://github.com/umbrella/web.git",
            "--branch",
            "main",
            "--public-url",
            "https://kiln.example.com/");
    assertThat(linked.status()).as(linked.err()).isZero();
    assertThat(linked.out())
        .contains(
            "Webhook URL:  https://kiln.example.com/v1/webhooks/github/umbrella/web",
            "Branch:       main",
            "shown only now");
    String secret =
        linked.out().lines().filter(l -> l.startsWith("kiln_wh_")).findFirst().orElseThrow();

    Run shown = kiln("apps", "show", "umbrella", "web");
    assertThat(shown.status()).as(shown.err()).isZero();
    assertThat(shown.out())
        .contains(coordinatorUrl + "/v1/webhooks/github/umbrella/web", "Secret:       ****")
        .doesNotContain(secret);
    assertThat(kiln("tenants", "show", "umbrella").out())
        .contains("App:      web linked to github https://github.com/umbrella/web.git branch main");

    Run moved = kiln("apps", "link", "umbrella", "web", "--branch", "release");
    assertThat(moved.out())
        .contains("Branch:       release", "unchanged")
        .doesNotContain("kiln_wh_");
    Run rotated = kiln("apps", "link", "umbrella", "web", "--rotate-secret");
    assertThat(rotated.out()).contains("kiln_wh_").doesNotContain(secret);

    Run foreign =
        kiln(
            "apps",
            "link",
            "umbrella",
            "api",
            "--forge",
            "gitlab",
            "--repo",
            "https://gitlab.com/other/api.git",
            "--branch",
            "main");
    assertThat(foreign.status()).isEqualTo(2);
    assertThat(foreign.err()).contains("403", "is not allowed");

    assertThat(kiln("apps", "unlink", "umbrella", "web").status()).isZero();
    Run gone = kiln("apps", "show", "umbrella", "web");
    assertThat(gone.status()).isEqualTo(2);
    assertThat(gone.err()).contains("404", "not linked");
  }
}
