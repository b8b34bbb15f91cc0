package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.events.AppSpec;
import dev.kiln.events.BuildFailed;
import dev.kiln.events.ImageReady;
import dev.kiln.messaging.KafkaClientSettings;
import dev.kiln.testkit.GitRepo;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.Map;

/** Pushes to a test's farm the way {@code kiln push} does, following each build to its end. */
final class TestPushes {
  private final Farm farm;
  private final FarmSettings settings;
  private final StringWriter farmLog;
  private final Duration timeout;

  TestPushes(Farm farm, FarmSettings settings, StringWriter farmLog, Duration timeout) {
    this.farm = farm;
    this.settings = settings;
    this.farmLog = farmLog;
    this.timeout = timeout;
  }

  /** Pushes the repository's HEAD; the build log goes to {@code log}. */
  PushCommand.Result push(String tenant, String app, GitRepo repo, AppSpec spec, StringWriter log) {
    return PushCommand.push(
        farm.endpoints(),
        settings.home(),
        repo.dir().toString(),
        tenant,
        app,
        null,
        spec,
        Map.of(),
        timeout,
        new PrintWriter(log, true));
  }

  ImageReady succeeds(String tenant, String app, GitRepo repo, AppSpec spec, StringWriter log) {
    PushCommand.Result result = push(tenant, app, repo, spec, log);
    assertThat(result.exitCode()).as(log + "\nfarm:\n" + farmLog).isZero();
    return result.outcome().imageReady();
  }

  /** A CI build of the repository's HEAD ({@code kiln push --ci}), which must succeed. */
  ImageReady ciBuildSucceeds(String tenant, String app, GitRepo repo, StringWriter log) {
    PushCommand.Result result =
        PushCommand.push(
            farm.endpoints(),
            KafkaClientSettings.none(),
            settings.home(),
            repo.dir().toString(),
            tenant,
            app,
            null,
            null,
            Map.of(),
            timeout,
            new PrintWriter(log, true),
            FarmSecrets.clientToken(null, settings.home()),
            true);
    assertThat(result.exitCode()).as(log + "\nfarm:\n" + farmLog).isZero();
    return result.outcome().imageReady();
  }

  ImageReady succeeds(String tenant, String app, GitRepo repo) {
    return succeeds(tenant, app, repo, null, new StringWriter());
  }

  BuildFailed fails(String tenant, String app, GitRepo repo, StringWriter log) {
    PushCommand.Result result = push(tenant, app, repo, null, log);
    assertThat(result.exitCode()).as(log.toString()).isEqualTo(1);
    return result.outcome().buildFailed();
  }
}
