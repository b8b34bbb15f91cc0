package dev.kiln.cli;

import dev.kiln.cache.CacheServiceVerticle;
import dev.kiln.cache.TenantsTopicDirectory;
import dev.kiln.events.Topics;
import dev.kiln.events.security.SecretBox;
import io.vertx.core.Vertx;
import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
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
    if (settings.kafka() == null) {
      throw new UserError(
          "kiln cache-service needs --kafka HOST:PORT (the farm's Kafka cluster, where the"
              + " tenants are kept); `kiln up` runs a whole farm on an embedded broker instead",
          2);
    }
    requireFarmSecret(settings, "KILN_FARM_TOKEN", FarmSecrets.FARM_TOKEN_FILE);
    requireFarmSecret(settings, "KILN_SECRET_KEY", FarmSecrets.SECRET_KEY_FILE);
    FarmSecrets secrets = FarmSecrets.loadOrCreate(settings.home());
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
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  vertx.close().toCompletionStage().toCompletableFuture().join();
                  tenants.close();
                  stopped.countDown();
                },
                "kiln-shutdown"));
    out.println("-----> The cache-service is up on " + cache.baseUrl());
    out.flush();
    stopped.await();
    return 0;
  }

  /**
   * A cache-service on its own must check the farm's own token and open its sealed passwords: a
   * secret made up here would match no worker's, so a missing one is an error, never created.
   */
  private static void requireFarmSecret(FarmSettings settings, String variable, String file) {
    String env = System.getenv(variable);
    if (env != null && !env.isBlank()) {
      return;
    }
    java.nio.file.Path path = FarmSecrets.directory(settings.home()).resolve(file);
    if (!java.nio.file.Files.isRegularFile(path)) {
      throw new UserError(
          "kiln cache-service needs the farm's "
              + variable
              + " (or "
              + path
              + "), the same the coordinator and the workers have; copy the farm's secrets"
              + " directory, or set the variable",
          2);
    }
  }
}
