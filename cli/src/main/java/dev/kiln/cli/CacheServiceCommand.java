package dev.kiln.cli;

import dev.kiln.cache.CacheServiceVerticle;
import dev.kiln.cache.TenantsTopicDirectory;
import dev.kiln.events.Topics;
import dev.kiln.events.security.SecretBox;
import io.vertx.core.Vertx;
import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The cache-service alone, in its own process: for a farm whose services run as separate processes
 * or containers. It needs the farm's Kafka (for {@code kiln.tenants}) and the farm's secrets (the
 * farm token it checks, the key that opens tenants' index passwords).
 */
@Command(
    mixinStandardHelpOptions = true,
    name = "cache-service",
    description = {
      "Run only the cache-service: the content-addressed store, the action cache and the package",
      "index proxy, on --cache-port. Needs --kafka (the farm's cluster, for the tenants) and the",
      "farm's secrets (KILN_FARM_TOKEN and KILN_SECRET_KEY, or <home>/secrets). Stops on Ctrl-C."
    })
public final class CacheServiceCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin FarmOptions options;

  @Option(
      names = "--listen",
      paramLabel = "ADDRESS",
      defaultValue = "${env:KILN_LISTEN:-127.0.0.1}",
      description =
          "The address to listen on (0.0.0.0 in a container). Env: KILN_LISTEN. Default: ${DEFAULT-VALUE}")
  String listen;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    FarmSettings settings = options.toSettings();
    ServiceProcess.requireKafka(settings, "cache-service");
    // The farm token it checks and the key that opens tenants' index passwords; no operator token.
    FarmSecrets secrets = ServiceProcess.farmSecrets(settings, "cache-service", false, true, true);
    Topics topics = Topics.withPrefix(settings.topicPrefix());
    TenantsTopicDirectory tenants;
    try {
      tenants =
          new TenantsTopicDirectory(
              settings.kafkaClient().applyTo(Map.of("bootstrap.servers", settings.kafka())),
              topics.tenants(),
              SecretBox.fromBase64(secrets.secretKey()));
    } catch (RuntimeException e) {
      throw new UserError(
          "the cache-service cannot read the tenants from "
              + settings.kafka()
              + ": "
              + e.getMessage(),
          1);
    }
    Vertx vertx = Vertx.vertx();
    CacheServiceVerticle cache =
        new CacheServiceVerticle(
            Farm.cacheServiceConfig(settings, listen, secrets, tenants, out::println));
    try {
      vertx.deployVerticle(cache).await();
    } catch (Exception e) {
      tenants.close();
      vertx.close();
      throw new UserError("the cache-service did not start: " + e.getMessage(), 1);
    }
    out.println("-----> The cache-service is up on " + cache.baseUrl());
    out.flush();
    ServiceProcess.runUntilStopped(
        () -> {
          vertx.close().toCompletionStage().toCompletableFuture().join();
          tenants.close();
        });
    return 0;
  }
}
