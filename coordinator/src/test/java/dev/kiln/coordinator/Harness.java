package dev.kiln.coordinator;

import dev.kiln.events.BuildTask;
import dev.kiln.events.TaskKind;
import dev.kiln.events.TaskResult;
import dev.kiln.events.Tenant;
import dev.kiln.events.Topics;
import dev.kiln.messaging.EventPublisher;
import dev.kiln.messaging.KafkaTopicsAdmin;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;

/**
 * A test's own slice of the shared broker: fresh topics, recorders on the output topics, the
 * workers' side of the contract, and coordinators deployed on a fresh Vert.x.
 */
final class Harness implements AutoCloseable {
  final Vertx vertx = Vertx.vertx();
  final String bootstrapServers = SharedKafka.bootstrapServers();
  final Topics topics =
      Topics.withPrefix("t-" + UUID.randomUUID().toString().substring(0, 8) + ".");
  final String consumerGroup = "coordinator-" + UUID.randomUUID();
  final EventPublisher publisher;
  final TopicRecorder imageReady;
  final TopicRecorder buildFailed;
  final TopicRecorder deadLetters;
  final TopicRecorder logs;
  final TopicRecorder builds;
  final TopicRecorder pushes;
  private ScriptedWorkers workers;

  Harness() throws Exception {
    this(TestSecurity.standardTenants());
  }

  /** A harness whose kiln.tenants topic holds these tenants before any coordinator starts. */
  Harness(List<Tenant> tenants) throws Exception {
    KafkaTopicsAdmin.ensureTopics(bootstrapServers, topics);
    publisher = new EventPublisher(vertx, bootstrapServers, "/kiln/test");
    for (Tenant tenant : tenants) {
      Awaits.await(publisher.publish(topics.tenants(), tenant.name(), tenant));
    }
    imageReady = TopicRecorder.start(vertx, bootstrapServers, topics.imageReady());
    buildFailed = TopicRecorder.start(vertx, bootstrapServers, topics.buildFailed());
    deadLetters = TopicRecorder.start(vertx, bootstrapServers, topics.deadLetters());
    logs = TopicRecorder.start(vertx, bootstrapServers, topics.logs());
    builds = TopicRecorder.start(vertx, bootstrapServers, topics.builds());
    pushes = TopicRecorder.start(vertx, bootstrapServers, topics.push());
  }

  CoordinatorConfig config() {
    return TestSecurity.secured(
        CoordinatorConfig.defaults(bootstrapServers, topics).withConsumerGroup(consumerGroup));
  }

  ScriptedWorkers workers(Function<BuildTask, TaskResult> script) {
    workers = ScriptedWorkers.start(vertx, bootstrapServers, topics, script);
    return workers;
  }

  List<BuildTask> tasksSeen(TaskKind kind) {
    return workers.seen().stream().filter(t -> t.kind() == kind).toList();
  }

  /** Deploys a coordinator and waits until it has restored its state and consumes. */
  String deploy(CoordinatorVerticle coordinator) {
    return Awaits.await(vertx.deployVerticle(coordinator));
  }

  void undeploy(String deploymentId) {
    Awaits.await(vertx.undeploy(deploymentId));
  }

  @Override
  public void close() {
    Awaits.await(vertx.close());
  }
}
