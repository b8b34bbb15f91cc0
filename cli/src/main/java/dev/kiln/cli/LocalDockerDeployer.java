package dev.kiln.cli;

import dev.kiln.deploy.ReferenceDeployerVerticle;
import dev.kiln.deploy.docker.DockerDeployer;
import dev.kiln.deploy.docker.PublishingObserver;
import dev.kiln.events.DeployFailed;
import dev.kiln.events.ImageReady;
import dev.kiln.events.Topics;
import dev.kiln.messaging.EventPublisher;
import dev.kiln.messaging.KafkaClientSettings;
import io.vertx.core.Vertx;
import java.util.function.Consumer;

/**
 * The reference Docker deployer as {@code kiln deployer --docker} and {@code kiln up --deploy
 * docker} run it: the deployer verticle with a {@link DockerDeployer}, failed deploys published on
 * {@code kiln.deploy-failed}, and a line for each app that comes up.
 */
final class LocalDockerDeployer implements AutoCloseable {
  /** Its own group: the JSON-lines deployer and the Docker one each see every image. */
  static final String GROUP = DeployerCommand.GROUP + "-docker";

  private final DockerDeployer deployer;
  private final EventPublisher publisher;

  private LocalDockerDeployer(DockerDeployer deployer, EventPublisher publisher) {
    this.deployer = deployer;
    this.publisher = publisher;
  }

  static LocalDockerDeployer start(
      Vertx vertx,
      String bootstrap,
      KafkaClientSettings client,
      Topics topics,
      DockerDeployer.Settings settings,
      Consumer<String> say) {
    EventPublisher publisher =
        new EventPublisher(vertx, bootstrap, client, "/kiln/deployer/" + GROUP);
    DockerDeployer deployer =
        new DockerDeployer(
            vertx, settings, new PublishingObserver(publisher, topics, printing(say)));
    try {
      vertx
          .deployVerticle(new ReferenceDeployerVerticle(bootstrap, client, topics, GROUP, deployer))
          .await();
    } catch (Exception e) {
      deployer.close();
      publisher.close();
      throw new UserError("the Docker deployer did not start: " + e.getMessage(), 1);
    }
    return new LocalDockerDeployer(deployer, publisher);
  }

  private static DockerDeployer.Observer printing(Consumer<String> say) {
    return new DockerDeployer.Observer() {
      @Override
      public void deployed(DockerDeployer.Deployed d) {
        say.accept(
            "-----> "
                + d.tenant()
                + "/"
                + d.app()
                + " → "
                + d.url()
                + "   (build "
                + d.buildId()
                + ", container "
                + d.container()
                + ")");
      }

      @Override
      public void skipped(String eventId, ImageReady image, String reason) {
        say.accept("       " + image.tenant() + "/" + image.app() + ": not deployed, " + reason);
      }

      @Override
      public void failed(DeployFailed failure) {
        StringBuilder text =
            new StringBuilder(
                "-----> "
                    + failure.tenant()
                    + "/"
                    + failure.app()
                    + ": deploy failed ("
                    + failure.code()
                    + "): "
                    + failure.message());
        for (String line : failure.logTail()) {
          text.append("\n       | ").append(line);
        }
        say.accept(text.toString());
      }
    };
  }

  /** Removes the containers it runs and closes the stable ports (after the verticle stopped). */
  @Override
  public void close() {
    deployer.close();
    try {
      publisher.close();
    } catch (RuntimeException e) {
      // Vert.x is closed already, and with it the producer.
    }
  }
}
