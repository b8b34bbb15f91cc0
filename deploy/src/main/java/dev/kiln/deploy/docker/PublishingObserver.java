package dev.kiln.deploy.docker;

import dev.kiln.events.DeployFailed;
import dev.kiln.events.Topics;
import dev.kiln.messaging.EventPublisher;
import java.util.concurrent.TimeUnit;

/**
 * Publishes each failed deploy on {@code kiln.deploy-failed} (keyed tenant/app, CloudEvent id
 * {@code <buildId>:deploy-failed}) and passes everything on to {@code next}.
 */
public final class PublishingObserver implements DockerDeployer.Observer {
  private final EventPublisher publisher;
  private final Topics topics;
  private final DockerDeployer.Observer next;

  public PublishingObserver(EventPublisher publisher, Topics topics, DockerDeployer.Observer next) {
    this.publisher = publisher;
    this.topics = topics;
    this.next = next;
  }

  @Override
  public void deployed(DockerDeployer.Deployed deployed) {
    next.deployed(deployed);
  }

  @Override
  public void skipped(String eventId, dev.kiln.events.ImageReady image, String reason) {
    next.skipped(eventId, image, reason);
  }

  @Override
  public void failed(DeployFailed failure) throws Exception {
    String key = Topics.appKey(failure.tenant(), failure.app());
    publisher
        .publish(
            topics.deployFailed(),
            key,
            publisher.codec().toCloudEvent(failure, key, failure.buildId() + ":deploy-failed"))
        .toCompletionStage()
        .toCompletableFuture()
        .get(60, TimeUnit.SECONDS);
    next.failed(failure);
  }
}
